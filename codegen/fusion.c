/* BatchNormalization + Relu and Add + Relu fusion in a training program (see fusion.h). */
#include "fusion.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* How many nodes read each tensor and the last of them, and for each tensor a ReLU wrote the
 * ipro.UnaryGrad of that ReLU (-1: none). */
typedef struct {
  int *readers, *reader, *relu_grad;
} tensor_readers;

static ipro_status count_readers(const ipro_graph *graph, tensor_readers *r, ipro_error *err) {
  r->readers = calloc((size_t)graph->n_tensors + 1, sizeof(int));
  r->reader = calloc((size_t)graph->n_tensors + 1, sizeof(int));
  r->relu_grad = malloc(((size_t)graph->n_tensors + 1) * sizeof(int));
  if (!r->readers || !r->reader || !r->relu_grad)
    return ipro_error_set(err, "out of memory fusing a program");
  for (int t = 0; t < graph->n_tensors; t++)
    r->relu_grad[t] = -1;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *u = &graph->nodes[n];
    if (u->op == IPRO_OP_UNARY_GRAD && u->n_inputs == 2 && u->inputs[1] >= 0 && u->n_outputs == 1 &&
        ipro_node_attr_int(u, "forward_op", -1) == IPRO_OP_RELU)
      r->relu_grad[u->inputs[1]] = n;
    for (int i = 0; i < graph->nodes[n].n_inputs; i++) {
      int t = graph->nodes[n].inputs[i];
      if (t < 0) continue;
      r->readers[t]++;
      r->reader[t] = n;
    }
  }
  return IPRO_OK;
}

/* The one node that reads tensor t, when it is an activation no graph output is and exactly one
 * node reads it; -1 otherwise. */
static int sole_reader(const ipro_graph *graph, const tensor_readers *r, int t) {
  if (t < 0 || graph->tensors[t].is_graph_output ||
      graph->tensors[t].kind != IPRO_TENSOR_ACTIVATION || r->readers[t] != 1)
    return -1;
  return r->reader[t];
}

static void readers_free(tensor_readers *r) {
  free(r->readers);
  free(r->reader);
  free(r->relu_grad);
}

/* What the passes below share: the readers counted, and the nodes a pass removes flagged, taken
 * out at the end where it fused anything. */
typedef struct {
  tensor_readers r;
  bool *removed;
} fusion_frame;

static ipro_status frame_open(const ipro_graph *graph, fusion_frame *f, ipro_error *err) {
  *f = (fusion_frame){{NULL, NULL, NULL}, NULL};
  f->removed = calloc((size_t)graph->n_nodes + 1, sizeof(bool));
  return f->removed ? count_readers(graph, &f->r, err)
                    : ipro_error_set(err, "out of memory fusing a program");
}

/* status, after the flagged nodes went where the pass fused any (and it succeeded). */
static ipro_status frame_close(ipro_graph *graph, fusion_frame *f, ipro_status status, int fused) {
  if (status == IPRO_OK && fused > 0) ipro_graph_remove_nodes(graph, f->removed);
  free(f->removed);
  readers_free(&f->r);
  return status;
}

/* The ipro.UnaryGrad of the Relu that wrote z, and the ipro.BatchNormGrad it alone feeds, whose
 * X and saved mean are the normalisation's; false when the pattern is not all there. */
static bool find_backward(const ipro_graph *graph, const tensor_readers *r, const ipro_node *norm,
                          int z, int *unary_grad, int *norm_grad) {
  int n = r->relu_grad[z];
  if (n < 0) return false;
  const ipro_node *u = &graph->nodes[n];
  int g = sole_reader(graph, r, u->outputs[0]);
  if (g < 0) return false;
  const ipro_node *grad = &graph->nodes[g];
  if (grad->op != IPRO_OP_BATCH_NORM_GRAD || grad->n_inputs != 5 ||
      grad->inputs[0] != u->outputs[0] || grad->inputs[1] != norm->inputs[0] ||
      grad->inputs[3] != norm->outputs[3] || grad->inputs[4] != norm->outputs[4])
    return false;
  *unary_grad = n;
  *norm_grad = g;
  return true;
}

