/* The step calibration of `--calibrate` (runtime/step_calibration.h):
 * - the fit: samples made exactly from a known model (seconds = a·FLOPs + c·bytes) give back a
 *   and c; samples whose joint fit would need a negative coefficient get the better one-term
 *   fit, worked out here from the samples' sums, with the other coefficient 0; no samples, no
 *   model;
 * - the measurement, on ResNet-8 at batch 8 (K = 2 at its middle cut point): the convolutions and
 *   their gradients were timed, every fitted coefficient is non-negative, the timed kernels of
 *   one step add up to more than nothing and, over the 1 + steps runs, to no more than the wall
 *   clock that the whole measurement took (read around the call, apart from the executor's
 *   timing), and to between half and all of the timed runs' own wall clock (one clock around
 *   each program's runs, apart from the one around each kernel); the end-to-end program's predicted
 * step is positive and finite; on CUDA it is refused with a message that says why. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/cost.h"
#include "runtime/step_calibration.h"
#include "support/bundled_models.h"
#include "support/check.h"

#define BATCH 8
#define STEPS 2

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check_exact_model(void) {
  const double a = 2e-11, c = 3e-10;
  const double samples[][2] = {{1e9, 4e6}, {3e8, 9e6}, {0, 2e6}, {5e9, 1e5}, {2e7, 3e7}};
  ipro_op_timing timing = {0};
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++)
    ipro_op_timing_add(&timing, a * samples[i][0] + c * samples[i][1], samples[i][0],
                       samples[i][1]);
  ipro_op_timing_fit(&timing);
  CHECK_MSG(fabs(timing.per_flop - a) <= 1e-6 * a && fabs(timing.per_byte - c) <= 1e-6 * c,
            "exact samples: fitted %g s/FLOP and %g s/byte, made from %g and %g", timing.per_flop,
            timing.per_byte, a, c);
}

/* Time falling as FLOPs rise at equal bytes: the joint fit's FLOP coefficient is negative. */
static void check_one_term_fallback(void) {
  const double samples[][3] = {{1.0, 1, 1}, {0.5, 2, 1}, {2.0, 1, 2}, {1.2, 3, 2}};
  ipro_op_timing timing = {0};
  double bt = 0, bb = 0, ft = 0, ff = 0;
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
    ipro_op_timing_add(&timing, samples[i][0], samples[i][1], samples[i][2]);
    bt += samples[i][2] * samples[i][0], bb += samples[i][2] * samples[i][2];
    ft += samples[i][1] * samples[i][0], ff += samples[i][1] * samples[i][1];
  }
  ipro_op_timing_fit(&timing);
  /* the one-term fit of smaller squared error is the one of larger (xt)^2/xx */
  bool by_bytes = bt * bt / bb > ft * ft / ff;
  CHECK_MSG(by_bytes, "the samples were meant to favour bytes");
  CHECK_MSG(timing.per_flop == 0 && fabs(timing.per_byte - bt / bb) <= 1e-12,
            "fallback: fitted %g s/FLOP and %g s/byte, expected 0 and %g", timing.per_flop,
            timing.per_byte, bt / bb);
  ipro_op_timing empty = {0};
  ipro_op_timing_fit(&empty);
  CHECK_MSG(empty.per_flop == 0 && empty.per_byte == 0, "no samples gave a model");
}

static void check_measured(void) {
  char path[1024];
  ipro_test_path(path, sizeof path, "models/resnet8_fmnist.onnx");
  ipro_error err = {{0}};
  ipro_test_costed_model opened;
  if (!ipro_test_open_model(path, BATCH, &opened)) return;
  ipro_graph *network = opened.network;
  int *cut_points = opened.cut_points, n_cut_points = opened.n_cuts;
  CHECK_MSG(n_cut_points > 0, "ResNet-8 has no cut point");
  ipro_local_settings settings = ipro_test_local_settings(network, BATCH);
  ipro_step_calibration *calibration = calloc(1, sizeof *calibration);
  double started = now();
  CHECK_OK(ipro_step_calibration_measure(network, cut_points, n_cut_points, &settings,
                                         IPRO_DEVICE_CPU, false, STEPS, calibration, &err),
           &err);
  double wall = now() - started;
  const ipro_op timed[] = {IPRO_OP_CONV, IPRO_OP_CONV_GRAD_INPUT, IPRO_OP_CONV_GRAD_WEIGHT,
                           IPRO_OP_BATCH_NORMALIZATION};
  for (size_t i = 0; i < sizeof timed / sizeof *timed; i++)
    CHECK_MSG(calibration->ops[timed[i]].nodes > 0 && calibration->ops[timed[i]].t > 0,
              "op %d: %d nodes timed, %g s", (int)timed[i], calibration->ops[timed[i]].nodes,
              calibration->ops[timed[i]].t);
  for (int op = 0; op < IPRO_OP_COUNT; op++)
    CHECK_MSG(calibration->ops[op].per_flop >= 0 && calibration->ops[op].per_byte >= 0,
              "op %d: a negative coefficient (%g, %g)", op, calibration->ops[op].per_flop,
              calibration->ops[op].per_byte);
  CHECK_MSG(calibration->steps == STEPS, "%d steps recorded", calibration->steps);
  CHECK_MSG(calibration->measured_seconds > 0 &&
                calibration->measured_seconds * (STEPS + 1) <= wall,
            "timed kernels: %g s per step, %d runs, inside a measurement of %g s wall",
            calibration->measured_seconds, STEPS + 1, wall);
  /* The kernels run inside the runs, and are most of them. */
  double run = calibration->run_seconds;
  CHECK_MSG(calibration->measured_seconds <= run && calibration->measured_seconds >= 0.5 * run,
            "timed kernels %g s per step, the runs they were timed in %g s per step",
            calibration->measured_seconds, run);

  ipro_graph *e2e = NULL;
  ipro_training_graph training;
  settings.K = 1;
  CHECK_OK(ipro_module_program_build(network, -1, -1, 0, &settings, &e2e, &training, &err), &err);
  if (e2e) {
    double predicted = ipro_step_calibration_seconds(calibration, e2e);
    CHECK_MSG(predicted > 0 && isfinite(predicted), "end to end predicted at %g s", predicted);
    ipro_training_graph_release(&training);
    ipro_graph_free(e2e);
  }

  ipro_status cuda =
      ipro_step_calibration_measure(network, cut_points, n_cut_points, &settings, IPRO_DEVICE_CUDA,
                                    false, STEPS, calibration, &err);
  CHECK_MSG(cuda != IPRO_OK && strstr(err.message, "CPU only"), "on CUDA: %s",
            cuda == IPRO_OK ? "measured" : err.message);
  free(calibration);
  free(cut_points);
  ipro_graph_free(network);
}

int main(void) {
  check_exact_model();
  check_one_term_fallback();
  check_measured();
  return ipro_test_finish();
}
