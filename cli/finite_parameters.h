/* Trained values that are not finite, found before they are written. A NaN or infinity can
 * reach the weights while every loss stays finite (a ReLU turns a NaN activation into 0), and
 * the loss checks of `train` then let a model full of NaN weights be written with exit 0; this
 * reads the values themselves. */
#ifndef IPRO_CLI_FINITE_PARAMETERS_H
#define IPRO_CLI_FINITE_PARAMETERS_H

#include <stdint.h>

#include "runtime/checkpoint.h"
#include "runtime/trainer.h"

typedef struct {
  int64_t non_finite; /* 0: every value read is finite */
  int64_t elements;   /* of the tensor named below */
  char name[512];     /* the first tensor holding a value that is not finite */
} ipro_cli_non_finite;

/* How many of the n floats are NaN or infinite. */
int64_t ipro_cli_count_non_finite(const float *values, int64_t n);
/* Reads every float initializer of the trainer's modules (weights, biases, BatchNormalization
 * running statistics, the local heads' parameters) and names the first that is not all finite. */
ipro_status ipro_cli_find_non_finite_trainer(ipro_trainer *trainer, ipro_cli_non_finite *found,
                                             ipro_error *err);
/* The same over a checkpoint's float tensors (a pipeline's state gathered on rank 0). */
void ipro_cli_find_non_finite_checkpoint(const ipro_checkpoint *checkpoint,
                                         ipro_cli_non_finite *found);

#endif