/* The mask tensor "<node>:relu_mask" as output 5 of the normalisation. */
static int add_mask(ipro_graph *graph, int n, ipro_error *err) {
  char name[600];
  snprintf(name, sizeof name, "%.560s:relu_mask", graph->nodes[n].name);
  if (ipro_graph_find_tensor(graph, name) >= 0) {
    ipro_error_set(err, "node '%s': a tensor is already called '%s'", graph->nodes[n].name, name);
    return -1;
  }
  int t = ipro_graph_tensor(graph, name);
  ipro_node *node = &graph->nodes[n];
  int *outputs = t < 0 ? NULL : realloc(node->outputs, 6 * sizeof(int));
  if (!outputs) {
    ipro_error_set(err, "out of memory fusing a program");
    return -1;
  }
  node->outputs = outputs;
  for (int o = node->n_outputs; o < 6; o++)
    outputs[o] = -1;
  node->n_outputs = 6;
  outputs[5] = t;
  graph->tensors[t].kind = IPRO_TENSOR_ACTIVATION;
  graph->tensors[t].dtype = IPRO_DTYPE_BOOL;
  graph->tensors[t].producer = n;
  return t;
}

static ipro_status fuse_pair(ipro_graph *graph, int n, int relu, int unary_grad, int norm_grad,
                             bool *removed, ipro_error *err) {
  int mask = add_mask(graph, n, err);
  if (mask < 0) return IPRO_ERROR;
  ipro_node *norm = &graph->nodes[n], *grad = &graph->nodes[norm_grad];
  int z = graph->nodes[relu].outputs[0], dz = graph->nodes[unary_grad].inputs[0];
  int *inputs = realloc(grad->inputs, 6 * sizeof(int));
  if (!inputs) return ipro_error_set(err, "out of memory fusing a program");
  grad->inputs = inputs;
  grad->n_inputs = 6;
  inputs[0] = dz;
  inputs[5] = mask;
  norm->outputs[0] = z;
  graph->tensors[z].producer = n;
  if (ipro_node_set_int(norm, "fused_relu", 1) != IPRO_OK ||
      ipro_node_set_int(grad, "fused_relu", 1) != IPRO_OK)
    return ipro_error_set(err, "out of memory fusing a program");
  removed[relu] = removed[unary_grad] = true;
  return IPRO_OK;
}

/* The Relu that alone reads node n's output 0, or -1. */
static int sole_relu(const ipro_graph *graph, const tensor_readers *r, int n) {
  const ipro_node *node = &graph->nodes[n];
  int relu = node->n_outputs >= 1 ? sole_reader(graph, r, node->outputs[0]) : -1;
  if (relu < 0 || graph->nodes[relu].op != IPRO_OP_RELU || graph->nodes[relu].n_outputs != 1 ||
      graph->nodes[relu].outputs[0] < 0)
    return -1;
  return relu;
}

static bool fusable_batch_norm(const ipro_node *norm) {
  return norm->op == IPRO_OP_BATCH_NORMALIZATION && ipro_node_attr_int(norm, "training_mode", 0) &&
         ipro_node_attr_int(norm, "saves_statistics", 0) &&
         !ipro_node_attr_int(norm, "fused_relu", 0) &&
         !ipro_node_attr_int(norm, "fused_add_relu", 0) && norm->n_inputs == 5 &&
         norm->n_outputs == 5 && norm->outputs[3] >= 0 && norm->outputs[4] >= 0;
}

/* Y = BatchNormalization(X, ...) read by Z = Add(Y, R) with fused_relu alone, R of Y's shape: the
 * normalisation takes R as input 5 and writes Z (fused_add_relu), in its own place when R is
 * computed before it, in the Add's otherwise. */
