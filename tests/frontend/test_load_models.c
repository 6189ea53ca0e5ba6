/* Every model in models/ loads, normalises and infers with the batch symbolic (but those that
 * need a concrete one, below) and concrete, and
 * its output is [batch, 10] logits as the export script declares. The expected parameter counts
 * are recomputed from the initializers the file holds (float tensors named after a module, as
 * PyTorch names its parameters, "stem.0.weight", or as its TorchScript exporter names those it
 * folded, "onnx::Conv_72", that are not BN running statistics; an exporter's own constants, such
 * as a Dropout's ratio, are "val_61"), independently of the cost code's rule. */
#include <stdlib.h>
#include <string.h>

#include "frontend/cost.h"
#include "support/bundled_models.h"
#include "support/check.h"

static bool is_running_statistic(const char *name) {
  size_t n = strlen(name);
  return (n > 13 && strcmp(name + n - 13, ".running_mean") == 0) ||
         (n > 12 && strcmp(name + n - 12, ".running_var") == 0);
}

/* torch.export's as_strided flattens the batch with the channels (Reshape to [-1]) before it
 * gathers them back, and attention multiplies the batch by its heads (the Swin Transformer's by
 * its windows) for a Reshape target: there is no symbolic form of these, so they infer at a
 * concrete batch only, and say so at the symbolic one. (A slice of the whole batch, as
 * torch.export writes `x[:, :, None]`, needs none since session 34: the Fourier positional
 * encoding's and CBAM's attention weights, fourier_position_cnn_dynamo_fmnist and
 * cbam_cnn_dynamo_fmnist, infer at the symbolic batch.) */
static bool needs_concrete_batch(const char *name) {
  return strcmp(name, "convnext_head_dynamo_fmnist") == 0 || strncmp(name, "vit_tiny", 8) == 0 ||
         strncmp(name, "swin_tiny", 9) == 0;
}

static void check_model(const char *path, const char *name) {
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  if (needs_concrete_batch(name)) {
    CHECK_MSG(ipro_graph_open(path, 0, &graph, &err) == IPRO_ERROR &&
                  strstr(err.message, "a concrete batch size is needed"),
              "%s at the symbolic batch: \"%s\"", name, err.message);
    ipro_graph_free(graph);
    graph = NULL;
    CHECK_OK(ipro_graph_open(path, 3, &graph, &err), &err);
  } else {
    CHECK_OK(ipro_graph_open(path, 0, &graph, &err), &err);
  }
  if (!graph) return;
  CHECK_EQ_INT(graph->n_outputs, 1);
  const ipro_tensor *logits = &graph->tensors[graph->outputs[0]];
  CHECK_EQ_INT(logits->shape.rank, 2);
  CHECK_MSG(logits->shape.dims[0] == (needs_concrete_batch(name) ? 3 : IPRO_DIM_BATCH),
            "%s: output batch is not symbolic", path);
  CHECK_EQ_INT(logits->shape.dims[1], 10);

  CHECK_OK(ipro_graph_infer_shapes(graph, 3, &err), &err);
  CHECK_EQ_INT(logits->shape.dims[0], 3);
  ipro_graph_cost cost;
  CHECK_OK(ipro_graph_cost_compute(graph, &cost, &err), &err);
  int64_t params = 0, running = 0;
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    /* PyTorch's names for parameters, and torch.export's for a copy its optimisation made of
     * one (rms_norm_mixer_dynamo_optimized_fmnist's linear weight, transposed: val_12) */
    bool copy = strncmp(tensor->name, "val_", 4) == 0 && tensor->shape.rank > 0;
    if (tensor->kind != IPRO_TENSOR_INITIALIZER || tensor->dtype != IPRO_DTYPE_FLOAT ||
        (!strchr(tensor->name, '.') && strncmp(tensor->name, "onnx::", 6) != 0 && !copy))
      continue;
    int64_t elements = (int64_t)(tensor->data_bytes / 4);
    if (is_running_statistic(tensor->name))
      running += elements;
    else
      params += elements;
  }
  CHECK_EQ_INT(cost.params, params);
  CHECK_EQ_INT(cost.bn_running_values, running);
  CHECK_MSG(cost.flops > 0, "%s: no FLOPs", path);
  ipro_graph_cost_release(&cost);
  ipro_graph_free(graph);
}

static void visit_model(const char *path, const char *name, void *context) {
  (void)context;
  check_model(path, name);
}

int main(void) {
  int models = ipro_test_for_each_model(NULL, visit_model, NULL);
  CHECK_MSG(models >= 6, "found %d models, expected the six bundled ones", models);
  return ipro_test_finish();
}
