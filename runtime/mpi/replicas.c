/* Data-parallel replicas of a pipeline stage (pipeline.h, `mpirun -np S*R`): the R ranks that
 * train the same stage each see their own 1/R of every batch, so before the optimizer updates
 * a module's parameters they average, with one MPI_Allreduce in the stage's communicator, the
 * gradients and the BatchNorm running statistics that module's step computed (a stage of
 * several modules averages each in its own program's pause, one after another, the same order
 * on every replica). The training program
 * computes its gradients and then updates every parameter with them in one run; its optimizer
 * updates are its last steps (codegen/training_graph.c appends them), so the average is taken in
 * the executor's pause just before the first update (ipro_executor_set_pause), where the
 * gradients are complete in the persistent block and nothing has been updated yet. Every
 * replica then applies the same update to the same parameters, and the replicas stay equal.
 *
 * Averaged, the gradients are those of the global batch (R x the replica's batch) for any loss
 * that is a mean over the batch's images (cross-entropy, reconstruction); the batch statistics
 * of BatchNorm and the supervised contrastive loss, which pairs images across the batch, are the
 * replica's own, as in PyTorch's DistributedDataParallel. The running statistics' average is the
 * running average of the replicas' batch means (the global batch's mean) and of their variances
 * (the global variance less the spread of the replicas' means). */
#include <stdlib.h>
#include <string.h>

#include "ir/forward_program.h"
#include "pipeline_internal.h"

/* The program step of the first optimizer update, checking that only updates (and views)
 * follow it; -1 with a message when the program is not laid out so. */
static int first_update_step(const ipro_graph *graph, const ipro_forward_program *program,
                             ipro_error *err) {
  int first = -1;
  for (int s = 0; s < program->n_steps; s++) {
    const ipro_node *node = &graph->nodes[program->steps[s].node];
    bool update = node->op == IPRO_OP_SGD_UPDATE || node->op == IPRO_OP_ADAM_UPDATE;
    if (update && first < 0) first = s;
    if (!update && first >= 0 && !program->steps[s].is_view) {
      ipro_error_set(err,
                     "node '%s' runs after the optimizer's first update: the replicas could not "
                     "average the gradients before the parameters change",
                     node->name);
      return -1;
    }
  }
  if (first < 0) ipro_error_set(err, "the module's training program updates no parameter");
  return first;
}

/* Whether tensor t lies outside the arena, in a block the transfers read and write. */
static bool stored(const ipro_forward_program *program, int t) {
  return t >= 0 && (program->slots[t].kind == IPRO_SLOT_PARAMETER ||
                    program->slots[t].kind == IPRO_SLOT_PERSISTENT);
}

static ipro_status add_averaged(ipro_pipeline_averaged *a, const ipro_graph *graph, int t,
                                ipro_error *err) {
  for (int i = 0; i < a->n_tensors; i++)
    if (a->tensors[i] == t) return IPRO_OK;
  if (graph->tensors[t].dtype != IPRO_DTYPE_FLOAT)
    return ipro_error_set(err, "replicas average float32 tensors; '%s' is %s",
                          graph->tensors[t].name, ipro_dtype_name(graph->tensors[t].dtype));
  int *grown = realloc(a->tensors, sizeof(int) * (size_t)(a->n_tensors + 1));
  if (!grown) return ipro_error_set(err, "out of memory");
  a->tensors = grown;
  a->tensors[a->n_tensors++] = t;
  a->floats += (size_t)ipro_tensor_bytes(&graph->tensors[t]) / sizeof(float);
  return IPRO_OK;
}

/* The executor's pause of one module: its gradients and running statistics into one buffer,
 * summed over the stage's replicas, divided by R, written back. */
