/* One training step on a fixed batch, run by the tests that compare two ways of running the same
 * step (carried and plain layouts, fused and unfused kernels, oneDNN and the reference kernels):
 * the trainer and its batch, the parameters before and after, and how far two updates lie. */
#ifndef IPRO_TEST_FIXED_BATCH_RUNS_H
#define IPRO_TEST_FIXED_BATCH_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/trainer.h"

#define IPRO_TEST_FIXED_BATCH 4
#define IPRO_TEST_MAX_PARAMETERS 512

/* oneDNN with layouts carried, oneDNN with every tensor plain (IPRO_ONEDNN_PLAIN_LAYOUTS=1), or
 * the reference kernels (in double). */
typedef enum {
  IPRO_TEST_CARRIED_LAYOUTS,
  IPRO_TEST_PLAIN_LAYOUTS,
  IPRO_TEST_REFERENCE_KERNELS
} ipro_test_kernels;

typedef struct {
  ipro_test_kernels kernels;
  bool fuse; /* BatchNormalization + Relu fused (codegen/fusion.h) */
  /* the modules built without the copy through which each hands its output on
   * (partitioner/module_program.c), as programs compiled where layouts are not carried are */
  bool without_handoff_copy;
  int first_module, module_count; /* a pipeline stage's modules (runtime/trainer.h; 0: all) */
} ipro_test_step_kind;

typedef struct {
  int count;
  char *names[IPRO_TEST_MAX_PARAMETERS];
  float *before[IPRO_TEST_MAX_PARAMETERS], *after[IPRO_TEST_MAX_PARAMETERS];
  size_t elements[IPRO_TEST_MAX_PARAMETERS];
  float loss;
  int carried;          /* float tensors the oneDNN backend carries in its own layout */
  int carried_handoffs; /* activations handed on between modules in the backend's own layout */
} ipro_test_training_run;

/* How many float tensors of the trainer's module graphs the oneDNN backend carries in its own
 * layout. */
int ipro_test_carried_tensors(ipro_trainer *trainer);
/* How many of the activations the trainer's modules hand on lie in the backend's own layout;
 * a check fails where a module writes one in another layout than the next module reads. */
int ipro_test_carried_handoffs(ipro_trainer *trainer);

/* A trainer of models/NAME.onnx at IPRO_TEST_FIXED_BATCH run as `kind` says (the layout switch
 * stays set for the caller to unset), and its fixed batch: pseudo-random pixels in [-1, 1) from
 * seed, labels cycling over three classes. NULL when it cannot be made (a check says why). */
ipro_trainer *ipro_test_fixed_batch_trainer(const char *name, const char *const *cuts, int n_cuts,
                                            ipro_test_step_kind kind, uint32_t seed, float **images,
                                            int64_t *labels);
/* One step of that trainer on its batch (seed 7); false after a failed check. */
bool ipro_test_train_fixed_batch(const char *name, const char *const *cuts, int n_cuts,
                                 ipro_test_step_kind kind, ipro_test_training_run *run);
void ipro_test_training_run_release(ipro_test_training_run *run);
/* The norm of the difference between two runs' updates (trained less initial parameters),
 * over the norm of b's update. */
double ipro_test_update_distance(const ipro_test_training_run *a, const ipro_test_training_run *b);

#endif
