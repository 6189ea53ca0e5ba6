/* Every node of every bundled model (every models/NAME.onnx at batch 2, seeded random input) that
 * the oneDNN backend supports gives the reference kernel's output within rtol 1e-4, atol 1e-5, node
 * by node.
 *
 * The graph runs once on the reference kernels; each node the oneDNN backend takes is also run
 * on its oneDNN kernel with the very inputs the reference saw, into NaN-filled buffers (so an
 * element the kernel forgets to write fails), and compared there. An error therefore names the
 * node that makes it instead of surfacing at the logits. Each model runs in its training form
 * (BatchNormalization on batch statistics, as normalisation leaves an exported model) and in
 * inference form (ipro_graph_set_inference_mode). Every Conv must run on oneDNN: that is what the
 * backend exists for. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "ir/graph.h"
#include "runtime/backend.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/support/bundled_models.h"
#include "tests/support/check.h"
#include "tests/support/tensor_checks.h"

#define BATCH 2
#define MAX_OPERANDS 64

static uint64_t random_state = 0x1234567887654321u;

static float random_uniform(void) { return ipro_test_random_uniform(&random_state); }

static size_t value_bytes(const ipro_graph *graph, const ipro_tensor *tensor) {
  ipro_shape shape = tensor->shape;
  ipro_shape_bind_batch(&shape, graph->batch);
  int64_t count = ipro_shape_elements(&shape);
  return count > 0 ? (size_t)count * ipro_dtype_size(tensor->dtype) : 0;
}

/* Worst |got - expected| beyond atol + rtol |expected| over a float tensor; a NaN or infinity
 * where the other has none counts as infinitely bad (ipro_test_excess). Returns the index of the
 * worst element. */
static int64_t worst_element(const float *got, const float *expected, int64_t count,
                             double *excess) {
  int64_t worst = -1;
  *excess = 0.0;
  for (int64_t i = 0; i < count; i++) {
    double over = ipro_test_excess(got[i], expected[i], 1e-5, 1e-4);
    if (over > *excess) *excess = over, worst = i;
  }
  return worst;
}

/* Runs node on its oneDNN kernel with the reference's inputs and compares with the reference's
 * outputs. */
static void check_node(ipro_backend *onednn, const ipro_graph *graph, const ipro_node *node,
                       void *const *inputs, void *const *expected, const char *label) {
  ipro_error err = {{0}};
  ipro_kernel *kernel = NULL;
  CHECK_OK(onednn->prepare_forward(onednn, graph, node, &kernel, &err), &err);
  if (!kernel) return;
  void *outputs[MAX_OPERANDS] = {NULL}, *workspace = NULL;
  bool ok = true;
  for (int i = 0; i < node->n_outputs && ok; i++) {
    const ipro_tensor *tensor = ipro_node_output(graph, node, i);
    if (!tensor) continue;
    size_t bytes = value_bytes(graph, tensor);
    ok = onednn->allocate(onednn, bytes, &outputs[i], &err) == IPRO_OK;
    for (size_t k = 0; ok && k < bytes / sizeof(float); k++)
      ((float *)outputs[i])[k] = NAN;
  }
  if (ok && kernel->workspace_bytes > 0)
    ok = onednn->allocate(onednn, kernel->workspace_bytes, &workspace, &err) == IPRO_OK;
  CHECK_MSG(ok, "%s: node '%s': allocation failed: %s", label, node->name, err.message);
  if (ok) CHECK_OK(kernel->run(kernel, inputs, outputs, workspace, 0, &err), &err);
  for (int i = 0; ok && i < node->n_outputs; i++) {
    const ipro_tensor *tensor = ipro_node_output(graph, node, i);
    if (!tensor) continue;
    int64_t count = (int64_t)(value_bytes(graph, tensor) / sizeof(float));
    double excess;
    int64_t worst = worst_element(outputs[i], expected[i], count, &excess);
    CHECK_MSG(worst < 0, "%s: node '%s' (%s) output '%s': element %lld is %.9g, reference %.9g",
              label, node->name, node->op_type, tensor->name, (long long)worst,
              worst < 0 ? 0.0 : ((float *)outputs[i])[worst],
              worst < 0 ? 0.0 : ((float *)expected[i])[worst]);
  }
  for (int i = 0; i < node->n_outputs; i++) {
    const ipro_tensor *tensor = ipro_node_output(graph, node, i);
    if (tensor) onednn->release(onednn, outputs[i], value_bytes(graph, tensor));
  }
  onednn->release(onednn, workspace, kernel->workspace_bytes);
  kernel->destroy(kernel);
}

