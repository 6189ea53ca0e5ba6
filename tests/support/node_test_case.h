/* One ONNX backend node-test case (tests/data/onnx-node) as every conformance test sees it:
 * its INDEX.tsv row, its model loaded and put through the frontend, its input_N.pb and
 * output_N.pb data, and the checks the data set's README prescribes (shapes must match; floats
 * within rtol 1e-3 + atol 1e-5, ints and bools exactly). The per-case runners
 * (tests/frontend/test_shape_inference_conformance.c, tests/runtime/test_*_conformance.c) and the
 * one-process summary (tests/runtime/test_conformance_summary.c) all decide a case the same way:
 *
 * - skipped when its op is not in op_list.h, or when its model holds any node of an op infopro
 *   does not support (the *_expanded cases spell their op out in ReduceSum, Where, ...);
 * - rejected when it uses a dtype infopro does not support (anything but float32, int64, bool,
 *   and int32 as Gather indices) or a non-tensor input, and the frontend refuses it saying so;
 *   accepting such a case, or refusing it for another reason, fails. A rejection is checked but
 *   nothing ran, so a runner reports it to ctest as skipped (exit 77), not passed;
 * - otherwise passed or failed by the check the runner makes.
 *
 * The node tests feed every operand as a graph input, including those that infopro reads at
 * compile time and its canonical forms hold as attributes (Clip's bounds, Reshape's shape,
 * Resize's scales, ...). Those inputs are turned into initializers holding the case's data before
 * normalisation, which is what an exported network has; the others are fed at run time. */
#ifndef IPRO_TEST_NODE_TEST_CASE_H
#define IPRO_TEST_NODE_TEST_CASE_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/graph.h"
#include "runtime/backend.h"

#define IPRO_CASE_MAX_TENSORS 16

typedef enum {
  IPRO_CASE_PASSED,
  IPRO_CASE_REJECTED, /* an unsupported dtype or type, refused as it should be (nothing ran) */
  IPRO_CASE_SKIPPED,  /* an op infopro does not support, or a backend that ran none of it */
  IPRO_CASE_FAILED
} ipro_case_result;

/* One row of INDEX.tsv (test_name, op, opset, ...). */
typedef struct {
  char name[128];
  char op[64];
  int opset;
} ipro_case_row;

typedef struct {
  ipro_case_row row;
  char dir[1024];
  ipro_tensor inputs[IPRO_CASE_MAX_TENSORS], outputs[IPRO_CASE_MAX_TENSORS];
  int n_inputs, n_outputs;
  /* Set while the case is open: loaded, compile-time inputs bound, normalised, shapes inferred
   * (at the batch the inputs feed when the model declares a symbolic one). */
  ipro_graph *graph;
  int fed[IPRO_CASE_MAX_TENSORS]; /* graph input i is fed input_<fed[i]>.pb */
  ipro_case_result result;
  char message[1200];        /* why it was skipped or rejected, or its first failure */
  char unsupported_ops[512]; /* skipped for its nodes: their unsupported ops, comma-separated */
} ipro_node_case;

/* How a run was spread over the backends: steps that ran a kernel (views excluded), and how many
 * of them ran on the primary backend rather than the fallback. */
typedef struct {
  int kernel_steps, primary_steps;
} ipro_case_steps;

/* Reads every case row of <dir>/INDEX.tsv into *rows (malloc'd; free it). */
ipro_status ipro_node_case_read_index(const char *dir, ipro_case_row **rows, int *count,
                                      ipro_error *err);

/* Opens the case of row (in ipro_test_node_tests_dir()). Returns true when the case is open and
 * ready to check; otherwise c->result says why not (skipped, rejected or failed) and c->message
 * gives the reason. Call ipro_node_case_release either way. */
bool ipro_node_case_open(ipro_node_case *c, const ipro_case_row *row);

/* The checks, on an open case. Each returns whether it passed; on failure it prints the reason,
 * sets c->result to IPRO_CASE_FAILED and keeps the first reason in c->message. */
/* Every graph output has the dtype and shape of its output_N.pb; an output shape inference
 * folded into a constant holds the expected values. */
bool ipro_node_case_check_shapes(ipro_node_case *c);
/* Runs the graph with ipro_executor on backend (fallback, which may be NULL, takes the nodes
 * backend does not support) and compares every output with its output_N.pb. The backend must
 * hold no more memory afterwards than before. steps may be NULL. */
bool ipro_node_case_run(ipro_node_case *c, ipro_backend *backend, ipro_backend *fallback,
                        ipro_case_steps *steps);

/* Compares a tensor computed elsewhere (an output file another program wrote) with output_N.pb
 * number `index`: dtype, shape, then values, as ipro_node_case_run does. */
bool ipro_node_case_check_output(ipro_node_case *c, int index, const ipro_tensor *got);

/* Marks the case failed for a reason found outside these checks (prints it; keeps the first).
 * Returns false. */
bool ipro_node_case_fail(ipro_node_case *c, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Marks a case that passed its checks as skipped for `reason` (a runner whose backend ran none of
 * its nodes); a failed case stays failed. */
void ipro_node_case_skip(ipro_node_case *c, const char *reason);

void ipro_node_case_release(ipro_node_case *c);

/* The main of a per-case runner, up to its check: finds argv[1] in INDEX.tsv and opens it.
 * Returns true when the runner should check the case. */
bool ipro_node_case_open_from_arguments(int argc, char **argv, ipro_node_case *c);
/* Prints the last line, "CASE op=OP[ detail] result=pass|rejected|skipped|fail", releases the
 * case and returns the exit status ctest reads: 0 for pass, 77 for rejected and skipped (with the
 * reason printed), 1 for fail. detail may be NULL. */
int ipro_node_case_finish(ipro_node_case *c, const char *detail);

#endif
