/* Building InfoPro's decoder and classifier head as IR (see infopro_heads.h). */
#include "infopro_heads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"

typedef struct {
  ipro_graph *graph;
  const char *prefix;
  uint64_t random_state;
  ipro_start_values *start; /* what was drawn, and the normalisation's constants */
  ipro_error *err;
  bool undrawn; /* ipro_head_options' */
  bool failed;
} head_builder;

static void fail(head_builder *b, const char *what) {
  if (!b->failed) ipro_error_set(b->err, "out of memory building the InfoPro heads (%s)", what);
  b->failed = true;
}

static int tensor(head_builder *b, const char *name, ipro_tensor_kind kind, int rank,
                  const int64_t *dims) {
  char full[512];
  snprintf(full, sizeof full, "%s/%s", b->prefix, name);
  int t = ipro_graph_tensor(b->graph, full);
  if (t < 0) {
    fail(b, name);
    return -1;
  }
  ipro_tensor *x = &b->graph->tensors[t];
  x->kind = kind;
  x->dtype = IPRO_DTYPE_FLOAT;
  x->shape.rank = rank;
  for (int d = 0; d < rank; d++)
    x->shape.dims[d] = dims[d];
  return t;
}

/* Lists tensor t, just drawn in ±bound, among the start values. */
static void record_draw(head_builder *b, int t, float bound) {
  ipro_start_values *s = b->start;
  int *drawn = realloc(s->drawn, sizeof(int) * (size_t)(s->n_drawn + 1));
  if (drawn) s->drawn = drawn;
  float *bounds = realloc(s->bounds, sizeof(float) * (size_t)(s->n_drawn + 1));
  if (bounds) s->bounds = bounds;
  if (!drawn || !bounds) {
    fail(b, "the list of drawn weights");
    return;
  }
  s->drawn[s->n_drawn] = t;
  s->bounds[s->n_drawn++] = bound;
}

/* A float initializer (or constant) filled by `fill`. */
static int weights(head_builder *b, const char *name, ipro_tensor_kind kind, int rank,
                   const int64_t *dims, float bound, float constant) {
  int t = tensor(b, name, kind, rank, dims);
  if (t < 0) return -1;
  int64_t count = 1;
  for (int d = 0; d < rank; d++)
    count *= dims[d];
  ipro_tensor *x = &b->graph->tensors[t];
  x->data_bytes = sizeof(float) * (size_t)count;
  if (bound > 0) record_draw(b, t, bound);
  if (bound > 0 && b->undrawn) return t;
  float *data = malloc(x->data_bytes ? x->data_bytes : 1); /* drawn in place: no copy */
  if (!data) {
    x->data_bytes = 0;
    fail(b, name);
    return -1;
  }
  for (int64_t i = 0; i < count; i++)
    data[i] = bound > 0 ? ipro_draw_uniform(&b->random_state, bound) : constant;
  free(x->data);
  x->data = data;
  return t;
}

/* Appends node `op` reading inputs and writing one new activation; returns the node index. */
static int node(head_builder *b, const char *name, ipro_op op, const int *inputs, int n_inputs,
                int *output) {
  char full[512];
  snprintf(full, sizeof full, "%s/%s", b->prefix, name);
  int n = b->failed ? -1 : ipro_graph_add_node(b->graph, full, ipro_op_name(op), n_inputs, 1);
  if (n < 0) {
    fail(b, name);
    return -1;
  }
  b->graph->nodes[n].op = op;
  for (int i = 0; i < n_inputs; i++)
    b->graph->nodes[n].inputs[i] = inputs[i];
  snprintf(full, sizeof full, "%s:out", name);
  int t = tensor(b, full, IPRO_TENSOR_ACTIVATION, -1, NULL);
  if (t < 0) return -1;
  b->graph->tensors[t].shape.rank = -1;
  b->graph->tensors[t].producer = n;
  b->graph->nodes[n].outputs[0] = t;
  *output = t;
  return n;
}

static void set_ints(head_builder *b, int n, const char *name, const int64_t *values, int count) {
  if (n >= 0 && ipro_node_set_ints(&b->graph->nodes[n], name, values, count) != IPRO_OK)
    fail(b, name);
}
static void set_int(head_builder *b, int n, const char *name, int64_t value) {
  if (n >= 0 && ipro_node_set_int(&b->graph->nodes[n], name, value) != IPRO_OK) fail(b, name);
}
static void set_float(head_builder *b, int n, const char *name, float value) {
  if (n >= 0 && ipro_node_set_float(&b->graph->nodes[n], name, value) != IPRO_OK) fail(b, name);
}
static void set_string(head_builder *b, int n, const char *name, const char *value) {
  if (n >= 0 && ipro_node_set_string(&b->graph->nodes[n], name, value) != IPRO_OK) fail(b, name);
}

