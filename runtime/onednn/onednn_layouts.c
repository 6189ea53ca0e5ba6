/* The layouts the oneDNN backend carries activations in between its kernels (backend.h,
 * choose_layouts).
 *
 * oneDNN's fast convolution and batch normalization kernels work on channel-blocked tensors
 * (nChw16c and its 3-D and 5-D kin); a kernel that takes and gives plain NCHW reorders its
 * operands in and its results out on every run, which cost about a quarter of a ResNet training
 * step. So a tensor that only these kernels and element-wise ones touch stays channel-blocked
 * from the kernel that writes it to the kernels that read it. With a multiple of 16 channels the
 * blocked tensor has the plain one's size; otherwise its last block is padded, and the plan holds
 * the padded bytes (layout_bytes).
 *
 * How a node treats an operand:
 *   - in its own layout (ipro_onednn_carried): the X and Y of an Identity that is not a view (a
 *     reorder; a view's two ends stay plain), Conv's X and Y, ConvGradInput's dY and dX,
 *     ConvGradWeight's dY and X (ungrouped convolutions), BatchNormalization's X and Y (and the
 *     tensor it adds when fused with an Add and ReLU),
 *     BatchNormGrad's dY, X and dX, GlobalAveragePool's X and its gradient's dX; the kernel
 *     describes the tensor as it lies and reorders only where its primitive wants another
 *     layout;
 *   - as flat bytes: Relu, ipro.UnaryGrad, and Add and Sum whose operands all have the output's
 *     shape. Position i of every operand is the same element when all are in one layout, so such
 *     a kernel reads its inputs in its output's layout: an input in another layout is reordered
 *     into an intermediate first (ipro_onednn_stage_flat_inputs);
 *   - any other way: the tensor stays plain.
 * A tensor is carried channel-blocked when every node touching it treats it one of the first two
 * ways, it is a float32 activation of rank 3 to 5 whose channels fill their blocks or leave at
 * most a quarter of them as padding (12 of 16, 24 of 32, 6 of 8: the padded bytes are what the plan
 * then holds for it, layout_bytes) that is neither a graph input nor a graph output (what callers
 * bind and read stays plain; but for a local-training module's handoff, which the caller opens
 * to the backend's layouts where the blocks hold its channels without padding: backend.h,
 * choose_layouts), and it is, or is joined through element-wise nodes to, a tensor that
 * a convolution or batch normalisation reads or writes (carrying a chain of element-wise nodes
 * alone would only add reorders at its ends). Padding channels hold zeros: oneDNN's kernels and
 * reorders write them so, and every flat kernel here keeps zeros zero (ReLU and its gradient, Add,
 * Sum), over the padded count of elements. Padding trades memory for speed (DenseNet-small: its
 * arena 8.4% larger, its training step 20% shorter); IPRO_ONEDNN_PADDED_LAYOUTS=0 keeps to
 * channels that fill their blocks. The blocks are 16 channels with AVX-512 and 8 with AVX2
 * (nChw8c: oneDNN's AVX2 kernels block by 8, and its normalisations have only their reference
 * kernel for 16-channel blocks there; ipro_onednn_channel_block); without AVX2 and with
 * IPRO_ONEDNN_PLAIN_LAYOUTS=1 (for comparison) every activation stays plain.
 * A fused normalisation's ReLU mask is not an activation: it gets IPRO_ONEDNN_RELU_MASK whenever
 * its normalisation works channel-blocked (choose_relu_masks), carried operands or not. */
#include <stdlib.h>
#include <string.h>

#include "ir/forward_program.h"
#include "onednn_internal.h"

typedef enum { OPERAND_PLAIN, OPERAND_OWN_LAYOUT, OPERAND_FLAT } operand_use;

static bool ungrouped(const ipro_node *node) { return ipro_node_attr_int(node, "group", 1) == 1; }

