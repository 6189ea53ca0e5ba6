/* Weights that are not finite, found before anything is computed with them or written from them.
 * A NaN or infinity can reach the weights while every loss stays finite (a ReLU turns a NaN
 * activation into 0), and the loss checks of `train` then let a model full of NaN weights be
 * written with exit 0; this reads the values themselves. The same check refuses a model or a
 * checkpoint that holds such values before a command starts: `eval` printed -nan as the accuracy
 * with exit 0, `train` blamed "divergence" after its first epoch for a model broken before its
 * first step, and `export` and `compile` copied the values on without a word. */
#ifndef IPRO_CLI_FINITE_PARAMETERS_H
#define IPRO_CLI_FINITE_PARAMETERS_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"
#include "runtime/checkpoint.h"
#include "runtime/trainer.h"

typedef struct {
  int64_t non_finite; /* 0: every value read is finite */
  int64_t elements;   /* of the tensor named below */
  char name[512];     /* the first tensor holding a value that is not finite */
  bool mask_like;     /* a model's initializer whose values that are not finite are all -inf */
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
/* The same over a loaded model's initializers of a floating-point type (float32, float64,
 * float16): weights, biases and BatchNormalization running statistics alike, since inference
 * reads the running statistics too. Buffers torch.export's graph signature names (a mask holding
 * -inf) are constants, not initializers (frontend/onnx_load.c), and are not read. */
void ipro_cli_find_non_finite_graph(const ipro_graph *graph, ipro_cli_non_finite *found);

/* The refusals a command makes before its work, each one message naming the file and the first
 * tensor found with how many of its values are not finite: "PATH: 3 of the 432 values of
 * initializer 'conv1.weight' are not finite (NaN or infinity); the model cannot be CONSEQUENCE".
 * The model at path, loaded for the check (a model that cannot be loaded gives the loader's
 * message); a model already loaded from path; a checkpoint read from path (which --resume would
 * continue from). */
ipro_status ipro_cli_check_finite_model(const char *path, const char *consequence, ipro_error *err);
ipro_status ipro_cli_check_finite_graph(const ipro_graph *graph, const char *path,
                                        const char *consequence, ipro_error *err);
ipro_status ipro_cli_check_finite_checkpoint(const ipro_checkpoint *checkpoint, const char *path,
                                             ipro_error *err);

#endif