static ipro_status fuse_norm_add(ipro_graph *graph, const tensor_readers *r, int n, bool *removed,
                                 bool *fused, ipro_error *err) {
  *fused = false;
  int y = graph->nodes[n].outputs[0];
  int a = sole_reader(graph, r, y);
  if (a < 0 || a <= n || removed[a]) return IPRO_OK;
  const ipro_node *add = &graph->nodes[a];
  if (add->op != IPRO_OP_ADD || add->n_inputs != 2 || add->n_outputs != 1 ||
      !ipro_node_attr_int(add, "fused_relu", 0) || add->inputs[0] == add->inputs[1])
    return IPRO_OK;
  int residual = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
  if (residual < 0 || graph->tensors[residual].dtype != graph->tensors[y].dtype ||
      !ipro_shape_equal(&graph->tensors[residual].shape, &graph->tensors[y].shape))
    return IPRO_OK;
  int z = add->outputs[0];
  ipro_node *norm = &graph->nodes[n];
  int *inputs = realloc(norm->inputs, 6 * sizeof(int));
  if (!inputs) return ipro_error_set(err, "out of memory fusing a program");
  norm->inputs = inputs;
  norm->n_inputs = 6;
  inputs[5] = residual;
  norm->outputs[0] = z;
  if (ipro_node_set_int(norm, "fused_add_relu", 1) != IPRO_OK)
    return ipro_error_set(err, "out of memory fusing a program");
  /* Where R is computed before the normalisation, the normalisation stays where it is and the
   * Add goes; otherwise it takes the Add's place, and the Add, in the normalisation's, goes. */
  int producer = graph->tensors[residual].producer;
  if (producer < n) {
    graph->tensors[z].producer = n;
    removed[a] = *fused = true;
    return IPRO_OK;
  }
  ipro_node moved = graph->nodes[a];
  graph->nodes[a] = graph->nodes[n];
  graph->nodes[n] = moved;
  graph->tensors[z].producer = a;
  removed[n] = *fused = true;
  return IPRO_OK;
}

/* Add(A, B) → Z: the Relu's output becomes the Add's. */
static ipro_status fuse_add(ipro_graph *graph, int n, int relu, bool *removed, ipro_error *err) {
  int z = graph->nodes[relu].outputs[0];
  graph->nodes[n].outputs[0] = z;
  graph->tensors[z].producer = n;
  if (ipro_node_set_int(&graph->nodes[n], "fused_relu", 1) != IPRO_OK)
    return ipro_error_set(err, "out of memory fusing a program");
  removed[relu] = true;
  return IPRO_OK;
}

/* dY = Sum(G1, G2) read by the ReLU's gradient u alone: u takes G1 and G2 (inputs 0 and 2). */
static ipro_status fuse_sum(ipro_graph *graph, const tensor_readers *r, int u, bool *removed,
                            bool *fused, ipro_error *err) {
  *fused = false;
  ipro_node *grad = &graph->nodes[u];
  int dy = grad->inputs[0];
  int s = dy >= 0 ? graph->tensors[dy].producer : -1;
  if (s < 0 || removed[s] || sole_reader(graph, r, dy) != u) return IPRO_OK;
  const ipro_node *sum = &graph->nodes[s];
  if (sum->op != IPRO_OP_SUM || sum->n_inputs != 2 || sum->n_outputs != 1) return IPRO_OK;
  for (int i = 0; i < 2; i++)
    if (sum->inputs[i] < 0 ||
        !ipro_shape_equal(&graph->tensors[sum->inputs[i]].shape, &graph->tensors[dy].shape))
      return IPRO_OK;
  int *inputs = realloc(grad->inputs, 3 * sizeof(int));
  if (!inputs) return ipro_error_set(err, "out of memory fusing a program");
  grad->inputs = inputs;
  grad->n_inputs = 3;
  inputs[0] = sum->inputs[0];
  inputs[2] = sum->inputs[1];
  removed[s] = *fused = true;
  return IPRO_OK;
}