static ipro_status average(void *context, ipro_error *err) {
  ipro_pipeline_averaged *a = context;
  ipro_pipeline *p = a->pipeline;
  double start = ipro_pipeline_now();
  ipro_executor *executor = ipro_trainer_module_executor(p->trainer, a->module);
  const ipro_graph *graph = ipro_trainer_module_graph(p->trainer, a->module);
  size_t at = 0;
  for (int i = 0; i < a->n_tensors; i++) {
    size_t bytes = (size_t)ipro_tensor_bytes(&graph->tensors[a->tensors[i]]);
    if (ipro_executor_read_tensor(executor, a->tensors[i], p->sums + at, bytes, err) != IPRO_OK)
      return IPRO_ERROR;
    at += bytes / sizeof(float);
  }
  if (IPRO_MPI(
          MPI_Allreduce(MPI_IN_PLACE, p->sums, (int)a->floats, MPI_FLOAT, MPI_SUM, p->module_comm),
          err) != IPRO_OK)
    return IPRO_ERROR;
  float scale = 1.0f / (float)p->replicas;
  for (size_t i = 0; i < a->floats; i++)
    p->sums[i] *= scale;
  at = 0;
  for (int i = 0; i < a->n_tensors; i++) {
    size_t bytes = (size_t)ipro_tensor_bytes(&graph->tensors[a->tensors[i]]);
    if (ipro_executor_write_tensor(executor, a->tensors[i], p->sums + at, bytes, err) != IPRO_OK)
      return IPRO_ERROR;
    at += bytes / sizeof(float);
  }
  p->timing.allreduce_seconds += ipro_pipeline_now() - start;
  return IPRO_OK;
}

/* What module k of the stage averages, and its pause before the first update. */
static ipro_status attach_module(ipro_pipeline *p, int k, ipro_error *err) {
  ipro_pipeline_averaged *a = &p->averaged[k];
  *a = (ipro_pipeline_averaged){.pipeline = p, .module = k};
  ipro_executor *executor = ipro_trainer_module_executor(p->trainer, k);
  const ipro_graph *graph = ipro_trainer_module_graph(p->trainer, k);
  const ipro_training_graph *training = ipro_trainer_module_training(p->trainer, k);
  const ipro_forward_program *program = ipro_executor_program(executor);
  int pause = first_update_step(graph, program, err);
  int module = p->first_module + k + 1; /* the plan's, 1-based, for messages */
  if (pause < 0) return ipro_error_prefix(err, "module %d", module);
  for (int i = 0; i < training->n_parameters; i++) {
    int gradient = training->gradients[i];
    if (stored(program, gradient) && add_averaged(a, graph, gradient, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (node->op != IPRO_OP_BATCH_NORMALIZATION || !ipro_node_is_computed(graph, node)) continue;
    for (int i = 3; i < 5 && i < node->n_inputs; i++) /* running mean, running variance */
      if (stored(program, node->inputs[i]) &&
          add_averaged(a, graph, node->inputs[i], err) != IPRO_OK)
        return IPRO_ERROR;
  }
  if (a->floats > (size_t)INT32_MAX)
    return ipro_error_set(err, "module %d averages %zu floats, over MPI's int count", module,
                          a->floats);
  if (a->floats > p->sums_floats) p->sums_floats = a->floats;
  ipro_executor_set_pause(executor, pause, average, a);
  return IPRO_OK;
}

ipro_status ipro_pipeline_replicas_attach(ipro_pipeline *p, ipro_error *err) {
  if (p->replicas < 2) return IPRO_OK;
  int count = ipro_trainer_module_count(p->trainer);
  p->averaged = calloc((size_t)count, sizeof *p->averaged);
  if (!p->averaged) return ipro_error_set(err, "out of memory");
  for (int k = 0; k < count; k++) {
    p->n_averaged = k + 1; /* freed by ipro_pipeline_close, also on failure */
    if (attach_module(p, k, err) != IPRO_OK) return IPRO_ERROR;
  }
  p->sums = malloc(sizeof(float) * (p->sums_floats ? p->sums_floats : 1));
  if (!p->sums) return ipro_error_set(err, "out of memory for the replicas' gradients");
  return IPRO_OK;
}
