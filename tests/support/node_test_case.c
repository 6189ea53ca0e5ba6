/* Opening, running and judging ONNX node-test cases (see node_test_case.h). */
#include "node_test_case.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "runtime/executor.h"
#include "tests/support/check.h"

bool ipro_node_case_fail(ipro_node_case *c, const char *format, ...) {
  char reason[sizeof c->message];
  va_list args;
  va_start(args, format);
  vsnprintf(reason, sizeof reason, format, args);
  va_end(args);
  printf("%s: %s\n", c->row.name, reason);
  if (c->result != IPRO_CASE_FAILED) {
    c->result = IPRO_CASE_FAILED;
    snprintf(c->message, sizeof c->message, "%s", reason);
  }
  return false;
}

/* Ends opening without a check to make (skipped or rejected). Returns false. */
static bool settle(ipro_node_case *c, ipro_case_result result, const char *reason) {
  c->result = result;
  snprintf(c->message, sizeof c->message, "%s", reason);
  return false;
}

ipro_status ipro_node_case_read_index(const char *dir, ipro_case_row **rows, int *count,
                                      ipro_error *err) {
  *rows = NULL;
  *count = 0;
  char path[1200], line[1024];
  snprintf(path, sizeof path, "%s/INDEX.tsv", dir);
  FILE *file = fopen(path, "r");
  if (!file) return ipro_error_set(err, "cannot open %s", path);
  int capacity = 0;
  ipro_status status = IPRO_OK;
  while (status == IPRO_OK && fgets(line, sizeof line, file)) {
    char *op = strchr(line, '\t');
    char *opset = op ? strchr(op + 1, '\t') : NULL;
    if (!opset) continue;
    *op++ = '\0';
    *opset++ = '\0';
    if (strcmp(line, "test_name") == 0) continue;
    if (*count == capacity) {
      capacity = capacity ? 2 * capacity : 512;
      ipro_case_row *grown = realloc(*rows, (size_t)capacity * sizeof *grown);
      if (!grown) {
        status = ipro_error_set(err, "out of memory reading %s", path);
        break;
      }
      *rows = grown;
    }
    ipro_case_row *row = &(*rows)[(*count)++];
    snprintf(row->name, sizeof row->name, "%.127s", line);
    snprintf(row->op, sizeof row->op, "%.63s", op);
    row->opset = atoi(opset);
  }
  fclose(file);
  if (status != IPRO_OK) {
    free(*rows);
    *rows = NULL;
    *count = 0;
  }
  return status;
}

/* The dtypes infopro handles: float32 activations, int64 shape values and labels, bool dropout
 * masks, and int32 only as Gather indices and the recurrent ops' sequence_lens. */
static bool dtype_supported(ipro_dtype dtype, ipro_op op) {
  return dtype == IPRO_DTYPE_FLOAT || dtype == IPRO_DTYPE_INT64 || dtype == IPRO_DTYPE_BOOL ||
         (dtype == IPRO_DTYPE_INT32 && (op == IPRO_OP_GATHER || op == IPRO_OP_LSTM ||
                                         op == IPRO_OP_GRU || op == IPRO_OP_RNN));
}

/* Skips the case when a node's op is not supported, naming every such op once. */
static bool ops_supported(ipro_node_case *c) {
  char *names = c->unsupported_ops;
  size_t used = 0, size = sizeof c->unsupported_ops;
  for (int n = 0; n < c->graph->n_nodes; n++) {
    const ipro_node *node = &c->graph->nodes[n];
    if (node->op != IPRO_OP_COUNT) continue;
    bool named = false;
    for (int m = 0; m < n && !named; m++)
      named = c->graph->nodes[m].op == IPRO_OP_COUNT &&
              strcmp(c->graph->nodes[m].op_type, node->op_type) == 0;
    if (!named && used < size)
      used += (size_t)snprintf(names + used, size - used, "%s%s", used ? ", " : "", node->op_type);
  }
  if (used == 0) return true;
  char reason[700];
  snprintf(reason, sizeof reason, "the model uses ops infopro does not support: %s", names);
  return settle(c, IPRO_CASE_SKIPPED, reason);
}