/* conv3x3 (pad 1, no bias) on x with `in` channels; returns the output tensor. */
static int conv3x3(head_builder *b, const char *name, int x, int64_t in, int64_t out,
                   int64_t stride) {
  char n1[128];
  int64_t w_dims[4] = {out, in, 3, 3};
  snprintf(n1, sizeof n1, "%s.weight", name);
  int w = weights(b, n1, IPRO_TENSOR_INITIALIZER, 4, w_dims, 1.0f / sqrtf((float)(in * 9)), 0);
  int y = -1;
  snprintf(n1, sizeof n1, "%s/Conv", name);
  int conv = node(b, n1, IPRO_OP_CONV, (int[]){x, w}, 2, &y);
  set_ints(b, conv, "kernel_shape", (int64_t[]){3, 3}, 2);
  set_ints(b, conv, "strides", (int64_t[]){stride, stride}, 2);
  set_ints(b, conv, "pads", (int64_t[]){1, 1, 1, 1}, 4);
  set_ints(b, conv, "dilations", (int64_t[]){1, 1}, 2);
  set_int(b, conv, "group", 1);
  set_string(b, conv, "auto_pad", "NOTSET");
  return y;
}

/* conv3x3 → BN → [ReLU]; returns the output tensor. */
static int conv_bn(head_builder *b, const char *name, int x, int64_t in, int64_t out,
                   int64_t stride, bool relu) {
  char n1[128];
  int64_t c_dims[1] = {out};
  int y = conv3x3(b, name, x, in, out, stride);
  int bn_inputs[5] = {y};
  const char *parts[4] = {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"};
  const float values[4] = {1, 0, 0, 1};
  for (int k = 0; k < 4; k++) {
    snprintf(n1, sizeof n1, "%s.%s", name, parts[k]);
    bn_inputs[1 + k] = weights(b, n1, IPRO_TENSOR_INITIALIZER, 1, c_dims, 0, values[k]);
  }
  snprintf(n1, sizeof n1, "%s/BatchNormalization", name);
  int bn = node(b, n1, IPRO_OP_BATCH_NORMALIZATION, bn_inputs, 5, &y);
  set_float(b, bn, "epsilon", 1e-5f);
  set_float(b, bn, "momentum", 0.9f);
  set_int(b, bn, "training_mode", 1);
  if (!relu) return y;
  snprintf(n1, sizeof n1, "%s/Relu", name);
  int z = -1;
  node(b, n1, IPRO_OP_RELU, &y, 1, &z);
  return z;
}

static int linear(head_builder *b, const char *name, int x, int64_t in, int64_t out) {
  char n1[128];
  float bound = 1.0f / sqrtf((float)in);
  snprintf(n1, sizeof n1, "%s.weight", name);
  int w = weights(b, n1, IPRO_TENSOR_INITIALIZER, 2, (int64_t[]){out, in}, bound, 0);
  snprintf(n1, sizeof n1, "%s.bias", name);
  int bias = weights(b, n1, IPRO_TENSOR_INITIALIZER, 1, (int64_t[]){out}, bound, 0);
  snprintf(n1, sizeof n1, "%s/Gemm", name);
  int y = -1;
  int gemm = node(b, n1, IPRO_OP_GEMM, (int[]){x, w, bias}, 3, &y);
  set_float(b, gemm, "alpha", 1);
  set_float(b, gemm, "beta", 1);
  set_int(b, gemm, "transA", 0);
  set_int(b, gemm, "transB", 1);
  return y;
}

/* x (channels wide) resized bilinearly to height × width with the given coordinate mode. */
static int resize(head_builder *b, const char *name, int x, int64_t channels, int64_t height,
                  int64_t width, const char *coordinates) {
  int y = -1;
  int n = node(b, name, IPRO_OP_RESIZE, &x, 1, &y);
  int64_t sizes[4] = {b->graph->batch, channels, height, width};
  set_ints(b, n, "sizes", sizes, 4);
  set_string(b, n, "mode", "linear");
  set_string(b, n, "coordinate_transformation_mode", coordinates);
  set_string(b, n, "nearest_mode", "round_prefer_floor");
  set_float(b, n, "cubic_coeff_a", -0.75f);
  set_int(b, n, "exclude_outside", 0);
  set_float(b, n, "extrapolation_value", 0);
  return y;
}

/* The reconstruction target: the image with the dataset normalisation undone (image·std + mean
 * per channel), so that its pixels are in [0, 1] like the decoder's Sigmoid. */
static int unnormalised_image(head_builder *b, int image, const ipro_head_options *o) {
  int64_t per_channel[4] = {1, o->image_channels, 1, 1};
  float std_values[4], mean_values[4];
  for (int c = 0; c < o->image_channels; c++)
    std_values[c] = o->std[c], mean_values[c] = o->mean[c];
  int std_t = tensor(b, "decoder/std", IPRO_TENSOR_CONSTANT, 4, per_channel);
  int mean_t = tensor(b, "decoder/mean", IPRO_TENSOR_CONSTANT, 4, per_channel);
  if (std_t < 0 || mean_t < 0) return -1;
  b->start->std = std_t;
  b->start->mean = mean_t;
  size_t bytes = sizeof(float) * (size_t)o->image_channels;
  if (ipro_tensor_set_data(&b->graph->tensors[std_t], std_values, bytes, b->err) != IPRO_OK ||
      ipro_tensor_set_data(&b->graph->tensors[mean_t], mean_values, bytes, b->err) != IPRO_OK)
    b->failed = true;
  int scaled, target = -1;
  node(b, "decoder/target/Mul", IPRO_OP_MUL, (int[]){image, std_t}, 2, &scaled);
  node(b, "decoder/target/Add", IPRO_OP_ADD, (int[]){scaled, mean_t}, 2, &target);
  return target;
}

/* The decoder: returns the Sigmoid output; *target gets the un-normalised image, at the
 * image's resolution (paper) or at the cut's (reduced). */
static int decoder(head_builder *b, int h, int64_t channels, int image,
                   const ipro_shape *image_shape, const ipro_head_options *o, int *target) {
  const ipro_shape cut = b->graph->tensors[h].shape; /* a copy: adding tensors moves them */
  bool smaller = cut.dims[2] != image_shape->dims[2] || cut.dims[3] != image_shape->dims[3];
  int y;
  /* A cut at the image's resolution needs no upsampling: resizing with aligned corners to the
   * same size is the identity. */
  if (o->decoder == IPRO_DECODER_REDUCED || !smaller) {
    y = conv_bn(b, "decoder/conv1", h, channels, 12, 1, true);
  } else {
    int up = resize(b, "decoder/Resize", h, channels, image_shape->dims[2], image_shape->dims[3],
                    "align_corners");
    y = conv_bn(b, "decoder/conv1", up, channels, 12, 1, true);
  }
  int z = conv3x3(b, "decoder/conv2", y, 12, o->image_channels, 1);
  int prediction = -1;
  node(b, "decoder/Sigmoid", IPRO_OP_SIGMOID, &z, 1, &prediction);
  /* Resized first, so that nothing of the image's size is built (bilinear weights sum to 1, so
   * resizing commutes with the per-channel affine map that undoes the normalisation). */
  if (o->decoder == IPRO_DECODER_REDUCED && smaller)
    image = resize(b, "decoder/target/Resize", image, o->image_channels, cut.dims[2], cut.dims[3],
                   "half_pixel");
  *target = unnormalised_image(b, image, o);
  return prediction;
}

/* The decoder of a feature vector h [N, F] (a cut inside an MLP): a linear layer to the image's
 * C·H·W pixels and a Sigmoid, compared with the flattened un-normalised image. */
static int vector_decoder(head_builder *b, int h, int64_t features, int image,
                          const ipro_shape *image_shape, const ipro_head_options *o, int *target) {
  int64_t pixels = image_shape->dims[1] * image_shape->dims[2] * image_shape->dims[3];
  int y = linear(b, "decoder/fc", h, features, pixels);
  int prediction = -1;
  node(b, "decoder/Sigmoid", IPRO_OP_SIGMOID, &y, 1, &prediction);
  int unnormalised = unnormalised_image(b, image, o);
  int flatten = node(b, "decoder/target/Flatten", IPRO_OP_FLATTEN, &unnormalised, 1, target);
  set_int(b, flatten, "axis", 1);
  return prediction;
}

/* The classifier head: returns its last layer's output (features or logits). */
static int classifier(head_builder *b, int h, int64_t channels, bool image_like,
                      const ipro_head_options *o) {
  int x = h;
  int64_t c = channels;
  for (int k = 0; image_like && k < o->convs; k++) {
    char name[64];
    snprintf(name, sizeof name, "head/conv%d", k + 1);
    int64_t out = k == 0 ? (c < 64 ? 2 * c : c) : c;
    int64_t stride = k == 0 && c < 64 ? 2 : 1;
    x = conv_bn(b, name, x, c, out, stride, true);
    c = out;
  }
  int flat = x;
  if (image_like) {
    int pooled = -1;
    node(b, "head/GlobalAveragePool", IPRO_OP_GLOBAL_AVERAGE_POOL, &x, 1, &pooled);
    int flatten = node(b, "head/Flatten", IPRO_OP_FLATTEN, &pooled, 1, &flat);
    set_int(b, flatten, "axis", 1);
  }
  int64_t width = c;
  int64_t last = o->aux_loss == IPRO_AUX_LOSS_CONTRAST ? 128 : o->classes;
  x = flat;
  for (int k = 0; k < o->fcs; k++) {
    char name[64];
    snprintf(name, sizeof name, "head/fc%d", k + 1);
    int64_t out = k == o->fcs - 1 ? last : 128;
    x = linear(b, name, x, width, out);
    width = out;
    if (k < o->fcs - 1) {
      snprintf(name, sizeof name, "head/fc%d/Relu", k + 1);
      int r = -1;
      node(b, name, IPRO_OP_RELU, &x, 1, &r);
      x = r;
    }
  }
  return x;
}

ipro_status ipro_heads_append(ipro_graph *module, int image, const ipro_shape *image_shape,
                              const ipro_head_options *options, const char *prefix,
                              ipro_loss_term terms[2], int *n_terms, ipro_start_values *start,
                              ipro_error *err) {
  *n_terms = 0;
  *start = (ipro_start_values){.mean = -1, .std = -1}; /* released by the caller, also on failure */
  if (module->n_outputs != 1) return ipro_error_set(err, "a local module has one output");
  int h = module->outputs[0];
  const ipro_tensor *ht = &module->tensors[h];
  bool image_like = ht->shape.rank == 4, tokens = ht->shape.rank == 3;
  if ((ht->shape.rank < 2 || ht->shape.rank > 4) || image_shape->rank != 4)
    return ipro_error_set(err,
                          "InfoPro heads need an activation [N, C, H, W], [N, T, D] or [N, F] at "
                          "the cut and an image input; '%s' is %d-dimensional",
                          ht->name, ht->shape.rank);
  bool channels_last = image_like && options->channels_last;
  int64_t channels = ht->shape.dims[channels_last ? 3 : tokens ? 2 : 1];
  head_builder b = {.graph = module,
                    .prefix = prefix,
                    .random_state = options->seed,
                    .start = start,
                    .err = err,
                    .undrawn = options->undrawn};
  if (channels_last) {            /* the heads read [N, H, W, C] as [N, C, H, W] */
    ipro_shape first = ht->shape; /* a copy: adding tensors moves them */
    first.dims[1] = ht->shape.dims[3];
    first.dims[2] = ht->shape.dims[1];
    first.dims[3] = ht->shape.dims[2];
    int transposed = -1;
    set_ints(&b, node(&b, "channels_first/Transpose", IPRO_OP_TRANSPOSE, &h, 1, &transposed),
             "perm", (const int64_t[]){0, 3, 1, 2}, 4);
    if (b.failed) return IPRO_ERROR;
    module->tensors[transposed].shape = first;
    h = transposed;
  }
  if (tokens) { /* the heads of a feature vector read the mean of the tokens [N, T, D] */
    ipro_shape pooled_shape = {.rank = 2, .dims = {ht->shape.dims[0], channels}};
    int pooled = -1;
    int mean = node(&b, "tokens/ReduceMean", IPRO_OP_REDUCE_MEAN, &h, 1, &pooled);
    set_ints(&b, mean, "axes", (const int64_t[]){1}, 1);
    set_int(&b, mean, "keepdims", 0);
    if (b.failed) return IPRO_ERROR;
    module->tensors[pooled].shape = pooled_shape;
    h = pooled;
  }
  if (image < 0 && options->reconstruction_weight != 0) {
    image = tensor(&b, "image", IPRO_TENSOR_ACTIVATION, 4, image_shape->dims);
    if (image < 0) return IPRO_ERROR;
    ipro_tensor *t = &module->tensors[image];
    t->is_graph_input = true;
    ipro_shape declared = *image_shape;
    declared.dims[0] = IPRO_DIM_BATCH;
    if (ipro_tensor_declare_shape(t, &declared) != IPRO_OK)
      return ipro_error_set(err, "out of memory");
    int *grown = realloc(module->inputs, sizeof(int) * (size_t)(module->n_inputs + 1));
    if (!grown) return ipro_error_set(err, "out of memory");
    module->inputs = grown;
    grown[module->n_inputs++] = image;
  }
  if (options->reconstruction_weight != 0) {
    int target = -1;
    int prediction = image_like
                         ? decoder(&b, h, channels, image, image_shape, options, &target)
                         : vector_decoder(&b, h, channels, image, image_shape, options, &target);
    if (b.failed) return IPRO_ERROR;
    terms[(*n_terms)++] = (ipro_loss_term){IPRO_LOSS_BINARY_CROSS_ENTROPY, prediction, target,
                                           options->reconstruction_weight, 0};
  }
  if (options->aux_weight != 0) {
    int head = classifier(&b, h, channels, image_like, options);
    if (b.failed) return IPRO_ERROR;
    bool contrast = options->aux_loss == IPRO_AUX_LOSS_CONTRAST;
    terms[(*n_terms)++] =
        (ipro_loss_term){contrast ? IPRO_LOSS_SUPERVISED_CONTRAST : IPRO_LOSS_CROSS_ENTROPY, head,
                         -1, options->aux_weight, 0.07f};
  }
  if (b.failed) return IPRO_ERROR;
  return ipro_graph_infer_shapes(module, module->batch, err);
}

bool ipro_heads_cut_is_channels_last(const ipro_graph *network, int tensor) {
  const ipro_tensor *t = &network->tensors[tensor];
  if (t->shape.rank != 4) return false;
  for (int n = 0; n < network->n_nodes; n++) {
    const ipro_node *node = &network->nodes[n];
    if (node->n_inputs < 1 || node->inputs[0] != tensor) continue;
    /* a LayerNormalization over the last axis alone, or a linear layer, reads the features of
     * each position from the last axis */
    if (node->op == IPRO_OP_LAYER_NORMALIZATION &&
        (ipro_node_attr_int(node, "axis", -1) == -1 || ipro_node_attr_int(node, "axis", -1) == 3))
      return true;
    if (node->op == IPRO_OP_MAT_MUL) return true;
  }
  return false;
}

/* The heads read the batch on axis 0: a map torch.export transposed to [H, W, N, C] for an
 * adaptive pooling's GatherND is a cut point every path passes through, but heads there would mix
 * the images (its classifier gave H rows of features for N labels); so would a recurrent layer's
 * [T, N, D] at a batch of T, were its first axis taken for the batch's by its extent. */
int ipro_heads_attachable_cuts(ipro_graph *network, int *cut_points, int n_cut_points) {
  int64_t batch = network->batch > 0 ? network->batch : IPRO_DIM_BATCH;
  int kept = 0;
  bool ambiguous = false;
  for (int i = 0; i < n_cut_points; i++) {
    const ipro_shape *shape = &network->tensors[cut_points[i]].shape;
    if (shape->rank < 2 || shape->rank > 4 || shape->dims[0] != batch) continue;
    for (int k = 1; k < shape->rank; k++)
      ambiguous |= network->batch > 0 && shape->dims[k] == batch;
    cut_points[kept++] = cut_points[i];
  }
  if (!ambiguous) return kept;
  /* at the next batch, the batch's axis is the one that grew */
  ipro_error err = {{0}};
  if (ipro_graph_infer_shapes(network, batch + 1, &err) == IPRO_OK) {
    int still = 0;
    for (int i = 0; i < kept; i++)
      if (network->tensors[cut_points[i]].shape.dims[0] == batch + 1)
        cut_points[still++] = cut_points[i];
    kept = still;
  }
  /* the shapes inferred at this batch before hold again: a failure here is not expected, and
   * leaves none of the cuts rather than wrong shapes */
  if (ipro_graph_infer_shapes(network, batch, &err) != IPRO_OK) return 0;
  return kept;
}