ipro_status ipro_fuse_relu(ipro_graph *graph, ipro_fused_counts *fused, ipro_error *err) {
  ipro_fused_counts counts = {0, 0, 0, 0};
  fusion_frame frame;
  ipro_status status = frame_open(graph, &frame, err);
  tensor_readers r = frame.r;
  bool *removed = frame.removed;
  for (int n = 0; status == IPRO_OK && n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    bool add = node->op == IPRO_OP_ADD && node->n_inputs == 2 && node->n_outputs == 1 &&
               !ipro_node_attr_int(node, "fused_relu", 0);
    if (!add && !fusable_batch_norm(node)) continue;
    int relu = sole_relu(graph, &r, n);
    if (relu < 0) continue;
    if (add) {
      status = fuse_add(graph, n, relu, removed, err);
      counts.add_relu++;
      continue;
    }
    int unary_grad, norm_grad;
    if (!find_backward(graph, &r, node, graph->nodes[relu].outputs[0], &unary_grad, &norm_grad))
      continue;
    status = fuse_pair(graph, n, relu, unary_grad, norm_grad, removed, err);
    counts.batch_norm_relu++;
  }
  /* the normalisations whose output only a fused Add + Relu reads (the Adds fused above) */
  for (int n = 0; status == IPRO_OK && n < graph->n_nodes; n++) {
    if (removed[n] || !fusable_batch_norm(&graph->nodes[n])) continue;
    bool joined;
    status = fuse_norm_add(graph, &r, n, removed, &joined, err);
    counts.batch_norm_add_relu += joined;
  }
  /* the ReLU gradients left, after the Sum of their gradient's terms */
  for (int u = 0; status == IPRO_OK && u < graph->n_nodes; u++) {
    const ipro_node *node = &graph->nodes[u];
    if (removed[u] || node->op != IPRO_OP_UNARY_GRAD || node->n_inputs != 2 ||
        ipro_node_attr_int(node, "forward_op", -1) != IPRO_OP_RELU)
      continue;
    bool summed;
    status = fuse_sum(graph, &r, u, removed, &summed, err);
    counts.sum_relu_grad += summed;
  }
  if (fused && status == IPRO_OK) *fused = counts;
  return frame_close(graph, &frame, status,
                     counts.batch_norm_relu + counts.add_relu + counts.sum_relu_grad +
                         counts.batch_norm_add_relu);
}

/* ---- SiLU ---- */

ipro_status ipro_fuse_silu(ipro_graph *graph, ipro_error *err) {
  fusion_frame frame;
  ipro_status status = frame_open(graph, &frame, err);
  tensor_readers r = frame.r;
  bool *removed = frame.removed;
  int count = 0;
  for (int m = 0; status == IPRO_OK && m < graph->n_nodes; m++) {
    const ipro_node *mul = &graph->nodes[m];
    if (mul->op != IPRO_OP_MUL || mul->n_inputs != 2 || mul->n_outputs != 1 || mul->inputs[0] < 0 ||
        mul->inputs[1] < 0)
      continue;
    for (int side = 0; side < 2; side++) {
      int gate = mul->inputs[side], x = mul->inputs[1 - side];
      int g = graph->tensors[gate].producer;
      if (g < 0 || removed[g] || sole_reader(graph, &r, gate) != m) continue;
      ipro_node *sigmoid = &graph->nodes[g];
      if (sigmoid->op != IPRO_OP_SIGMOID || sigmoid->n_inputs != 1 || sigmoid->inputs[0] != x ||
          ipro_node_attr_int(sigmoid, "times_input", 0))
        continue;
      /* the Sigmoid writes the Mul's output, X·σ(X), in the Mul's place (after anything the
       * Mul's other readers need) */
      int y = mul->outputs[0];
      if (ipro_node_set_int(sigmoid, "times_input", 1) != IPRO_OK) {
        status = ipro_error_set(err, "out of memory fusing a program");
        break;
      }
      ipro_node moved = graph->nodes[g];
      graph->nodes[g] = graph->nodes[m];
      graph->nodes[m] = moved;
      graph->nodes[m].outputs[0] = y;
      graph->tensors[y].producer = m;
      graph->tensors[gate].producer = -1;
      removed[g] = true;
      count++;
      break;
    }
  }
  return frame_close(graph, &frame, status, count);
}

/* ---- GELU ---- */