/* Whether every tensor operand of node has output 0's shape. */
static bool operands_alike(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *y = ipro_node_output(graph, node, 0);
  if (!y) return false;
  for (int i = 0; i < node->n_inputs; i++) {
    const ipro_tensor *x = ipro_node_input(graph, node, i);
    if (!x || !ipro_shape_equal(&x->shape, &y->shape)) return false;
  }
  return true;
}

/* Whether the node's input 0 has channels that fill their blocks, without padding. */
static bool fills_blocks(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *x = ipro_node_input(graph, node, 0);
  return x && x->shape.rank >= 2 && ipro_onednn_fills_blocks(x->shape.dims[1]);
}

/* Whether the derivative of the activation op is finite at 0 (Log's, Sqrt's and Reciprocal's
 * are not). */
static bool finite_at_zero(int64_t op) {
  return op != IPRO_OP_LOG && op != IPRO_OP_SQRT && op != IPRO_OP_RECIPROCAL;
}

static operand_use use_of(const ipro_graph *graph, const ipro_node *node, bool input, int i) {
  switch (node->op) {
  /* a copy reorders between its operands' layouts; a view's two ends share their bytes, so
   * they must lie alike: plain */
  case IPRO_OP_IDENTITY:
    return i == 0 && !ipro_node_is_view(graph, node) ? OPERAND_OWN_LAYOUT : OPERAND_PLAIN;
  case IPRO_OP_CONV:
  case IPRO_OP_CONV_GRAD_INPUT:
    return ungrouped(node) && i == 0 ? OPERAND_OWN_LAYOUT : OPERAND_PLAIN;
  case IPRO_OP_CONV_GRAD_WEIGHT:
    return ungrouped(node) && input && i <= 1 ? OPERAND_OWN_LAYOUT : OPERAND_PLAIN;
  /* input 5, the tensor a fused_add_relu normalisation adds, is read as it lies */
  case IPRO_OP_BATCH_NORMALIZATION:
    return i == 0 || (input && i == 5) ? OPERAND_OWN_LAYOUT : OPERAND_PLAIN;
  case IPRO_OP_BATCH_NORM_GRAD:
    return (input ? i <= 1 : i == 0) ? OPERAND_OWN_LAYOUT : OPERAND_PLAIN;
  /* the pool's one value per channel has the same bytes blocked as plain only without padding */
  case IPRO_OP_GLOBAL_AVERAGE_POOL:
    return input && i == 0 && fills_blocks(graph, node) ? OPERAND_OWN_LAYOUT : OPERAND_PLAIN;
  case IPRO_OP_GLOBAL_POOL_GRAD:
    return !input && i == 0 &&
                   ipro_node_attr_int(node, "forward_op", -1) == IPRO_OP_GLOBAL_AVERAGE_POOL &&
                   fills_blocks(graph, node)
               ? OPERAND_OWN_LAYOUT
               : OPERAND_PLAIN;
  case IPRO_OP_RELU: return i == 0 ? OPERAND_FLAT : OPERAND_PLAIN;
  /* not where a derivative is infinite at 0 (padded channels would make 0 · ∞) */
  case IPRO_OP_UNARY_GRAD:
    return (input ? i <= 2 : i == 0) && finite_at_zero(ipro_node_attr_int(node, "forward_op", -1))
               ? OPERAND_FLAT
               : OPERAND_PLAIN;
  case IPRO_OP_ADD:
  case IPRO_OP_SUM:
    /* a Sum whose every input needed a reorder must still fit its steps */
    return (input || i == 0) && node->n_inputs <= IPRO_ONEDNN_MAX_INPUTS &&
                   operands_alike(graph, node)
               ? OPERAND_FLAT
               : OPERAND_PLAIN;
  default: return OPERAND_PLAIN;
  }
}

bool ipro_onednn_carries_layouts(void) {
  static const unsigned avx2 = dnnl_cpu_isa_avx2;
  if (ipro_onednn_switched_on("IPRO_ONEDNN_PLAIN_LAYOUTS")) return false;
  return ((unsigned)dnnl_get_effective_cpu_isa() & avx2) == avx2;
}

