/* A run's trained values for the evaluator and the exporter (trained_values.h). */
#include "trained_values.h"

#include <string.h>

#include "frontend/onnx_export.h"
#include "runtime/trainer.h"

/* The evaluator's and the exporter's view of a gathered pipeline's state: a tensor by name. */
static const ipro_checkpoint_tensor *gathered_tensor(const ipro_checkpoint *c, const char *name) {
  for (int i = 0; i < c->n_tensors; i++)
    if (strcmp(c->tensors[i].name, name) == 0) return &c->tensors[i];
  return NULL;
}

ipro_status ipro_cli_gathered_memory(void *context, const char *name, size_t bytes,
                                     const void **device, ipro_error *err) {
  const ipro_checkpoint_tensor *t = gathered_tensor(context, name);
  if (!t || t->bytes != bytes)
    return ipro_error_set(err, "the pipeline's ranks hold no tensor '%s' of %zu bytes", name,
                          bytes);
  *device = t->data;
  return IPRO_OK;
}

ipro_status ipro_cli_read_from_gathered(void *context, const char *name, void *host, size_t bytes,
                                        ipro_error *err) {
  const void *data = NULL;
  if (ipro_cli_gathered_memory(context, name, bytes, &data, err) != IPRO_OK) return IPRO_ERROR;
  memcpy(host, data, bytes);
  return IPRO_OK;
}

ipro_status ipro_cli_trainer_memory(void *context, const char *name, size_t bytes,
                                    const void **device, ipro_error *err) {
  return ipro_trainer_tensor_memory(context, name, bytes, device, err);
}

ipro_status ipro_cli_read_from_trainer(void *context, const char *name, void *host, size_t bytes,
                                       ipro_error *err) {
  return ipro_trainer_read(context, name, host, bytes, err);
}

/* onnx_export's callback: the trained value of every initializer a module's program holds. */
ipro_status ipro_cli_export_trained(void *context, const char *name, ipro_dtype dtype,
                                    const int64_t *dims, int rank, void *out, size_t bytes,
                                    ipro_error *err) {
  ipro_trainer *trainer = context;
  for (int k = 0; k < ipro_trainer_module_count(trainer); k++) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, k);
    int t = ipro_graph_find_tensor(graph, name);
    const ipro_forward_program *program =
        ipro_executor_program(ipro_trainer_module_executor(trainer, k));
    if (t < 0 || graph->tensors[t].kind != IPRO_TENSOR_INITIALIZER ||
        program->slots[t].kind != IPRO_SLOT_PARAMETER)
      continue;
    const ipro_tensor *tensor = &graph->tensors[t];
    bool same = tensor->dtype == dtype && tensor->shape.rank == rank;
    for (int d = 0; same && d < rank; d++)
      same = tensor->shape.dims[d] == dims[d];
    if (!same) return ipro_error_set(err, "initializer '%s' changed shape during training", name);
    return ipro_trainer_read(trainer, name, out, bytes, err);
  }
  return IPRO_EXPORT_KEEP;
}

ipro_status ipro_cli_export_gathered(void *context, const char *name, ipro_dtype dtype,
                                     const int64_t *dims, int rank, void *out, size_t bytes,
                                     ipro_error *err) {
  const ipro_checkpoint_tensor *t = gathered_tensor(context, name);
  if (!t) return IPRO_EXPORT_KEEP;
  bool same = t->dtype == dtype && t->shape.rank == rank && t->bytes == bytes;
  for (int d = 0; same && d < rank; d++)
    same = t->shape.dims[d] == dims[d];
  if (!same) return ipro_error_set(err, "initializer '%s' changed shape during training", name);
  memcpy(out, t->data, bytes);
  return IPRO_OK;
}