/* Whether tensor t is a constant scalar within a millionth of value. */
static bool scalar_near(const ipro_graph *graph, int t, double value) {
  if (t < 0) return false;
  const ipro_tensor *tensor = &graph->tensors[t];
  double v;
  if (tensor->kind == IPRO_TENSOR_ACTIVATION || !tensor->data ||
      ipro_shape_elements(&tensor->shape) != 1 ||
      !ipro_dtype_convert(tensor->data, tensor->dtype, &v, IPRO_DTYPE_DOUBLE, 1))
    return false;
  return fabs(v - value) <= 1e-6 * fabs(value);
}

/* The node of op that writes t, read by reader alone, with a constant scalar near value as one
 * of its two inputs; its other input into *other. -1 when not so. */
static int scaled_by(const ipro_graph *graph, const tensor_readers *r, int t, int reader,
                     ipro_op op, double value, int *other) {
  int n = t < 0 ? -1 : graph->tensors[t].producer;
  if (n < 0 || sole_reader(graph, r, t) != reader) return -1;
  const ipro_node *node = &graph->nodes[n];
  if (node->op != op || node->n_inputs != 2 || node->n_outputs != 1) return -1;
  for (int side = 0; side < 2; side++)
    if ((op != IPRO_OP_DIV || side == 1) && scalar_near(graph, node->inputs[side], value)) {
      *other = node->inputs[1 - side];
      return n;
    }
  return -1;
}

ipro_status ipro_fuse_gelu(ipro_graph *graph, int *fused, ipro_error *err) {
  fusion_frame frame;
  ipro_status status = frame_open(graph, &frame, err);
  tensor_readers r = frame.r;
  bool *removed = frame.removed;
  int count = 0;
  for (int m = 0; status == IPRO_OK && m < graph->n_nodes; m++) {
    const ipro_node *half = &graph->nodes[m];
    if (removed[m] || half->op != IPRO_OP_MUL || half->n_inputs != 2 || half->n_outputs != 1)
      continue;
    /* Y = Mul(Mul(X, Add(Erf(Div(X, √2)), 1)), 0.5), each factor in either order */
    int product = -1, x = -1, sum = -1, erf_out = -1, divided = -1, x_again = -1;
    for (int side = 0; side < 2 && product < 0; side++)
      if (scalar_near(graph, half->inputs[side], 0.5)) product = half->inputs[1 - side];
    int times = product < 0 ? -1 : graph->tensors[product].producer;
    if (times < 0 || sole_reader(graph, &r, product) != m) continue;
    const ipro_node *mul = &graph->nodes[times];
    if (mul->op != IPRO_OP_MUL || mul->n_inputs != 2) continue;
    int plus = -1;
    for (int side = 0; side < 2 && plus < 0; side++) {
      x = mul->inputs[side];
      plus = scaled_by(graph, &r, mul->inputs[1 - side], times, IPRO_OP_ADD, 1.0, &erf_out);
    }
    int erf = plus < 0 || erf_out < 0 ? -1 : graph->tensors[erf_out].producer;
    if (erf < 0 || sole_reader(graph, &r, erf_out) != plus || graph->nodes[erf].op != IPRO_OP_ERF)
      continue;
    divided = graph->nodes[erf].inputs[0];
    int div = scaled_by(graph, &r, divided, erf, IPRO_OP_DIV, sqrt(2.0), &x_again);
    if (div < 0) div = scaled_by(graph, &r, divided, erf, IPRO_OP_MUL, sqrt(0.5), &x_again);
    if (div < 0 || x_again != x) continue;
    sum = graph->nodes[plus].outputs[0];
    /* the Div becomes the Gelu, writing the last Mul's output; the other four go */
    ipro_node *gelu = &graph->nodes[div];
    int y = half->outputs[0];
    gelu->op = IPRO_OP_GELU;
    gelu->inputs[0] = x;
    gelu->n_inputs = 1;
    gelu->outputs[0] = y;
    if (ipro_node_set_string(gelu, "approximate", "none") != IPRO_OK) {
      status = ipro_error_set(err, "out of memory fusing a program");
      break;
    }
    int gone[4] = {divided, erf_out, sum, product};
    for (int k = 0; k < 4; k++)
      graph->tensors[gone[k]].producer = -1;
    graph->tensors[y].producer = div;
    removed[erf] = removed[plus] = removed[times] = removed[m] = true;
    count++;
  }
  if (fused) *fused = count;
  return frame_close(graph, &frame, status, count);
}

