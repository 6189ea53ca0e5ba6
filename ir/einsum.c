/* Parsing of ONNX's Einsum equations (einsum.h). */
#include "ir/einsum.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Reads the letters of one term from *p up to a ',' '-' or the end; NULL, or what is wrong. */
static const char *read_term(const char **p, char *letters, int *rank) {
  *rank = 0;
  for (; **p && **p != ',' && **p != '-'; (*p)++) {
    char c = **p;
    if (c == ' ') continue;
    if (c == '.') return "the ellipsis (...) is not supported";
    if (!isalpha((unsigned char)c)) return "a character other than a letter";
    if (*rank == IPRO_MAX_RANK) return "a term of more axes than infopro supports";
    if (memchr(letters, c, (size_t)*rank)) return "a letter repeated within one term (a diagonal)";
    letters[(*rank)++] = c;
  }
  return NULL;
}

const char *ipro_einsum_parse(const char *equation, int n_operands, ipro_einsum *e) {
  memset(e, 0, sizeof *e);
  if (n_operands < 1 || n_operands > 2) return "one or two operands are supported";
  const char *p = equation;
  for (int i = 0; i < n_operands; i++) {
    const char *wrong = read_term(&p, e->operand[i], &e->rank[i]);
    if (wrong) return wrong;
    if (i + 1 < n_operands && *p++ != ',') return "fewer terms than operands";
  }
  e->n_operands = n_operands;
  if (*p == ',') return "more terms than operands";
  if (*p == '-') {
    if (p[1] != '>') return "a '-' that is not '->'";
    p += 2;
    const char *wrong = read_term(&p, e->output, &e->out_rank);
    if (wrong) return wrong;
    if (*p) return "text after the output term";
    for (int k = 0; k < e->out_rank; k++) {
      bool found = false;
      for (int i = 0; i < n_operands; i++)
        found |= memchr(e->operand[i], e->output[k], (size_t)e->rank[i]) != NULL;
      if (!found) return "an output letter no operand has";
    }
    return NULL;
  }
  /* implicit: the letters seen once, in alphabetical order */
  for (int c = 'A'; c <= 'z'; c++) {
    if (!isalpha(c)) continue;
    int seen = 0;
    for (int i = 0; i < n_operands; i++)
      seen += memchr(e->operand[i], c, (size_t)e->rank[i]) != NULL;
    if (seen == 1) {
      if (e->out_rank == IPRO_MAX_RANK) return "an output of more axes than infopro supports";
      e->output[e->out_rank++] = (char)c;
    }
  }
  return NULL;
}

void ipro_einsum_format(const char *a, int a_rank, const char *b, int b_rank, const char *out,
                        int out_rank, char *text, size_t size) {
  if (b_rank < 0)
    snprintf(text, size, "%.*s->%.*s", a_rank, a, out_rank, out);
  else
    snprintf(text, size, "%.*s,%.*s->%.*s", a_rank, a, b_rank, b, out_rank, out);
}
