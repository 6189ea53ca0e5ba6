/* The ONNX node-test conformance of every op at a glance: runs all cases of INDEX.tsv in one
 * process through the three checks the per-case runners make one at a time (shape inference, the
 * executor on the reference backend, the executor on oneDNN with the reference fallback), with
 * the same shared code (tests/support/node_test_case.h), and prints one row per op:
 *
 *   op  cases  shapes  reference  oneDNN  oneDNN only  rejected  skipped (why)
 *
 * "shapes", "reference" and "oneDNN" count the cases that passed each check and really ran it:
 * rejections (a dtype infopro does not support, refused as it should be) are counted apart, and
 * a oneDNN pass needs at least one kernel step on oneDNN (a case that ran wholly on the
 * reference fallback, or had nothing to run, is not one). "oneDNN only" counts the oneDNN passes
 * where no kernel ran on the fallback. The test fails when any case that is not skipped fails a
 * check (each failure is printed as it happens, above the table), and when a total falls below
 * its floor (ipro_conformance_floors below: the totals measured when the floors were set), so a
 * regression that turns cases into skips or fallbacks cannot pass unnoticed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/check.h"
#include "tests/support/node_test_case.h"

typedef struct {
  char op[64];
  int cases, shapes, reference, onednn, onednn_only, rejected, skipped;
  bool op_unsupported; /* skipped because the op itself is not in op_list.h */
  char inner_ops[256]; /* skipped because the model uses these ops */
} op_tally;

typedef struct {
  ipro_backend *reference, *onednn;
  op_tally *tallies;
  int n_tallies;
} summary;

static op_tally *tally_of(summary *s, const char *op) {
  for (int i = 0; i < s->n_tallies; i++)
    if (strcmp(s->tallies[i].op, op) == 0) return &s->tallies[i];
  op_tally *t = &s->tallies[s->n_tallies++];
  memset(t, 0, sizeof *t);
  snprintf(t->op, sizeof t->op, "%s", op);
  return t;
}

/* Adds each name of the comma-separated list to the tally's inner ops, once. */
static void note_inner_ops(op_tally *t, const char *list) {
  char copy[512];
  snprintf(copy, sizeof copy, "%s", list);
  for (char *save = NULL, *name = strtok_r(copy, ", ", &save); name;
       name = strtok_r(NULL, ", ", &save)) {
    bool known = false;
    char present[256];
    snprintf(present, sizeof present, "%s", t->inner_ops);
    for (char *save2 = NULL, *p = strtok_r(present, ", ", &save2); p && !known;
         p = strtok_r(NULL, ", ", &save2))
      known = strcmp(p, name) == 0;
    size_t used = strlen(t->inner_ops);
    if (!known && used < sizeof t->inner_ops)
      snprintf(t->inner_ops + used, sizeof t->inner_ops - used, "%s%s", used ? ", " : "", name);
  }
}

/* Runs the three checks on one case and counts them; returns whether none failed. */
static bool run_case(summary *s, const ipro_case_row *row) {
  op_tally *t = tally_of(s, row->op);
  t->cases++;
  ipro_node_case c;
  bool ready = ipro_node_case_open(&c, row);
  bool shapes = false, reference = false, onednn = false;
  if (ready) {
    shapes = ipro_node_case_check_shapes(&c);
    reference = ipro_node_case_run(&c, s->reference, NULL, NULL);
    ipro_case_steps steps = {0, 0};
    onednn = ipro_node_case_run(&c, s->onednn, s->reference, &steps) && steps.primary_steps > 0;
    t->onednn_only += onednn && steps.primary_steps == steps.kernel_steps;
  } else if (c.result == IPRO_CASE_REJECTED) {
    t->rejected++;
  } else if (c.result == IPRO_CASE_SKIPPED) {
    t->skipped++;
    if (c.unsupported_ops[0])
      note_inner_ops(t, c.unsupported_ops);
    else
      t->op_unsupported = true;
  }
  t->shapes += shapes;
  t->reference += reference;
  t->onednn += onednn;
  bool ok = c.result != IPRO_CASE_FAILED;
  CHECK_MSG(ok, "%s (%s): %s", row->name, row->op, c.message);
  ipro_node_case_release(&c);
  return ok;
}

static int by_op(const void *a, const void *b) {
  return strcmp(((const op_tally *)a)->op, ((const op_tally *)b)->op);
}

