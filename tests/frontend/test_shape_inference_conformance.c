/* per-node-test case */
/* Shape inference against the ONNX backend node tests: for the case named by argv[1], the
 * dtype and shape that normalisation + inference give each graph output must equal those of the
 * case's expected output_N.pb, and an output folded into a constant must hold the expected
 * values. The expected files come from the ONNX project, so they are an independent oracle.
 *
 * infopro reads some inputs at compile time (Clip's bounds, Reshape's target, Resize's scales,
 * ...). The node tests feed those as graph inputs; here they are turned into initializers holding
 * the case's input_N.pb, which is what an exported network has.
 *
 * Cases whose ops are not in op_list.h are skipped (exit 77). Cases that use a dtype infopro
 * does not support must fail with a message saying so ("does not support"), and count as
 * passed when they do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "tests/support/check.h"

typedef struct {
  char op[128];
  int opset;
} case_row;

/* Finds the case's row of INDEX.tsv (test_name, op, opset, ...). */
static bool read_index(const char *dir, const char *name, case_row *row) {
  char path[2048], line[1024];
  snprintf(path, sizeof path, "%s/INDEX.tsv", dir);
  FILE *file = fopen(path, "r");
  if (!file) return false;
  bool found = false;
  while (!found && fgets(line, sizeof line, file)) {
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = '\0';
    if (strcmp(line, name) != 0) continue;
    char *op = tab + 1, *next = strchr(op, '\t');
    if (!next) break;
    *next = '\0';
    snprintf(row->op, sizeof row->op, "%s", op);
    row->opset = atoi(next + 1);
    found = true;
  }
  fclose(file);
  return found;
}

/* Inputs that infopro reads at compile time, per op, as a bit mask of input positions. */
static unsigned compile_time_inputs(ipro_op op) {
  switch (op) {
  case IPRO_OP_CLIP: return 0x6;
  case IPRO_OP_DROPOUT: return 0x6;
  case IPRO_OP_PAD: return 0xe;
  case IPRO_OP_RESIZE: return 0xe;
  case IPRO_OP_REDUCE_MEAN: return 0x2;
  case IPRO_OP_SQUEEZE: return 0x2;
  case IPRO_OP_UNSQUEEZE: return 0x2;
  case IPRO_OP_RESHAPE: return 0x2;
  default: return 0;
  }
}

/* Turns graph inputs that feed compile-time inputs into initializers holding the case's data. */
static ipro_status bind_compile_time_inputs(ipro_graph *graph, const char *case_dir,
                                            ipro_error *err) {
  int n_original = graph->n_inputs;
  int *original = malloc(sizeof(int) * (size_t)(n_original ? n_original : 1));
  if (!original) return ipro_error_set(err, "out of memory");
  memcpy(original, graph->inputs, sizeof(int) * (size_t)n_original);
  ipro_status status = IPRO_OK;
  for (int n = 0; n < graph->n_nodes && status == IPRO_OK; n++) {
    const ipro_node *node = &graph->nodes[n];
    unsigned mask = compile_time_inputs(node->op);
    for (int k = 0; k < node->n_inputs && status == IPRO_OK; k++) {
      int index = node->inputs[k];
      if (!(mask & (1u << k)) || index < 0 || !graph->tensors[index].is_graph_input) continue;
      int position = 0;
      while (original[position] != index)
        position++;
      char path[1100];
      snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", case_dir, position);
      ipro_tensor value;
      status = ipro_tensor_load_file(path, &value, err);
      if (status != IPRO_OK) break;
      ipro_tensor *tensor = &graph->tensors[index];
      free(tensor->data);
      tensor->data = value.data;
      tensor->data_bytes = value.data_bytes;
      tensor->dtype = value.dtype;
      tensor->shape = value.shape;
      tensor->kind = IPRO_TENSOR_INITIALIZER;
      tensor->is_graph_input = false;
      value.data = NULL;
      ipro_tensor_release(&value);
      int kept = 0;
      for (int i = 0; i < graph->n_inputs; i++)
        if (graph->inputs[i] != index) graph->inputs[kept++] = graph->inputs[i];
      graph->n_inputs = kept;
    }
  }
  free(original);
  return status;
}

/* The dtypes infopro handles: float32 activations, int64 shape values, bool dropout masks, and
 * int32 only as Gather indices. */
static bool dtype_supported(ipro_dtype dtype, ipro_op op) {
  return dtype == IPRO_DTYPE_FLOAT || dtype == IPRO_DTYPE_INT64 || dtype == IPRO_DTYPE_BOOL ||
         (dtype == IPRO_DTYPE_INT32 && op == IPRO_OP_GATHER);
}

