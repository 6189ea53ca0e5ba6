/* Step times measured on this machine, for `--calibrate` (with `--balance time` and in every
 * plan's times): a FLOP count alone says a batch normalisation or a ReLU costs next to nothing
 * and a 12-channel convolution as much per FLOP as a 64-channel one, while on a CPU the first
 * are bound by memory and the second by its small channel count. So the training programs of a
 * split of the network itself (K = 2 at its middle cut point: every node of the network, its
 * backward and update, and one of each head) run a few steps on the backend that will train,
 * each node's kernel timed (executor.h, ipro_executor_time_nodes); then for every op a time
 * model is fitted by least squares over that op's nodes,
 *     seconds = per_flop x FLOPs + per_byte x bytes (operands read and written),
 * both coefficients non-negative (when the joint fit makes one negative, the better of the two
 * one-term fits). An op the measured programs do not have is timed by the same fit over all
 * nodes. A program's predicted step is the sum over its nodes. */
#ifndef IPRO_STEP_CALIBRATION_H
#define IPRO_STEP_CALIBRATION_H

#include <stdbool.h>

#include "ir/graph.h"
#include "partitioner/module_program.h"
#include "runtime/backend.h"

/* One op's measured nodes, as the fit's sums (t: seconds per step, f: FLOPs, b: bytes; t alone
 * is the op's measured total). */
typedef struct {
  int nodes;
  double t, ff, fb, bb, ft, bt;
  double per_flop, per_byte; /* the fitted model */
} ipro_op_timing;

/* One node's sample: t seconds for f FLOPs and b bytes. */
void ipro_op_timing_add(ipro_op_timing *timing, double t, double f, double b);
/* The model of the samples added (per_flop, per_byte; both 0 without samples). */
void ipro_op_timing_fit(ipro_op_timing *timing);

typedef struct {
  ipro_op_timing ops[IPRO_OP_COUNT];
  ipro_op_timing all;      /* every node measured: the model of an op not measured */
  int steps;               /* measured steps (after one unmeasured) */
  int modules;             /* K of the split measured: 2 at the middle cut point, or 1 */
  double measured_seconds; /* of one step of the measured programs, all nodes */
  double run_seconds;      /* the same steps' whole runs (one clock around each program's runs) */
} ipro_step_calibration;

/* Adds one program's measured node times (seconds per step, graph->n_nodes entries). */
void ipro_step_calibration_add(ipro_step_calibration *calibration, const ipro_graph *graph,
                               const double *node_seconds);
/* Fits every op's model from what was added. */
void ipro_step_calibration_fit(ipro_step_calibration *calibration);
/* The predicted seconds of one step of a whole program (the sum over its nodes). */
double ipro_step_calibration_seconds(const ipro_step_calibration *calibration,
                                     const ipro_graph *graph);

/* Measures network (normalised, inferred at settings->batch; cut_points its cut tensors in
 * order) as described above: steps timed steps after one untimed, on device's training backend
 * (CPU only: CUDA kernels return before they finish). Pixels are pseudo-random in [0, 1],
 * labels cycle over the classes. */
ipro_status ipro_step_calibration_measure(const ipro_graph *network, const int *cut_points,
                                          int n_cuts, const ipro_local_settings *settings,
                                          ipro_device device, bool reference, int steps,
                                          ipro_step_calibration *out, ipro_error *err);

#endif
