/* ONNX's Einsum equations, parsed once for the frontend's shape inference, the gradient rules and
 * the reference kernel: "ab,bc->ac" names each axis of each operand by a letter; letters shared
 * by the operands are multiplied together, letters left out of the output are summed over. The
 * implicit form (no "->") takes as output the letters seen once, in alphabetical order. Not
 * supported: the ellipsis ("..."), a letter repeated within one operand (a diagonal), more than
 * two operands. */
#ifndef IPRO_EINSUM_H
#define IPRO_EINSUM_H

#include "ir/graph.h"

typedef struct {
  int n_operands;        /* 1 or 2 */
  int rank[2], out_rank; /* letters of each operand and of the output */
  char operand[2][IPRO_MAX_RANK], output[IPRO_MAX_RANK];
} ipro_einsum;

/* Parses equation for n_operands operands; NULL, or what is wrong with it. */
const char *ipro_einsum_parse(const char *equation, int n_operands, ipro_einsum *e);

/* Writes "a,b->out" for the letter lists given (b absent when b_rank < 0) into text. */
void ipro_einsum_format(const char *a, int a_rank, const char *b, int b_rank, const char *out,
                        int out_rank, char *text, size_t size);

#endif