/* Cases that use a feature infopro declares unsupported, and why. They must fail cleanly. */
static const char *unsupported_feature(const char *name) {
  if (strcmp(name, "test_identity_opt") == 0) return "optional types";
  return NULL;
}

static void check_outputs(const ipro_graph *graph, const char *case_dir) {
  for (int n = 0;; n++) {
    char path[1100];
    snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", case_dir, n);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
      CHECK_MSG(n > 0, "the case has no output_0.pb");
      return;
    }
    fclose(probe);
    ipro_error err = {{0}};
    ipro_tensor expected;
    CHECK_OK(ipro_tensor_load_file(path, &expected, &err), &err);
    if (expected.shape.rank < 0) return;
    CHECK_MSG(n < graph->n_outputs, "output_%d.pb has no graph output", n);
    if (n >= graph->n_outputs) {
      ipro_tensor_release(&expected);
      return;
    }
    const ipro_tensor *got = &graph->tensors[graph->outputs[n]];
    char want_shape[128], got_shape[128];
    ipro_shape_format(&expected.shape, want_shape, sizeof want_shape);
    ipro_shape_format(&got->shape, got_shape, sizeof got_shape);
    CHECK_MSG(got->dtype == expected.dtype, "output '%s': dtype %s, expected %s", got->name,
              ipro_dtype_name(got->dtype), ipro_dtype_name(expected.dtype));
    CHECK_MSG(ipro_shape_equal(&got->shape, &expected.shape), "output '%s': shape %s, expected %s",
              got->name, got_shape, want_shape);
    if (got->kind == IPRO_TENSOR_CONSTANT && got->dtype == expected.dtype &&
        ipro_shape_equal(&got->shape, &expected.shape)) {
      size_t bytes = (size_t)ipro_tensor_bytes(&expected);
      CHECK_MSG(got->data_bytes >= bytes &&
                    (bytes == 0 || memcmp(got->data, expected.data, bytes) == 0),
                "output '%s': the folded constant differs from the expected values", got->name);
    }
    ipro_tensor_release(&expected);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <node test case>\n", argv[0]);
    return 2;
  }
  const char *name = argv[1], *dir = ipro_test_node_tests_dir();
  case_row row;
  if (!read_index(dir, name, &row)) {
    fprintf(stderr, "case '%s' is not in %s/INDEX.tsv\n", name, dir);
    return 1;
  }
  ipro_op op = ipro_op_from_name(row.op);
  if (op == IPRO_OP_COUNT) {
    char reason[256];
    snprintf(reason, sizeof reason, "op %s is not one infopro supports", row.op);
    return ipro_test_skip(reason);
  }
  char case_dir[1024], model[1100];
  snprintf(case_dir, sizeof case_dir, "%s/%s", dir, name);
  snprintf(model, sizeof model, "%s/model.onnx", case_dir);

  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  ipro_status status = ipro_graph_load(model, &graph, &err);
  const char *feature = unsupported_feature(name);
  if (feature) {
    if (status == IPRO_OK) status = bind_compile_time_inputs(graph, case_dir, &err);
    if (status == IPRO_OK) status = ipro_graph_normalize(graph, &err);
    if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, 0, &err);
    CHECK_MSG(status != IPRO_OK && err.message[0], "%s should be rejected (%s)", name, feature);
    printf("rejected as expected (%s): %s\n", feature, err.message);
    ipro_graph_free(graph);
    return ipro_test_finish();
  }
  CHECK_OK(status, &err);
  if (status != IPRO_OK) return ipro_test_finish();

  /* Whether the case is within infopro's dtypes, judged from the file's declared types. */
  bool supported = true;
  for (int i = 0; i < graph->n_inputs; i++)
    supported = supported && dtype_supported(graph->tensors[graph->inputs[i]].dtype, op);
  for (int n = 0; supported; n++) {
    char path[1100];
    snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", case_dir, n);
    ipro_tensor expected;
    if (ipro_tensor_load_file(path, &expected, &err) != IPRO_OK) break;
    supported = dtype_supported(expected.dtype, op);
    ipro_tensor_release(&expected);
  }

  status = bind_compile_time_inputs(graph, case_dir, &err);
  CHECK_OK(status, &err);
  if (status == IPRO_OK) status = ipro_graph_normalize(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, 0, &err);
  if (!supported) {
    CHECK_MSG(status != IPRO_OK, "%s uses a dtype infopro does not support but was accepted", name);
    CHECK_MSG(strstr(err.message, "does not support") != NULL,
              "the message does not say 'does not support': %s", err.message);
    if (status != IPRO_OK) printf("rejected as expected: %s\n", err.message);
  } else {
    CHECK_MSG(status == IPRO_OK, "%s", err.message);
    if (status == IPRO_OK) check_outputs(graph, case_dir);
  }
  ipro_graph_free(graph);
  return ipro_test_finish();
}