/* requested: the caller opened this graph input or output (backend.h, choose_layouts). */
static bool eligible(const ipro_graph *graph, const ipro_tensor *t, bool requested) {
  bool bound = t->is_graph_input || t->is_graph_output || t->producer < 0;
  if (t->dtype != IPRO_DTYPE_FLOAT || t->kind != IPRO_TENSOR_ACTIVATION || (bound && !requested) ||
      t->shape.rank < 3 || t->shape.rank > 5)
    return false;
  ipro_shape shape = t->shape;
  if (graph->batch > 0) ipro_shape_bind_batch(&shape, graph->batch);
  /* what the caller binds has the plain bytes it planned */
  if (bound) return ipro_shape_elements(&shape) > 0 && ipro_onednn_fills_blocks(shape.dims[1]);
  /* Padded blocks at most a third larger than the channels: 12 channels (the InfoPro decoder's)
   * take 16, 24 take 32, 40 take 48; 8 or 3 would double or worse their bytes (in blocks of 8,
   * 6 take 8, 3 to 5 would not). */
  int64_t block = ipro_onednn_channel_block(), channels = shape.dims[1];
  int64_t padded = (channels + block - 1) / block * block;
  if (!ipro_onednn_fills_blocks(channels) && ipro_onednn_switched_off("IPRO_ONEDNN_PADDED_LAYOUTS"))
    return false;
  return ipro_shape_elements(&shape) > 0 && channels > 0 && 3 * padded <= 4 * channels;
}

/* Union-find over tensors: the tensors an element-wise node reads and writes are one group. */
static int group_of(int *parent, int t) {
  while (parent[t] != t)
    t = parent[t] = parent[parent[t]];
  return t;
}

/* Whether some tensor of each group is read or written where it lies by a convolution or a batch
 * normalisation, which is what carrying pays for: a group of tensors that only element-wise
 * kernels touch would only gain reorders at its edges. */
static void keep_groups_near_own_layouts(const ipro_graph *graph, const bool *excluded,
                                         const uint8_t *requested, uint8_t *layouts) {
  int *parent = malloc(sizeof(int) * ((size_t)graph->n_tensors + 1));
  bool *useful = calloc((size_t)graph->n_tensors + 1, sizeof(bool));
  if (!parent || !useful) {
    memset(layouts, 0, (size_t)graph->n_tensors); /* all plain: always correct */
    free(parent), free(useful);
    return;
  }
  for (int t = 0; t < graph->n_tensors; t++)
    parent[t] = t;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (excluded && excluded[n]) continue;
    int first = -1;
    for (int i = 0; i < node->n_inputs + node->n_outputs; i++) {
      bool input = i < node->n_inputs;
      int at = input ? i : i - node->n_inputs;
      int t = input ? node->inputs[at] : node->outputs[at];
      if (t < 0 || !layouts[t]) continue;
      operand_use use = use_of(graph, node, input, at);
      if (use == OPERAND_OWN_LAYOUT && node->op != IPRO_OP_IDENTITY) useful[t] = true;
      if (use != OPERAND_FLAT) continue;
      if (first < 0)
        first = t;
      else
        parent[group_of(parent, t)] = group_of(parent, first);
    }
  }
  for (int t = 0; t < graph->n_tensors; t++)
    if (useful[t] || (requested[t] && graph->tensors[t].is_graph_output))
      useful[group_of(parent, t)] = true; /* a handoff is written as the next module reads it */
  for (int t = 0; t < graph->n_tensors; t++)
    if (layouts[t] && !useful[group_of(parent, t)]) layouts[t] = 0;
  free(parent);
  free(useful);
}

/* A fused BatchNormalization's ReLU mask (codegen/fusion.h) gets IPRO_ONEDNN_RELU_MASK, and the
 * normalisation and its gradient then both work channel-blocked, where either would otherwise
 * (its channels fill their blocks, or one of X, Z, dZ and dX is carried channel-blocked), the
 * two nodes run here, and X has spatial axes. */