static void check_graph(ipro_backend *onednn, const ipro_graph *graph, const char *label) {
  void **data = calloc((size_t)graph->n_tensors, sizeof *data);
  bool *owned = calloc((size_t)graph->n_tensors, sizeof *owned);
  if (!data || !owned) {
    CHECK_MSG(false, "out of memory");
    free(data);
    free(owned);
    return;
  }
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    if (tensor->kind != IPRO_TENSOR_ACTIVATION) data[t] = tensor->data;
  }
  for (int i = 0; i < graph->n_inputs; i++) {
    int t = graph->inputs[i];
    size_t bytes = value_bytes(graph, &graph->tensors[t]);
    data[t] = calloc(bytes > 0 ? bytes : 1, 1);
    owned[t] = true;
    if (data[t] && graph->tensors[t].dtype == IPRO_DTYPE_FLOAT)
      for (size_t k = 0; k < bytes / sizeof(float); k++)
        ((float *)data[t])[k] = random_uniform();
  }
  int supported = 0, computed = 0, convs = 0, convs_on_onednn = 0;
  bool declined[IPRO_OP_COUNT] = {false};
  void *inputs[MAX_OPERANDS], *outputs[MAX_OPERANDS], *scratch[MAX_OPERANDS];
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (ipro_node_is_folded(graph, node)) continue;
    if (node->n_inputs > MAX_OPERANDS || node->n_outputs > MAX_OPERANDS) {
      CHECK_MSG(false, "%s: node '%s' has too many operands", label, node->name);
      break;
    }
    /* Entries past the node's operands are NULL, not left over from the previous node. */
    memset(inputs, 0, sizeof inputs);
    memset(outputs, 0, sizeof outputs);
    for (int i = 0; i < node->n_inputs; i++)
      inputs[i] = node->inputs[i] < 0 ? NULL : data[node->inputs[i]];
    for (int i = 0; i < node->n_outputs; i++) {
      int t = node->outputs[i];
      scratch[i] = outputs[i] = NULL;
      if (t < 0) continue;
      size_t bytes = value_bytes(graph, &graph->tensors[t]);
      outputs[i] = calloc(bytes > 0 ? bytes : 1, 1);
      if (graph->tensors[t].kind == IPRO_TENSOR_ACTIVATION)
        data[t] = outputs[i], owned[t] = true;
      else
        scratch[i] = outputs[i];
    }
    ipro_error err = {{0}};
    ipro_kernel_context context = {.seed = 0, .step = 0};
    ipro_status status =
        ipro_reference_forward_table()[node->op](graph, node, inputs, outputs, &context, &err);
    CHECK_OK(status, &err);
    bool on_onednn = onednn->supports_forward(onednn, graph, node);
    if (status == IPRO_OK && on_onednn) {
      supported++;
      check_node(onednn, graph, node, inputs, outputs, label);
    }
    if (node->op == IPRO_OP_CONV) convs++, convs_on_onednn += on_onednn;
    if (!on_onednn) declined[node->op] = true;
    computed++;
    for (int i = 0; i < node->n_outputs; i++)
      free(scratch[i]);
    if (status != IPRO_OK) break;
  }
  printf("%s: %d of %d nodes on oneDNN (%d of %d Conv); on the reference:", label, supported,
         computed, convs_on_onednn, convs);
  for (int op = 0; op < IPRO_OP_COUNT; op++)
    if (declined[op]) printf(" %s", ipro_op_name((ipro_op)op));
  printf("\n");
  CHECK_MSG(supported > 0, "%s: no node ran on oneDNN", label);
  CHECK_MSG(convs_on_onednn == convs, "%s: %d of %d Conv nodes declined by oneDNN", label,
            convs - convs_on_onednn, convs);
  for (int t = 0; t < graph->n_tensors; t++)
    if (owned[t]) free(data[t]);
  free(data);
  free(owned);
}

static void check_model(ipro_backend *onednn, const char *path, bool inference) {
  char label[1100];
  snprintf(label, sizeof label, "%s (%s form)", path, inference ? "inference" : "training");
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  CHECK_OK(ipro_graph_load(path, &graph, &err), &err);
  if (!graph) return;
  ipro_status status = ipro_graph_normalize(graph, &err);
  if (status == IPRO_OK && inference) status = ipro_graph_set_inference_mode(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, BATCH, &err);
  CHECK_OK(status, &err);
  if (status == IPRO_OK) check_graph(onednn, graph, label);
  ipro_graph_free(graph);
}

static void check_model_both_modes(const char *path, const char *name, void *onednn) {
  (void)name;
  check_model(onednn, path, false);
  check_model(onednn, path, true);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0); /* progress lines survive a crash */
  ipro_error err = {{0}};
  ipro_backend *onednn = NULL;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  if (!onednn) return ipro_test_finish();
  /* By hand, an argument picks the models whose name contains it. */
  int models = ipro_test_for_each_model(argc > 1 ? argv[1] : NULL, check_model_both_modes, onednn);
  CHECK_MSG(models > 0, "no bundled models");
  CHECK_EQ_INT(onednn->bytes_in_use, 0);
  onednn->destroy(onednn);
  return ipro_test_finish();
}