/* A constant int64 vector holding shape's dims, named after name; -1 when out of memory. */
static int shape_constant(ipro_graph *graph, const char *name, const ipro_shape *shape,
                          ipro_error *err) {
  int t = ipro_graph_tensor(graph, name);
  if (t < 0) return -1;
  ipro_tensor *tensor = &graph->tensors[t];
  tensor->kind = IPRO_TENSOR_CONSTANT;
  tensor->dtype = IPRO_DTYPE_INT64;
  tensor->shape = (ipro_shape){.rank = 1, .dims = {shape->rank}};
  return ipro_tensor_set_data(tensor, shape->dims, sizeof(int64_t) * (size_t)shape->rank, err) ==
                 IPRO_OK
             ? t
             : -1;
}

/* Y = Reshape(x, shape) as a new node at position at, Y a new activation called name of x's type;
 * Y's index, -1 when out of memory. */
static int reshape_node(ipro_graph *graph, const char *name, int x, const ipro_shape *shape, int at,
                        ipro_error *err) {
  char label[600];
  snprintf(label, sizeof label, "%.560s:shape", name);
  int target = shape_constant(graph, label, shape, err);
  int y = target < 0 ? -1 : ipro_graph_tensor(graph, name);
  int n = y < 0 ? -1 : ipro_graph_add_node(graph, name, "Reshape", 2, 1);
  if (n < 0 || ipro_node_set_ints(&graph->nodes[n], "shape", shape->dims, shape->rank) != IPRO_OK)
    return -1;
  graph->tensors[y].dtype = graph->tensors[x].dtype;
  graph->tensors[y].shape = *shape;
  graph->nodes[n].inputs[0] = x;
  graph->nodes[n].inputs[1] = target;
  graph->nodes[n].outputs[0] = y;
  ipro_graph_move_last_node(graph, at);
  return y;
}

/* The MatMul at m reading T = Transpose(W) as its B, rewritten (fusion.h); the Transpose is left
 * for the caller to remove. */
static ipro_status gemm_of_transposed(ipro_graph *graph, int m, int w, ipro_error *err) {
  ipro_node *mat_mul = &graph->nodes[m];
  char name[600];
  snprintf(name, sizeof name, "%.560s", mat_mul->name);
  int a = mat_mul->inputs[0], y = mat_mul->outputs[0];
  ipro_shape a_shape = graph->tensors[a].shape, y_shape = graph->tensors[y].shape;
  ipro_node *gemm = mat_mul;
  int gemm_at = m;
  if (a_shape.rank > 2) {
    int64_t rows = ipro_shape_elements(&a_shape) / a_shape.dims[a_shape.rank - 1];
    ipro_shape a_rows = {.rank = 2, .dims = {rows, a_shape.dims[a_shape.rank - 1]}};
    ipro_shape y_rows = {.rank = 2, .dims = {rows, y_shape.dims[y_shape.rank - 1]}};
    char label[640];
    snprintf(label, sizeof label, "%s:rows", name);
    int a2 = reshape_node(graph, label, a, &a_rows, m, err); /* the MatMul moves to m + 1 */
    snprintf(label, sizeof label, "%s:product", name);
    int y2 = a2 < 0 ? -1 : ipro_graph_tensor(graph, label);
    if (y2 < 0) return ipro_error_set(err, "out of memory fusing a program");
    graph->tensors[y2].dtype = graph->tensors[y].dtype;
    graph->tensors[y2].shape = y_rows;
    gemm_at = m + 1;
    gemm = &graph->nodes[gemm_at];
    gemm->inputs[0] = a2;
    gemm->outputs[0] = y2;
    graph->tensors[y2].producer = gemm_at;
    snprintf(label, sizeof label, "%s:output", name);
    /* the Reshape back writes Y itself, right after the Gemm */
    int n = ipro_graph_add_node(graph, label, "Reshape", 2, 1);
    int target = n < 0 ? -1 : shape_constant(graph, label, &y_shape, err);
    if (target < 0 ||
        ipro_node_set_ints(&graph->nodes[n], "shape", y_shape.dims, y_shape.rank) != IPRO_OK)
      return ipro_error_set(err, "out of memory fusing a program");
    graph->nodes[n].inputs[0] = y2;
    graph->nodes[n].inputs[1] = target;
    graph->nodes[n].outputs[0] = y;
    ipro_graph_move_last_node(graph, gemm_at + 1);
    gemm = &graph->nodes[gemm_at];
  }
  gemm->op = IPRO_OP_GEMM;
  gemm->inputs[1] = w;
  if (ipro_node_set_float(gemm, "alpha", 1.0f) != IPRO_OK ||
      ipro_node_set_float(gemm, "beta", 1.0f) != IPRO_OK ||
      ipro_node_set_int(gemm, "transA", 0) != IPRO_OK ||
      ipro_node_set_int(gemm, "transB", 1) != IPRO_OK)
    return ipro_error_set(err, "out of memory fusing a program");
  return IPRO_OK;
}

