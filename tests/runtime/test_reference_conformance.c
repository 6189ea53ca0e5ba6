/* per-node-test case */
/* Runs one ONNX backend node-test case (argv[1], from ../shared/onnx-node-tests) through the
 * frontend and the reference interpreter, and compares every output with the case's expected
 * data (rtol 1e-3, atol 1e-5 for floats, exact otherwise), as the data set's README prescribes.
 *
 * The node tests feed every operand as a graph input, including the ones infopro's canonical
 * forms hold as attributes (Reshape's shape, Clip's bounds, Resize's scales, ...). Those inputs are
 * bound to their values as initializers before normalisation, exactly as in an exported model,
 * where they are initializers or constants; the remaining inputs are fed at run time.
 *
 * Outcomes (the last line printed): pass; unsupported (exit 77) when the frontend declines the
 * case for a dtype it does not support and the case really feeds that non-float dtype, or for a
 * non-tensor (optional) input; fail otherwise. A case of an op outside op_list.h is skipped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/graph.h"
#include "runtime/reference/reference_interpreter.h"
#include "tests/support/check.h"

#define MAX_CASE_TENSORS 16

static const char *const listed_ops[] = {
#define LISTED_OP_NAME_(id, name) name,
    IPRO_OP_LIST(LISTED_OP_NAME_)
#undef LISTED_OP_NAME_
        "Upsample", /* normalised into Resize */
};

/* Ops whose inputs from `first` on are attributes in the canonical form (canonical_forms.md). */
static const struct {
  const char *op;
  int first;
} attribute_inputs[] = {
    {"Clip", 1},    {"Pad", 1},       {"Resize", 1},  {"Upsample", 1}, {"ReduceMean", 1},
    {"Squeeze", 1}, {"Unsqueeze", 1}, {"Reshape", 1}, {"Dropout", 1},
};

typedef struct {
  const char *name;
  char dir[1024];
  char op[64];
  ipro_tensor inputs[MAX_CASE_TENSORS], outputs[MAX_CASE_TENSORS];
  int n_inputs, n_outputs;
} test_case;

/* Looks the case up in INDEX.tsv (test_name, op, opset, ...) and copies its op name. */
static bool find_case_op(test_case *c) {
  char path[1200];
  snprintf(path, sizeof path, "%s/INDEX.tsv", ipro_test_node_tests_dir());
  FILE *index = fopen(path, "r");
  if (!index) return false;
  char line[512];
  bool found = false;
  while (!found && fgets(line, sizeof line, index)) {
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = '\0';
    if (strcmp(line, c->name) != 0) continue;
    char *op = tab + 1, *end = strchr(op, '\t');
    if (end) *end = '\0';
    snprintf(c->op, sizeof c->op, "%s", op);
    found = true;
  }
  fclose(index);
  return found;
}

static bool op_is_listed(const char *op) {
  for (size_t i = 0; i < sizeof listed_ops / sizeof listed_ops[0]; i++)
    if (strcmp(op, listed_ops[i]) == 0) return true;
  return false;
}

static int first_attribute_input(const char *op_type) {
  for (size_t i = 0; i < sizeof attribute_inputs / sizeof attribute_inputs[0]; i++)
    if (strcmp(op_type, attribute_inputs[i].op) == 0) return attribute_inputs[i].first;
  return -1;
}

/* Loads <dir>/test_data_set_0/<kind>_0.pb, _1.pb, ... until one is missing. Returns false (with
 * the reason printed) when a file exists but cannot be decoded. */
static bool load_tensors(const test_case *c, const char *kind, ipro_tensor *tensors, int *count) {
  *count = 0;
  for (int i = 0; i < MAX_CASE_TENSORS; i++) {
    char path[1200];
    snprintf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", c->dir, kind, i);
    FILE *probe = fopen(path, "rb");
    if (!probe) return true;
    fclose(probe);
    ipro_error err = {{0}};
    if (ipro_tensor_load_file(path, &tensors[i], &err) != IPRO_OK) {
      printf("cannot load %s: %s\n", path, err.message);
      return false;
    }
    *count = i + 1;
  }
  return true;
}

static void release_case(test_case *c) {
  for (int i = 0; i < c->n_inputs; i++)
    ipro_tensor_release(&c->inputs[i]);
  for (int i = 0; i < c->n_outputs; i++)
    ipro_tensor_release(&c->outputs[i]);
}

/* Whether the frontend's refusal is the declared one for this case: a non-tensor input, or a dtype
 * the case really feeds (a non-float input) named in the message. */
static bool declared_unsupported(const test_case *c, const char *message) {
  if (strstr(message, "not a plain tensor")) return true;
  for (int i = 0; i < c->n_inputs; i++) {
    ipro_dtype dtype = c->inputs[i].dtype;
    if (dtype != IPRO_DTYPE_FLOAT && strstr(message, ipro_dtype_name(dtype))) return true;
  }
  return false;
}