/* Loads <dir>/test_data_set_0/<kind>_0.pb, _1.pb, ... until one is missing. */
static ipro_status load_tensors(const ipro_node_case *c, const char *kind, ipro_tensor *tensors,
                                int *count, ipro_error *err) {
  *count = 0;
  for (int i = 0; i < IPRO_CASE_MAX_TENSORS; i++) {
    char path[1200];
    snprintf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", c->dir, kind, i);
    FILE *probe = fopen(path, "rb");
    if (!probe) return IPRO_OK;
    fclose(probe);
    if (ipro_tensor_load_file(path, &tensors[i], err) != IPRO_OK) return IPRO_ERROR;
    *count = i + 1;
  }
  return IPRO_OK;
}

/* Whether input k of node is one infopro reads at compile time: from input 1 on for these ops
 * (canonical_forms.md holds them as attributes). Clip's bounds are not among them: a bound that
 * is not a constant is read at run time, so the cases feed them as the ONNX data gives them. */
static bool read_at_compile_time(const ipro_node *node, int k) {
  switch (node->op) {
  case IPRO_OP_DROPOUT:
  case IPRO_OP_PAD:
  case IPRO_OP_RESIZE:
  case IPRO_OP_REDUCE_MEAN:
  case IPRO_OP_SQUEEZE:
  case IPRO_OP_UNSQUEEZE:
  case IPRO_OP_RESHAPE:
  case IPRO_OP_COL2IM: return k >= 1;
  default: return false;
  }
}

/* Turns the graph inputs read at compile time into initializers holding the case's data, and
 * keeps the others as graph inputs, recording in c->fed which file feeds each. */
static ipro_status bind_compile_time_inputs(ipro_node_case *c, ipro_error *err) {
  ipro_graph *graph = c->graph;
  bool bound[IPRO_CASE_MAX_TENSORS] = {false};
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    for (int k = 0; k < node->n_inputs; k++)
      for (int i = 0; i < graph->n_inputs; i++)
        if (read_at_compile_time(node, k) && node->inputs[k] >= 0 &&
            graph->inputs[i] == node->inputs[k])
          bound[i] = true;
  }
  int kept = 0;
  for (int i = 0; i < graph->n_inputs; i++) {
    ipro_tensor *tensor = &graph->tensors[graph->inputs[i]];
    if (!bound[i]) {
      c->fed[kept] = i;
      graph->inputs[kept++] = graph->inputs[i];
      continue;
    }
    const ipro_tensor *value = &c->inputs[i];
    if (ipro_tensor_set_data(tensor, value->data, value->data_bytes, err) != IPRO_OK)
      return IPRO_ERROR;
    tensor->kind = IPRO_TENSOR_INITIALIZER;
    tensor->is_graph_input = false;
    tensor->dtype = value->dtype;
    tensor->shape = value->shape;
  }
  graph->n_inputs = kept;
  return IPRO_OK;
}

/* Normalises and infers shapes; a declared symbolic batch is bound to the batch the case feeds. */
static ipro_status prepare_graph(ipro_node_case *c, ipro_error *err) {
  ipro_graph *graph = c->graph;
  if (bind_compile_time_inputs(c, err) != IPRO_OK || ipro_graph_normalize(graph, err) != IPRO_OK ||
      ipro_graph_infer_shapes(graph, 0, err) != IPRO_OK)
    return IPRO_ERROR;
  for (int i = 0; i < graph->n_inputs; i++) {
    const ipro_shape *shape = &graph->tensors[graph->inputs[i]].shape;
    const ipro_shape *fed = &c->inputs[c->fed[i]].shape;
    if (shape->rank > 0 && shape->dims[0] == IPRO_DIM_BATCH && fed->rank > 0)
      return ipro_graph_infer_shapes(graph, fed->dims[0], err);
  }
  return IPRO_OK;
}