/* Whether the tensors gemm_of_transposed would name after the MatMul are all free: a file's
 * tensor of such a name is not written over (the rewrite is skipped instead). */
static bool names_free(const ipro_graph *graph, const char *mat_mul) {
  static const char *const suffixes[] = {":rows", ":rows:shape", ":product", ":output"};
  char name[640];
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    snprintf(name, sizeof name, "%.560s%s", mat_mul, suffixes[i]);
    if (ipro_graph_find_tensor(graph, name) >= 0) return false;
  }
  return true;
}

/* The 2-D tensor a Transpose that swaps its two axes reads, or -1. */
static int transposed_matrix(const ipro_graph *graph, const ipro_node *transpose) {
  if (transpose->op != IPRO_OP_TRANSPOSE || transpose->n_inputs != 1 || transpose->inputs[0] < 0)
    return -1;
  int w = transpose->inputs[0];
  if (graph->tensors[w].shape.rank != 2) return -1;
  const ipro_attr *perm = ipro_node_attr(transpose, "perm");
  if (perm && (perm->count != 2 || perm->ints[0] != 1 || perm->ints[1] != 0)) return -1;
  return w;
}

ipro_status ipro_fuse_transposed_weights(ipro_graph *graph, int *fused, ipro_error *err) {
  int count = 0;
  ipro_status status = IPRO_OK;
  for (bool again = true; again && status == IPRO_OK;) {
    again = false;
    tensor_readers r = {NULL, NULL, NULL};
    status = count_readers(graph, &r, err);
    for (int m = 0; status == IPRO_OK && m < graph->n_nodes && !again; m++) {
      const ipro_node *mat_mul = &graph->nodes[m];
      if (mat_mul->op != IPRO_OP_MAT_MUL || mat_mul->n_inputs != 2 || mat_mul->n_outputs != 1)
        continue;
      int t = mat_mul->inputs[1], p = t < 0 ? -1 : graph->tensors[t].producer;
      int w =
          p < 0 || sole_reader(graph, &r, t) != m ? -1 : transposed_matrix(graph, &graph->nodes[p]);
      const ipro_tensor *a = mat_mul->inputs[0] < 0 ? NULL : &graph->tensors[mat_mul->inputs[0]];
      if (w < 0 || !a || a->shape.rank < 2 || a->dtype != graph->tensors[w].dtype ||
          a->shape.dims[a->shape.rank - 1] != graph->tensors[w].shape.dims[1] ||
          !names_free(graph, mat_mul->name))
        continue;
      status = gemm_of_transposed(graph, m, w, err);
      if (status != IPRO_OK) break;
      /* the Transpose, before the MatMul, kept its index p */
      bool *removed = calloc((size_t)graph->n_nodes + 1, sizeof(bool));
      if (!removed) {
        status = ipro_error_set(err, "out of memory fusing a program");
        break;
      }
      removed[p] = true;
      graph->tensors[t].producer = -1;
      ipro_graph_remove_nodes(graph, removed);
      free(removed);
      count++;
      again = true;
    }
    readers_free(&r);
  }
  if (fused) *fused = count;
  return status;
}