/* When the case's data files cannot be read as tensors: whether the model itself is one the
 * frontend declares unsupported (an optional or sequence input), which explains it. */
static bool model_declined(const test_case *c) {
  char path[1200];
  snprintf(path, sizeof path, "%s/model.onnx", c->dir);
  ipro_graph *graph = NULL;
  ipro_error err = {{0}};
  if (ipro_graph_load(path, &graph, &err) == IPRO_OK) {
    ipro_graph_free(graph);
    return false;
  }
  printf("%s\n", err.message);
  return strstr(err.message, "not a plain tensor") != NULL;
}

/* Turns graph input number `position` into an initializer holding value (its input_N.pb). */
static ipro_status bind_input(ipro_graph *graph, int position, const ipro_tensor *value,
                              ipro_error *err) {
  ipro_tensor *tensor = &graph->tensors[graph->inputs[position]];
  if (ipro_tensor_set_data(tensor, value->data, value->data_bytes, err) != IPRO_OK)
    return IPRO_ERROR;
  tensor->kind = IPRO_TENSOR_INITIALIZER;
  tensor->is_graph_input = false;
  tensor->dtype = value->dtype;
  tensor->shape = value->shape;
  return IPRO_OK;
}

/* Loads the model, binds the attribute-like inputs, normalises and infers shapes. fed[i] is the
 * index into c->inputs of the i-th remaining graph input. */
static ipro_status open_case(const test_case *c, ipro_graph **out, int *fed, ipro_error *err) {
  char path[1200];
  snprintf(path, sizeof path, "%s/model.onnx", c->dir);
  ipro_graph *graph = NULL;
  if (ipro_graph_load(path, &graph, err) != IPRO_OK) return IPRO_ERROR;
  if (graph->n_inputs != c->n_inputs) {
    ipro_graph_free(graph);
    return ipro_error_set(err, "the model has %d graph inputs but the case %d input files",
                          graph->n_inputs, c->n_inputs);
  }
  bool bound[MAX_CASE_TENSORS] = {false};
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    int first = first_attribute_input(node->op_type);
    for (int k = first < 0 ? node->n_inputs : first; k < node->n_inputs; k++)
      for (int i = 0; i < graph->n_inputs; i++)
        if (node->inputs[k] >= 0 && graph->inputs[i] == node->inputs[k]) bound[i] = true;
  }
  int kept = 0;
  ipro_status status = IPRO_OK;
  for (int i = 0; i < graph->n_inputs && status == IPRO_OK; i++) {
    if (bound[i]) {
      status = bind_input(graph, i, &c->inputs[i], err);
    } else {
      fed[kept] = i;
      graph->inputs[kept++] = graph->inputs[i];
    }
  }
  if (status == IPRO_OK) {
    graph->n_inputs = kept;
    status = ipro_graph_normalize(graph, err);
  }
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, 0, err);
  /* A declared symbolic batch: bind it to the batch the case feeds. */
  for (int i = 0; i < graph->n_inputs && status == IPRO_OK; i++) {
    const ipro_shape *shape = &graph->tensors[graph->inputs[i]].shape;
    if (shape->rank > 0 && shape->dims[0] == IPRO_DIM_BATCH && c->inputs[fed[i]].shape.rank > 0) {
      status = ipro_graph_infer_shapes(graph, c->inputs[fed[i]].shape.dims[0], err);
      break;
    }
  }
  if (status != IPRO_OK) {
    ipro_graph_free(graph);
    return IPRO_ERROR;
  }
  *out = graph;
  return IPRO_OK;
}

static double element_as_double(const void *data, ipro_dtype dtype, int64_t i) {
  switch (dtype) {
  case IPRO_DTYPE_FLOAT: return ((const float *)data)[i];
  case IPRO_DTYPE_DOUBLE: return ((const double *)data)[i];
  case IPRO_DTYPE_INT64: return (double)((const int64_t *)data)[i];
  case IPRO_DTYPE_INT32: return ((const int32_t *)data)[i];
  case IPRO_DTYPE_BOOL:
  case IPRO_DTYPE_UINT8: return ((const uint8_t *)data)[i];
  default: return NAN;
  }
}