/* Fills *total and prints the table. */
static void print_table(summary *s, op_tally *total_out) {
  qsort(s->tallies, (size_t)s->n_tallies, sizeof *s->tallies, by_op);
  op_tally total = {.op = "total"};
  printf("%-24s %5s %6s %9s %6s %11s %8s %7s  %s\n", "op", "cases", "shapes", "reference", "oneDNN",
         "oneDNN only", "rejected", "skipped", "why skipped");
  for (int i = 0; i <= s->n_tallies; i++) {
    const op_tally *t = i < s->n_tallies ? &s->tallies[i] : &total;
    char why[320] = "";
    if (t->op_unsupported) snprintf(why, sizeof why, "op not supported");
    if (t->inner_ops[0]) snprintf(why, sizeof why, "expanded into %s", t->inner_ops);
    printf("%-24s %5d %6d %9d %6d %11d %8d %7d  %s\n", t->op, t->cases, t->shapes, t->reference,
           t->onednn, t->onednn_only, t->rejected, t->skipped, why);
    total.cases += t->cases;
    total.shapes += t->shapes;
    total.reference += t->reference;
    total.onednn += t->onednn;
    total.onednn_only += t->onednn_only;
    total.rejected += t->rejected;
    total.skipped += t->skipped;
  }
  *total_out = total;
}

/* The totals of the table when these floors were set (tests/data/onnx-node, 364 cases; session 34
 * raised oneDNN's from 183 to 202 when the reductions over any axes and Expand came to its
 * loops: the ReduceMean cases and expanded losses; session 35 the reference's and shapes' from 318
 * to 327 and oneDNN's to 211 with GatherElements: nine expanded NegativeLogLikelihoodLoss cases,
 * the seven with an ignore_index refused by dtype; session 36 the cases to 382, shapes' and the
 * reference's to 345 with the 18 LSTM, GRU and RNN cases generated by ONNX's own case code, and
 * oneDNN's to 228 when 17 of them came to the CPU backend's loops, the peepholes' staying on the
 * reference; then the cases to 387, shapes' and the reference's to 350 with Col2Im's 5, generated
 * the same way): a case more is welcome, a case fewer is a regression. */
static const op_tally ipro_conformance_floors = {
    .cases = 387, .shapes = 350, .reference = 350, .onednn = 228, .onednn_only = 189};

static void check_floors(const op_tally *total) {
  const op_tally *floor = &ipro_conformance_floors;
  CHECK_MSG(total->cases >= floor->cases, "%d cases, at least %d expected", total->cases,
            floor->cases);
  CHECK_MSG(total->shapes >= floor->shapes, "shape inference passed %d cases, at least %d expected",
            total->shapes, floor->shapes);
  CHECK_MSG(total->reference >= floor->reference,
            "the reference backend ran and passed %d cases, at least %d expected", total->reference,
            floor->reference);
  CHECK_MSG(total->onednn >= floor->onednn,
            "oneDNN ran (at least one kernel step) and passed %d cases, at least %d expected",
            total->onednn, floor->onednn);
  CHECK_MSG(total->onednn_only >= floor->onednn_only,
            "oneDNN alone ran and passed %d cases, at least %d expected", total->onednn_only,
            floor->onednn_only);
}

int main(void) {
  ipro_case_row *rows = NULL;
  int count = 0;
  ipro_error err = {{0}};
  const char *dir = ipro_test_node_tests_dir();
  if (ipro_node_case_read_index(dir, &rows, &count, &err) != IPRO_OK) {
    char reason[1200];
    snprintf(reason, sizeof reason, "no ONNX node tests: %s", err.message);
    return ipro_test_skip(reason);
  }
  summary s = {0};
  s.tallies = calloc((size_t)count + 1, sizeof *s.tallies);
  CHECK(s.tallies != NULL);
  CHECK_OK(ipro_backend_create_reference(&s.reference, &err), &err);
  CHECK_OK(ipro_backend_create_onednn(&s.onednn, &err), &err);
  if (!s.tallies || !s.reference || !s.onednn) count = 0;

  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int failed = 0;
  for (int i = 0; i < count; i++)
    failed += !run_case(&s, &rows[i]);
  clock_gettime(CLOCK_MONOTONIC, &end);
  if (count > 0) {
    printf("\n");
    op_tally total;
    print_table(&s, &total);
    check_floors(&total);
    printf("\n%d cases in %.1f s; %d failed\n", count,
           (double)(end.tv_sec - start.tv_sec) + 1e-9 * (double)(end.tv_nsec - start.tv_nsec),
           failed);
  }
  if (s.reference) s.reference->destroy(s.reference);
  if (s.onednn) s.onednn->destroy(s.onednn);
  free(s.tallies);
  free(rows);
  return ipro_test_finish();
}