static void choose_relu_masks(const ipro_graph *graph, const bool *excluded, uint8_t *layouts) {
  for (int g = 0; g < graph->n_nodes; g++) {
    const ipro_node *grad = &graph->nodes[g];
    if (grad->op != IPRO_OP_BATCH_NORM_GRAD || !ipro_node_attr_int(grad, "fused_relu", 0) ||
        grad->n_inputs < 6 || grad->inputs[5] < 0 || (excluded && excluded[g]))
      continue;
    int mask = grad->inputs[5], n = graph->tensors[mask].producer;
    const ipro_node *norm = n >= 0 ? &graph->nodes[n] : NULL;
    const ipro_tensor *x = norm ? ipro_node_input(graph, norm, 0) : NULL;
    if (!x || (excluded && excluded[n]) || x->shape.rank < 3) continue;
    bool blocked = ipro_onednn_fills_blocks(x->shape.dims[1]);
    const int operands[4] = {norm->inputs[0], norm->outputs[0], grad->inputs[0], grad->outputs[0]};
    for (int i = 0; i < 4; i++)
      blocked = blocked || (operands[i] >= 0 && layouts[operands[i]]);
    if (blocked) layouts[mask] = IPRO_ONEDNN_RELU_MASK;
  }
}

void ipro_onednn_choose_layouts(const ipro_backend *self, const ipro_graph *graph,
                                const bool *excluded, uint8_t *layouts) {
  /* the backend's own answer, fixed when it was made (the settings and the costing read it too) */
  bool carry = self->carries_layouts;
  uint8_t *requested = malloc((size_t)graph->n_tensors + 1);
  if (!requested) carry = false; /* all plain: always correct */
  for (int t = 0; t < graph->n_tensors; t++) {
    if (requested) requested[t] = layouts[t];
    layouts[t] = carry && eligible(graph, &graph->tensors[t], layouts[t] != 0)
                     ? ipro_onednn_channel_blocked_code()
                     : 0;
  }
  for (int n = 0; carry && n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    bool out = excluded && excluded[n];
    for (int i = 0; i < node->n_inputs; i++)
      if (node->inputs[i] >= 0 && (out || use_of(graph, node, true, i) == OPERAND_PLAIN))
        layouts[node->inputs[i]] = 0;
    for (int o = 0; o < node->n_outputs; o++)
      if (node->outputs[o] >= 0 && (out || use_of(graph, node, false, o) == OPERAND_PLAIN))
        layouts[node->outputs[o]] = 0;
  }
  if (carry) keep_groups_near_own_layouts(graph, excluded, requested, layouts);
  free(requested);
  choose_relu_masks(graph, excluded, layouts);
}

bool ipro_onednn_blocked_relu_mask(const ipro_onednn_kernel *kernel, int mask) {
  return kernel->layouts && mask >= 0 && kernel->layouts[mask] == IPRO_ONEDNN_RELU_MASK;
}

bool ipro_onednn_carried(const ipro_onednn_kernel *kernel, int tensor) {
  return kernel->layouts && tensor >= 0 &&
         kernel->layouts[tensor] == ipro_onednn_channel_blocked_code();
}

ipro_status ipro_onednn_layout_md(const ipro_onednn_kernel *kernel, int tensor,
                                  const dnnl_memory_desc_t *plain, dnnl_memory_desc_t *md,
                                  ipro_error *err) {
  dnnl_memory_desc_t copy = *plain; /* md may be plain itself */
  if (!ipro_onednn_carried(kernel, tensor)) {
    *md = copy;
    return IPRO_OK;
  }
  return ipro_onednn_channel_blocked_md(&copy, md, err);
}