/* Compares output `index` with its expected value; prints the worst element on failure. */
static bool compare_output(const ipro_graph *graph, int index, const void *got,
                           const ipro_tensor *expected) {
  const ipro_tensor *tensor = &graph->tensors[graph->outputs[index]];
  char got_text[128], expected_text[128];
  ipro_shape shape = tensor->shape;
  if (graph->batch > 0) ipro_shape_bind_batch(&shape, graph->batch);
  if (tensor->dtype != expected->dtype || !ipro_shape_equal(&shape, &expected->shape)) {
    printf("output %d '%s': got %s %s, expected %s %s\n", index, tensor->name,
           ipro_dtype_name(tensor->dtype), ipro_shape_format(&shape, got_text, sizeof got_text),
           ipro_dtype_name(expected->dtype),
           ipro_shape_format(&expected->shape, expected_text, sizeof expected_text));
    return false;
  }
  int64_t count = ipro_shape_elements(&shape);
  bool is_float = tensor->dtype == IPRO_DTYPE_FLOAT || tensor->dtype == IPRO_DTYPE_DOUBLE;
  size_t width = ipro_dtype_size(tensor->dtype);
  int64_t worst = -1, mismatches = 0;
  double worst_excess = 0.0;
  for (int64_t i = 0; i < count; i++) {
    bool ok;
    double excess = 0.0;
    if (is_float) {
      double g = element_as_double(got, tensor->dtype, i);
      double e = element_as_double(expected->data, tensor->dtype, i);
      if (isnan(e) || isnan(g))
        ok = isnan(e) && isnan(g);
      else if (isinf(e) || isinf(g))
        ok = g == e;
      else {
        excess = fabs(g - e) - (1e-5 + 1e-3 * fabs(e));
        ok = excess <= 0.0;
      }
      if (!ok && !(excess > 0.0)) excess = INFINITY;
    } else {
      ok = memcmp((const char *)got + (size_t)i * width,
                  (const char *)expected->data + (size_t)i * width, width) == 0;
      excess = ok ? 0.0 : 1.0;
    }
    if (!ok) {
      mismatches++;
      if (worst < 0 || excess > worst_excess) worst = i, worst_excess = excess;
    }
  }
  if (mismatches == 0) return true;
  printf("output %d '%s': %lld of %lld elements differ; worst at flat index %lld: got %.9g, "
         "expected %.9g\n",
         index, tensor->name, (long long)mismatches, (long long)count, (long long)worst,
         element_as_double(got, tensor->dtype, worst),
         element_as_double(expected->data, tensor->dtype, worst));
  return false;
}

/* Runs the graph on the fed inputs and compares every output. */
static bool run_and_compare(const test_case *c, const ipro_graph *graph, const int *fed) {
  void **data = calloc((size_t)graph->n_tensors, sizeof *data);
  if (!data) return false;
  bool ok = true;
  for (int i = 0; i < graph->n_inputs; i++) {
    const ipro_tensor *input = &graph->tensors[graph->inputs[i]];
    const ipro_tensor *value = &c->inputs[fed[i]];
    char want[128], have[128];
    if (input->dtype != value->dtype || !ipro_shape_equal(&input->shape, &value->shape)) {
      printf("input_%d.pb is %s %s but graph input '%s' is %s %s\n", fed[i],
             ipro_dtype_name(value->dtype), ipro_shape_format(&value->shape, have, sizeof have),
             input->name, ipro_dtype_name(input->dtype),
             ipro_shape_format(&input->shape, want, sizeof want));
      ok = false;
    }
    data[graph->inputs[i]] = value->data;
  }
  ipro_error err = {{0}};
  ipro_kernel_context context = {0, 0};
  if (ok && ipro_reference_run(graph, data, &context, &err) != IPRO_OK) {
    printf("ipro_reference_run: %s\n", err.message);
    ok = false;
  }
  if (ok && graph->n_outputs != c->n_outputs) {
    printf("the graph has %d outputs but the case %d\n", graph->n_outputs, c->n_outputs);
    ok = false;
  }
  for (int i = 0; ok && i < graph->n_outputs; i++) {
    bool same = compare_output(graph, i, data[graph->outputs[i]], &c->outputs[i]);
    CHECK_MSG(same, "output %d of %s", i, c->name);
    ok = ok && same;
  }
  ipro_reference_release(graph, data);
  free(data);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CASE\n", argv[0]);
    return 2;
  }
  test_case c = {.name = argv[1]};
  snprintf(c.dir, sizeof c.dir, "%s/%s", ipro_test_node_tests_dir(), c.name);
  if (!find_case_op(&c)) {
    printf("case %s is not in INDEX.tsv\n", c.name);
    return 1;
  }
  if (!op_is_listed(c.op)) {
    char reason[256];
    snprintf(reason, sizeof reason, "%s is not in op_list.h", c.op);
    printf("CASE op=%s result=unsupported\n", c.op);
    return ipro_test_skip(reason);
  }
  const char *result = "fail";
  int status = 1;
  ipro_graph *graph = NULL;
  ipro_error err = {{0}};
  int fed[MAX_CASE_TENSORS];
  if (!load_tensors(&c, "input", c.inputs, &c.n_inputs) ||
      !load_tensors(&c, "output", c.outputs, &c.n_outputs)) {
    if (model_declined(&c)) result = "unsupported", status = 77;
  } else if (open_case(&c, &graph, fed, &err) != IPRO_OK) {
    printf("%s\n", err.message);
    if (declared_unsupported(&c, err.message)) result = "unsupported", status = 77;
  } else {
    bool ok = run_and_compare(&c, graph, fed);
    result = ok ? "pass" : "fail";
    status = ok ? ipro_test_finish() : 1;
    ipro_graph_free(graph);
  }
  release_case(&c);
  printf("CASE op=%s result=%s\n", c.op, result);
  return status;
}
