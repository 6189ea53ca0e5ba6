/* Scoring a classifier on a dataset split, shared by `infopro eval` and the per-epoch test of
 * `infopro train`: the model in inference form (BatchNormalization on running statistics, Dropout
 * off) on an executor built once for a fixed batch size, plus a second executor (on a second copy
 * of the graph, since an executor holds its graph's inferred shapes) for a final partial batch,
 * so exactly the rows asked for are computed. Batches come from the background batch loader in
 * dataset order without augmentation. Accuracy takes the first largest logit as the prediction;
 * the cross-entropy is log-sum-exp minus the label's logit, in double.
 *
 * The executors are built once per run. The trained parameters reach them by name before every
 * evaluation: inside a trainer's block on host memory they are read in place
 * (ipro_cli_evaluator_use_parameters), and elsewhere copied into the executors' own parameter
 * blocks (ipro_cli_evaluator_copy_parameters). */
#ifndef IPRO_CLI_EVALUATION_H
#define IPRO_CLI_EVALUATION_H

#include <stdint.h>

#include "runtime/batch_loader.h"
#include "runtime/executor.h"

/* One copy of the graph with shapes inferred at `batch`, and an executor for it. */
typedef struct {
  ipro_graph *graph;
  ipro_executor *executor;
  int64_t batch;
  float *logits; /* [batch, classes] */
} ipro_cli_sized_model;

typedef struct {
  const ipro_dataset *data;
  int64_t count;                   /* images evaluated */
  ipro_cli_sized_model full, rest; /* rest.executor is NULL when the batch divides count */
  ipro_batch_loader *loader;
  /* the executors have no parameter block: ipro_cli_evaluator_use_parameters before each pass */
  bool parameters_in_place;
  /* Per class (data->num_classes each), the images of that label and those predicted right,
   * counted by every pass from zero; NULL (the default): not counted. */
  int64_t *class_seen, *class_correct;
} ipro_cli_evaluator;

typedef struct {
  int64_t correct, seen;
  double cross_entropy_sum;
} ipro_cli_eval_totals;

/* Builds the executors for the first `limit` images of data (0: all) in batches of `batch`,
 * after checking that the model takes data's images and gives one logit per class. backend and
 * fallback must outlive the evaluator. */
ipro_status ipro_cli_evaluator_open(const char *model, const ipro_dataset *data, int64_t batch,
                                    int64_t limit, ipro_backend *backend, ipro_backend *fallback,
                                    ipro_cli_evaluator *e, ipro_error *err);
/* The same with both executors' arenas in `arena` (arena_bytes, 64-byte aligned, unused while
 * the evaluator runs): `infopro train`'s test pass inside the training block, which holds
 * nothing between steps. The batch is halved from `batch` until both arenas fit; e->full.batch
 * says which it chose. On host memory the executors then hold no parameters of their own
 * (parameters_in_place), and the loader makes each batch on demand in the block after the
 * arenas (the batch is halved until that fits too). e is zeroed, or preloaded
 * (ipro_cli_evaluator_preload) when the backend has host memory. */
ipro_status ipro_cli_evaluator_open_in(const char *model, const ipro_dataset *data, int64_t batch,
                                       int64_t limit, ipro_backend *backend, ipro_backend *fallback,
                                       void *arena, size_t arena_bytes, ipro_cli_evaluator *e,
                                       ipro_error *err);
/* Whether the model takes data's images and gives one logit per class, without building
 * anything: the early check of a run. */
ipro_status ipro_cli_evaluator_check(const char *model, const ipro_dataset *data, ipro_error *err);
/* ipro_cli_evaluator_check, which also keeps the model's graphs in inference form in e for
 * ipro_cli_evaluator_open_in on host memory, without the values of the parameters the trainer
 * holds (bound in place before each pass): loaded before the trainer is built, the loading's
 * transient (the file and its decoded message, twice the weights) comes before the trainer's
 * blocks instead of on top of them. */
ipro_status ipro_cli_evaluator_preload(const char *model, const ipro_dataset *data,
                                       ipro_cli_evaluator *e, ipro_error *err);
/* One pass over the images; *totals is reset first. */
ipro_status ipro_cli_evaluator_run(ipro_cli_evaluator *e, ipro_cli_eval_totals *totals,
                                   ipro_error *err);
/* Writes into both executors every float initializer their program holds, each value asked of
 * read(context, name, host, bytes): the way trained parameters reach the test. */
ipro_status ipro_cli_evaluator_copy_parameters(ipro_cli_evaluator *e,
                                               ipro_status (*read)(void *context, const char *name,
                                                                   void *host, size_t bytes,
                                                                   ipro_error *err),
                                               void *context, ipro_error *err);
/* Where a trained parameter of `bytes` lives, read in place by the test pass. */
typedef ipro_status (*ipro_cli_parameter_memory)(void *context, const char *name, size_t bytes,
                                                 const void **device, ipro_error *err);
/* Binds into both executors every float initializer their program holds, each where
 * locate(context, ...) says it lives: with parameters_in_place, the way trained parameters reach
 * the test. The memory must stay where it is, and unchanged, while the evaluator runs. */
ipro_status ipro_cli_evaluator_use_parameters(ipro_cli_evaluator *e,
                                              ipro_cli_parameter_memory locate, void *context,
                                              ipro_error *err);
void ipro_cli_evaluator_close(ipro_cli_evaluator *e);

#endif