/* The bytes of a float32 tensor of shape in the channel-blocked layout (its channels padded). */
static ipro_status channel_blocked_bytes(const ipro_shape *shape, size_t *bytes, ipro_error *err) {
  dnnl_memory_desc_t plain, blocked;
  if (ipro_onednn_plain_md(&plain, shape->rank, shape->dims, err) ||
      ipro_onednn_channel_blocked_md(&plain, &blocked, err))
    return IPRO_ERROR;
  *bytes = dnnl_memory_desc_get_size(&blocked);
  return IPRO_OK;
}

size_t ipro_onednn_layout_bytes(const ipro_backend *self, const ipro_graph *graph, int tensor,
                                uint8_t layout) {
  (void)self;
  const ipro_tensor *t = &graph->tensors[tensor];
  ipro_shape shape = t->shape;
  if (graph->batch > 0) ipro_shape_bind_batch(&shape, graph->batch);
  size_t bytes;
  ipro_error err;
  if (layout != ipro_onednn_channel_blocked_code() || channel_blocked_bytes(&shape, &bytes, &err))
    return (size_t)ipro_tensor_bytes(t);
  return bytes;
}

ipro_status ipro_onednn_flat_elements(const ipro_onednn_kernel *kernel, int tensor,
                                      const ipro_shape *shape, int64_t *count, ipro_error *err) {
  *count = ipro_shape_elements(shape);
  size_t bytes;
  if (!ipro_onednn_carried(kernel, tensor)) return IPRO_OK;
  if (channel_blocked_bytes(shape, &bytes, err)) return IPRO_ERROR;
  *count = (int64_t)(bytes / sizeof(float));
  return IPRO_OK;
}

/* The layout code of a tensor (0 plain). */
static uint8_t layout_of(const ipro_onednn_kernel *kernel, int tensor) {
  return kernel->layouts && tensor >= 0 ? kernel->layouts[tensor] : 0;
}

ipro_status ipro_onednn_stage_input(ipro_onednn_kernel *kernel, int i,
                                    const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                    ipro_error *err) {
  if (i >= IPRO_ONEDNN_MAX_INPUTS)
    return ipro_onednn_unsupported(err, "input %d in another layout (at most %d are staged)", i,
                                   IPRO_ONEDNN_MAX_INPUTS);
  size_t staged = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(to));
  if (ipro_onednn_reorder_step(kernel, from, IPRO_ONEDNN_INPUT, (size_t)i, to,
                               IPRO_ONEDNN_INTERMEDIATE, staged, err))
    return IPRO_ERROR;
  if (!kernel->staged_input) {
    kernel->staged_input = malloc(IPRO_ONEDNN_MAX_INPUTS * sizeof *kernel->staged_input);
    if (!kernel->staged_input) return ipro_error_set(err, "out of memory");
    for (int j = 0; j < IPRO_ONEDNN_MAX_INPUTS; j++)
      kernel->staged_input[j] = IPRO_ONEDNN_NOT_STAGED;
  }
  kernel->staged_input[i] = staged;
  return IPRO_OK;
}

ipro_status ipro_onednn_stage_flat_inputs(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err) {
  if (node->n_outputs < 1 || node->outputs[0] < 0 || use_of(graph, node, false, 0) != OPERAND_FLAT)
    return IPRO_OK;
  uint8_t wanted = layout_of(kernel, node->outputs[0]);
  for (int i = 0; i < node->n_inputs; i++) {
    int t = node->inputs[i];
    if (t < 0 || layout_of(kernel, t) == wanted) continue;
    ipro_shape shape;
    dnnl_memory_desc_t plain, from, to;
    if (ipro_onednn_input_shape(graph, node, i, &shape, err) ||
        ipro_onednn_plain_md(&plain, shape.rank, shape.dims, err) ||
        ipro_onednn_layout_md(kernel, t, &plain, &from, err) ||
        ipro_onednn_layout_md(kernel, node->outputs[0], &plain, &to, err) ||
        ipro_onednn_stage_input(kernel, i, &from, &to, err))
      return IPRO_ERROR;
  }
  return IPRO_OK;
}