bool ipro_node_case_open(ipro_node_case *c, const ipro_case_row *row) {
  memset(c, 0, sizeof *c);
  c->row = *row;
  c->result = IPRO_CASE_PASSED;
  snprintf(c->dir, sizeof c->dir, "%s/%s", ipro_test_node_tests_dir(), row->name);
  ipro_op op = ipro_op_from_name(row->op);
  if (op == IPRO_OP_COUNT) {
    char reason[128];
    snprintf(reason, sizeof reason, "op %s is not one infopro supports", row->op);
    return settle(c, IPRO_CASE_SKIPPED, reason);
  }
  char path[1100];
  snprintf(path, sizeof path, "%s/model.onnx", c->dir);
  ipro_error err = {{0}};
  if (ipro_graph_load(path, &c->graph, &err) != IPRO_OK) {
    /* The loader declines sequence, map and optional inputs by name. */
    if (strstr(err.message, "not a plain tensor"))
      return settle(c, IPRO_CASE_REJECTED, err.message);
    return ipro_node_case_fail(c, "%s", err.message);
  }
  if (!ops_supported(c)) return false;

  /* Whether the case is within infopro's dtypes, judged from the declared inputs and the
   * expected outputs, before the frontend has its say. */
  const char *unsupported = NULL;
  for (int i = 0; i < c->graph->n_inputs && !unsupported; i++) {
    ipro_dtype dtype = c->graph->tensors[c->graph->inputs[i]].dtype;
    if (!dtype_supported(dtype, op)) unsupported = ipro_dtype_name(dtype);
  }
  if (load_tensors(c, "input", c->inputs, &c->n_inputs, &err) != IPRO_OK ||
      load_tensors(c, "output", c->outputs, &c->n_outputs, &err) != IPRO_OK) {
    /* A data file of a dtype without a fixed size cannot even be read. */
    if (strstr(err.message, "does not support")) return settle(c, IPRO_CASE_REJECTED, err.message);
    return ipro_node_case_fail(c, "%s", err.message);
  }
  for (int i = 0; i < c->n_outputs && !unsupported; i++)
    if (!dtype_supported(c->outputs[i].dtype, op))
      unsupported = ipro_dtype_name(c->outputs[i].dtype);
  if (c->n_outputs == 0) return ipro_node_case_fail(c, "the case has no output_0.pb");
  if (c->graph->n_inputs != c->n_inputs || c->graph->n_outputs != c->n_outputs)
    return ipro_node_case_fail(c, "the model has %d inputs and %d outputs but the case %d and %d",
                               c->graph->n_inputs, c->graph->n_outputs, c->n_inputs, c->n_outputs);

  ipro_status status = prepare_graph(c, &err);
  if (unsupported) {
    if (status == IPRO_OK)
      return ipro_node_case_fail(
          c, "it uses dtype %s, which infopro does not support, but was accepted", unsupported);
    if (!strstr(err.message, "does not support"))
      return ipro_node_case_fail(c, "it uses dtype %s, but was refused for another reason: %s",
                                 unsupported, err.message);
    return settle(c, IPRO_CASE_REJECTED, err.message);
  }
  /* Within an expanded function (the loss cases' *_expanded), integer arithmetic on values known
   * only at run time (ignore_index's test on the labels) is refused by dtype, as it is in a
   * model: a clear refusal, not a wrong answer */
  if (status != IPRO_OK && strstr(row->name, "_expanded") &&
      strstr(err.message, "which infopro does not support"))
    return settle(c, IPRO_CASE_REJECTED, err.message);
  if (status != IPRO_OK) return ipro_node_case_fail(c, "%s", err.message);
  return true;
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

/* Whether tensor, the computed output `index`, has the dtype and shape of its output_N.pb. */
static bool check_type(ipro_node_case *c, int index, const ipro_tensor *tensor) {
  const ipro_tensor *expected = &c->outputs[index];
  if (tensor->dtype == expected->dtype && ipro_shape_equal(&tensor->shape, &expected->shape))
    return true;
  char got_text[128], expected_text[128];
  return ipro_node_case_fail(
      c, "output %d '%s': got %s %s, expected %s %s", index, tensor->name,
      ipro_dtype_name(tensor->dtype), ipro_shape_format(&tensor->shape, got_text, sizeof got_text),
      ipro_dtype_name(expected->dtype),
      ipro_shape_format(&expected->shape, expected_text, sizeof expected_text));
}

/* Whether graph output `index` has the dtype and shape of its output_N.pb. */
static bool check_output_type(ipro_node_case *c, int index) {
  return check_type(c, index, &c->graph->tensors[c->graph->outputs[index]]);
}

/* Compares the values of output `index` (of the expected dtype and shape) with output_N.pb:
 * floats within rtol 1e-3 + atol 1e-5, NaN and infinities exactly, everything else bitwise. */
static bool check_output_values(ipro_node_case *c, int index, const void *got) {
  const ipro_tensor *expected = &c->outputs[index];
  ipro_dtype dtype = expected->dtype;
  int64_t count = ipro_shape_elements(&expected->shape);
  bool is_float = dtype == IPRO_DTYPE_FLOAT || dtype == IPRO_DTYPE_DOUBLE;
  size_t width = ipro_dtype_size(dtype);
  int64_t worst = -1, mismatches = 0;
  double worst_excess = 0.0;
  for (int64_t i = 0; i < count; i++) {
    bool ok;
    double excess = 0.0;
    if (is_float) {
      double g = element_as_double(got, dtype, i), e = element_as_double(expected->data, dtype, i);
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
  return ipro_node_case_fail(
      c,
      "output %d '%s': %lld of %lld elements differ; worst at flat index %lld: got %.9g, "
      "expected %.9g",
      index, c->graph->tensors[c->graph->outputs[index]].name, (long long)mismatches,
      (long long)count, (long long)worst, element_as_double(got, dtype, worst),
      element_as_double(expected->data, dtype, worst));
}

bool ipro_node_case_check_output(ipro_node_case *c, int index, const ipro_tensor *got) {
  return check_type(c, index, got) && check_output_values(c, index, got->data);
}

bool ipro_node_case_check_shapes(ipro_node_case *c) {
  bool ok = true;
  for (int n = 0; n < c->graph->n_outputs; n++) {
    const ipro_tensor *tensor = &c->graph->tensors[c->graph->outputs[n]];
    if (!check_output_type(c, n)) {
      ok = false;
    } else if (tensor->kind == IPRO_TENSOR_CONSTANT) {
      if (tensor->data_bytes < (size_t)ipro_tensor_bytes(&c->outputs[n]))
        ok = ipro_node_case_fail(
            c, "output %d '%s': the folded constant holds %zu bytes, expected %lld", n,
            tensor->name, tensor->data_bytes, (long long)ipro_tensor_bytes(&c->outputs[n]));
      else
        ok = check_output_values(c, n, tensor->data) && ok;
    }
  }
  return ok;
}

/* Runs the executor once on the case's fed inputs; outputs[i] receives graph output i. */
static bool execute(ipro_node_case *c, ipro_executor *executor, void **outputs) {
  const ipro_graph *graph = c->graph;
  const void *inputs[IPRO_CASE_MAX_TENSORS];
  for (int i = 0; i < graph->n_inputs; i++) {
    const ipro_tensor *input = &graph->tensors[graph->inputs[i]];
    const ipro_tensor *value = &c->inputs[c->fed[i]];
    char want[128], have[128];
    if (input->dtype != value->dtype || !ipro_shape_equal(&input->shape, &value->shape))
      return ipro_node_case_fail(c, "input_%d.pb is %s %s but graph input '%s' is %s %s", c->fed[i],
                                 ipro_dtype_name(value->dtype),
                                 ipro_shape_format(&value->shape, have, sizeof have), input->name,
                                 ipro_dtype_name(input->dtype),
                                 ipro_shape_format(&input->shape, want, sizeof want));
    inputs[i] = value->data;
  }
  for (int i = 0; i < graph->n_outputs; i++) {
    int64_t bytes = ipro_tensor_bytes(&graph->tensors[graph->outputs[i]]);
    outputs[i] = calloc(bytes > 0 ? (size_t)bytes : 1, 1);
    if (!outputs[i]) return ipro_node_case_fail(c, "out of memory");
  }
  ipro_error err = {{0}};
  if (ipro_executor_run(executor, inputs, outputs, &err) != IPRO_OK)
    return ipro_node_case_fail(c, "ipro_executor_run: %s", err.message);
  return true;
}

bool ipro_node_case_run(ipro_node_case *c, ipro_backend *backend, ipro_backend *fallback,
                        ipro_case_steps *steps) {
  size_t held = backend->bytes_in_use;
  ipro_executor *executor = NULL;
  ipro_error err = {{0}};
  if (ipro_executor_create(c->graph, backend, fallback, &executor, &err) != IPRO_OK)
    return ipro_node_case_fail(c, "ipro_executor_create (%s backend): %s", backend->name,
                               err.message);
  if (steps) {
    const ipro_forward_program *program = ipro_executor_program(executor);
    *steps = (ipro_case_steps){0, ipro_executor_primary_steps(executor)};
    for (int s = 0; s < program->n_steps; s++)
      steps->kernel_steps += !program->steps[s].is_view;
  }
  void *outputs[IPRO_CASE_MAX_TENSORS] = {NULL};
  bool ok = execute(c, executor, outputs);
  for (int i = 0; ok && i < c->graph->n_outputs; i++)
    ok = check_output_type(c, i) && check_output_values(c, i, outputs[i]);
  for (int i = 0; i < c->graph->n_outputs; i++)
    free(outputs[i]);
  ipro_executor_free(executor);
  if (backend->bytes_in_use != held)
    ok = ipro_node_case_fail(c, "the %s backend holds %zu bytes more after the executor is freed",
                             backend->name, backend->bytes_in_use - held);
  return ok;
}

void ipro_node_case_release(ipro_node_case *c) {
  for (int i = 0; i < c->n_inputs; i++)
    ipro_tensor_release(&c->inputs[i]);
  for (int i = 0; i < c->n_outputs; i++)
    ipro_tensor_release(&c->outputs[i]);
  c->n_inputs = c->n_outputs = 0;
  ipro_graph_free(c->graph);
  c->graph = NULL;
}

bool ipro_node_case_open_from_arguments(int argc, char **argv, ipro_node_case *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->row.op, sizeof c->row.op, "?");
  if (argc < 2) {
    snprintf(c->row.name, sizeof c->row.name, "%s", argv[0]);
    return ipro_node_case_fail(c, "usage: %s <node test case>", argv[0]);
  }
  snprintf(c->row.name, sizeof c->row.name, "%s", argv[1]);
  ipro_case_row *rows = NULL;
  int count = 0;
  ipro_error err = {{0}};
  if (ipro_node_case_read_index(ipro_test_node_tests_dir(), &rows, &count, &err) != IPRO_OK)
    return ipro_node_case_fail(c, "%s", err.message);
  const ipro_case_row *row = NULL;
  for (int i = 0; i < count && !row; i++)
    if (strcmp(rows[i].name, argv[1]) == 0) row = &rows[i];
  bool ready = row ? ipro_node_case_open(c, row)
                   : ipro_node_case_fail(c, "not in %s/INDEX.tsv", ipro_test_node_tests_dir());
  free(rows);
  return ready;
}

void ipro_node_case_skip(ipro_node_case *c, const char *reason) {
  if (c->result == IPRO_CASE_PASSED) settle(c, IPRO_CASE_SKIPPED, reason);
}

int ipro_node_case_finish(ipro_node_case *c, const char *detail) {
  static const char *const words[] = {"pass", "rejected", "skipped", "fail"};
  char reason[sizeof c->message + 32];
  int status = 0;
  switch (c->result) {
  case IPRO_CASE_PASSED: break;
  case IPRO_CASE_REJECTED:
    snprintf(reason, sizeof reason, "rejected as expected: %s", c->message);
    status = ipro_test_skip(reason);
    break;
  case IPRO_CASE_SKIPPED: status = ipro_test_skip(c->message); break;
  case IPRO_CASE_FAILED: status = 1; break;
  }
  printf("CASE op=%s%s%s result=%s\n", c->row.op, detail ? " " : "", detail ? detail : "",
         words[c->result]);
  ipro_node_case_release(c);
  return status;
}
