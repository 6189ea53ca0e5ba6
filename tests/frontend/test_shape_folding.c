/* Shape inference with a symbolic batch, constant folding of shape computations, canonical
 * attributes, and the errors for what infopro refuses. The graphs are built by hand so that each
 * expectation (a folded value, a resolved pad, a message) follows from the ONNX spec applied to
 * the few numbers written here. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "frontend/op_table.h"
#include "hand_graph.h"
#include "tests/support/check.h"

static const int64_t N = IPRO_DIM_BATCH;

static bool folded_ints_are(const ipro_tensor *tensor, int count, const int64_t *expected) {
  return tensor->kind == IPRO_TENSOR_CONSTANT && tensor->dtype == IPRO_DTYPE_INT64 &&
         ipro_shape_elements(&tensor->shape) == count &&
         (count == 0 || memcmp(tensor->data, expected, sizeof(int64_t) * (size_t)count) == 0);
}

static bool shape_is(const ipro_tensor *tensor, int rank, const int64_t *dims) {
  ipro_shape expected = hand_shape(rank, dims);
  return ipro_shape_equal(&tensor->shape, &expected);
}

/* x.view(x.size(0), -1) as exported: Shape -> Gather -> Unsqueeze -> Concat -> Reshape. */
static void check_flatten_chain(void) {
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 4, (int64_t[]){N, 4, 2, 2});
  hand_initializer(g, "zero", IPRO_DTYPE_INT64, 0, NULL, (int64_t[]){0});
  hand_int64_initializer(g, "axes0", 1, (int64_t[]){0});
  hand_int64_initializer(g, "minus_one", 1, (int64_t[]){-1});
  hand_node(g, "shape", "Shape", "x", "s");
  hand_node(g, "gather", "Gather", "s,zero", "n");
  hand_node(g, "unsqueeze", "Unsqueeze", "n,axes0", "n1");
  ipro_node *concat = hand_node(g, "concat", "Concat", "n1,minus_one", "target");
  ipro_node_set_int(concat, "axis", 0);
  hand_node(g, "reshape", "Reshape", "x,target", "y");
  hand_output(g, "y");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);

  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  CHECK(folded_ints_are(hand_tensor(g, "s"), 4, (int64_t[]){N, 4, 2, 2}));
  CHECK(folded_ints_are(hand_tensor(g, "n"), 1, (int64_t[]){N}));
  CHECK_EQ_INT(hand_tensor(g, "n")->shape.rank, 0);
  CHECK(folded_ints_are(hand_tensor(g, "target"), 2, (int64_t[]){N, -1}));
  CHECK(shape_is(hand_tensor(g, "y"), 2, (int64_t[]){N, 16}));
  CHECK_EQ_INT(hand_tensor(g, "y")->kind, IPRO_TENSOR_ACTIVATION);
  CHECK(hand_ints_are(hand_find_node(g, "reshape"), "shape", 2, (int64_t[]){N, 16}));
  CHECK(hand_ints_are(hand_find_node(g, "unsqueeze"), "axes", 1, (int64_t[]){0}));

  /* Again at a concrete batch: everything is refolded from the graph input. */
  CHECK_OK(ipro_graph_infer_shapes(g, 8, &err), &err);
  CHECK(folded_ints_are(hand_tensor(g, "s"), 4, (int64_t[]){8, 4, 2, 2}));
  CHECK(folded_ints_are(hand_tensor(g, "target"), 2, (int64_t[]){8, -1}));
  CHECK(shape_is(hand_tensor(g, "y"), 2, (int64_t[]){8, 16}));
  CHECK(hand_ints_are(hand_find_node(g, "reshape"), "shape", 2, (int64_t[]){8, 16}));
  ipro_graph_free(g);
}

/* Reshape [N, 16, 1, 1] -> [-1, target]: the -1 is the batch only when the rest matches. */
static ipro_status reshape_with_target(int64_t batch, int64_t last, ipro_shape *out,
                                       ipro_error *err) {
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 4, (int64_t[]){N, 16, 1, 1});
  hand_int64_initializer(g, "target", 2, (int64_t[]){-1, last});
  hand_node(g, "reshape", "Reshape", "x,target", "y");
  hand_output(g, "y");
  ipro_status status = ipro_graph_normalize(g, err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(g, batch, err);
  if (status == IPRO_OK) *out = hand_tensor(g, "y")->shape;
  ipro_graph_free(g);
  return status;
}

static void check_batch_rules(void) {
  ipro_error err = {{0}};
  ipro_shape shape;
  CHECK_OK(reshape_with_target(0, 16, &shape, &err), &err);
  CHECK(ipro_shape_equal(&shape, &(ipro_shape){.rank = 2, .dims = {N, 16}}));
  CHECK(reshape_with_target(0, 8, &shape, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "concrete batch size") && strstr(err.message, "'reshape'"),
            "message: %s", err.message);
  CHECK_OK(reshape_with_target(4, 8, &shape, &err), &err);
  CHECK(ipro_shape_equal(&shape, &(ipro_shape){.rank = 2, .dims = {8, 8}}));

  /* Flatten at axis 0 merges the batch with the features. */
  for (int64_t batch = 0; batch <= 4; batch += 4) {
    ipro_graph *g = hand_graph(13);
    hand_input(g, "x", 2, (int64_t[]){N, 3});
    ipro_node *flatten = hand_node(g, "flatten", "Flatten", "x", "y");
    ipro_node_set_int(flatten, "axis", 0);
    hand_output(g, "y");
    CHECK_OK(ipro_graph_normalize(g, &err), &err);
    ipro_status status = ipro_graph_infer_shapes(g, batch, &err);
    if (batch == 0) {
      CHECK(status == IPRO_ERROR && strstr(err.message, "concrete batch size"));
    } else {
      CHECK_OK(status, &err);
      CHECK(shape_is(hand_tensor(g, "y"), 2, (int64_t[]){1, 12}));
    }
    ipro_graph_free(g);
  }

  /* Resize to sizes computed from another tensor's whole shape (torch.export's
   * F.interpolate(x, size=y.shape[2:]), GhostNetV2's gate): taken once inference has folded them,
   * the batch's size following the input's at the symbolic batch and at a concrete one */
  for (int64_t batch = 0; batch <= 4; batch += 4) {
    ipro_graph *g = hand_graph(20);
    hand_input(g, "x", 4, (int64_t[]){N, 2, 3, 3});
    hand_input(g, "y", 4, (int64_t[]){N, 2, 6, 5});
    hand_node(g, "shape", "Shape", "y", "sizes");
    ipro_node *resize = hand_node(g, "resize", "Resize", "x,,,sizes", "z");
    ipro_node_set_string(resize, "mode", "nearest");
    hand_node(g, "add", "Add", "z,y", "w");
    hand_output(g, "w");
    CHECK_OK(ipro_graph_normalize(g, &err), &err);
    CHECK_OK(ipro_graph_infer_shapes(g, batch, &err), &err);
    CHECK(shape_is(hand_tensor(g, "z"), 4, (int64_t[]){batch ? batch : N, 2, 6, 5}));
    CHECK(!ipro_node_input(g, &g->nodes[1], 3)); /* taken as the attribute */
    ipro_graph_free(g);
  }
}

/* auto_pad, default strides/dilations and the kernel shape from the weights become explicit. */
static void check_canonical_windows(void) {
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 4, (int64_t[]){N, 2, 7, 6});
  hand_initializer(g, "w", IPRO_DTYPE_FLOAT, 4, (int64_t[]){4, 2, 3, 2}, NULL);
  ipro_node *conv = hand_node(g, "conv", "Conv", "x,w", "y");
  ipro_node_set_string(conv, "auto_pad", "SAME_UPPER");
  ipro_node_set_ints(conv, "strides", (int64_t[]){2, 1}, 2);
  ipro_node *pool = hand_node(g, "pool", "AveragePool", "y", "z");
  ipro_node_set_ints(pool, "kernel_shape", (int64_t[]){3, 3}, 2);
  ipro_node_set_string(pool, "auto_pad", "SAME_LOWER");
  hand_output(g, "z");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  conv = &g->nodes[0];
  pool = &g->nodes[1];
  /* height: out ceil(7/2) = 4, total pad (4-1)*2 + 3 - 7 = 2 -> 1 + 1; width: out 6, pad 1 -> 0 + 1
   * (SAME_UPPER puts the odd one at the end). */
  CHECK(shape_is(hand_tensor(g, "y"), 4, (int64_t[]){N, 4, 4, 6}));
  CHECK(hand_ints_are(conv, "pads", 4, (int64_t[]){1, 0, 1, 1}));
  CHECK(hand_ints_are(conv, "kernel_shape", 2, (int64_t[]){3, 2}));
  CHECK(hand_ints_are(conv, "dilations", 2, (int64_t[]){1, 1}));
  CHECK(strcmp(ipro_node_attr_string(conv, "auto_pad", ""), "NOTSET") == 0);
  CHECK_EQ_INT(ipro_node_attr_int(conv, "group", 0), 1);
  /* pool: stride 1, total pad 2 per axis, split evenly. */
  CHECK(shape_is(hand_tensor(g, "z"), 4, (int64_t[]){N, 4, 4, 6}));
  CHECK(hand_ints_are(pool, "pads", 4, (int64_t[]){1, 1, 1, 1}));
  CHECK(hand_ints_are(pool, "strides", 2, (int64_t[]){1, 1}));
  CHECK_EQ_INT(ipro_node_attr_int(pool, "ceil_mode", -1), 0);
  CHECK_EQ_INT(ipro_node_attr_int(pool, "count_include_pad", -1), 0);
  ipro_graph_free(g);
}

/* ConvTranspose's output_shape becomes pads and output_padding: [10, 8] from a 3x3 input with
 * strides (3, 2) and a 3x3 kernel is one row and one column beyond what the kernel covers
 * (3*2+3 = 9, 2*2+3 = 7), which is what output_padding (1, 1) gives (ONNX's
 * test_convtranspose_pad). */
static void check_conv_transpose_output_shape(void) {
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 4, (int64_t[]){N, 1, 3, 3});
  hand_initializer(g, "w", IPRO_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 3, 3}, NULL);
  ipro_node *deconv = hand_node(g, "deconv", "ConvTranspose", "x,w", "y");
  ipro_node_set_ints(deconv, "output_shape", (int64_t[]){10, 8}, 2);
  ipro_node_set_ints(deconv, "strides", (int64_t[]){3, 2}, 2);
  hand_output(g, "y");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  deconv = &g->nodes[0];
  CHECK(shape_is(hand_tensor(g, "y"), 4, (int64_t[]){N, 2, 10, 8}));
  CHECK(hand_ints_are(deconv, "pads", 4, (int64_t[]){0, 0, 0, 0}));
  CHECK(hand_ints_are(deconv, "output_padding", 2, (int64_t[]){1, 1}));
  CHECK(ipro_node_attr(deconv, "output_shape") == NULL);
  /* Inferring again (another batch) gives the same result from the canonical attributes. */
  CHECK_OK(ipro_graph_infer_shapes(g, 5, &err), &err);
  CHECK(shape_is(hand_tensor(g, "y"), 4, (int64_t[]){5, 2, 10, 8}));
  ipro_graph_free(g);
}

/* Clip's bounds and Resize's sizes (over listed axes) become attributes; Resize gets full-rank
 * scales and sizes; Upsample becomes Resize with asymmetric coordinates. */
static void check_canonical_attributes(void) {
  ipro_graph *g = hand_graph(18);
  hand_input(g, "x", 4, (int64_t[]){N, 3, 4, 5});
  float lo = -1.0f;
  hand_initializer(g, "lo", IPRO_DTYPE_FLOAT, 0, NULL, &lo);
  hand_int64_initializer(g, "sizes", 2, (int64_t[]){10, 8});
  hand_node(g, "clip", "Clip", "x,lo", "c");
  ipro_node *resize = hand_node(g, "resize", "Resize", "c,,,sizes", "r");
  ipro_node_set_ints(resize, "axes", (int64_t[]){3, -2}, 2);
  hand_output(g, "r");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  const ipro_node *clip = &g->nodes[0];
  resize = &g->nodes[1];
  CHECK(ipro_node_attr_float(clip, "min", 0) == -1.0f);
  CHECK(ipro_node_attr_float(clip, "max", 0) > 1e30f);
  CHECK(ipro_node_input(g, clip, 1) == NULL);
  CHECK(shape_is(hand_tensor(g, "r"), 4, (int64_t[]){N, 3, 8, 10}));
  CHECK(hand_ints_are(resize, "sizes", 4, (int64_t[]){N, 3, 8, 10}));
  int count;
  const float *scales = ipro_node_attr_floats(resize, "scales", &count);
  CHECK(count == 4 && scales[0] == 1.0f && scales[1] == 1.0f && scales[2] == 2.0f &&
        scales[3] == 2.0f);
  CHECK(ipro_node_attr(resize, "axes") == NULL);
  CHECK(strcmp(ipro_node_attr_string(resize, "coordinate_transformation_mode", ""), "half_pixel") ==
        0);
  ipro_graph_free(g);

  g = hand_graph(9);
  hand_input(g, "x", 4, (int64_t[]){N, 3, 4, 5});
  float up[4] = {1, 1, 2, 3};
  hand_initializer(g, "scales", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4}, up);
  hand_node(g, "up", "Upsample", "x,scales", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 2, &err), &err);
  CHECK_EQ_INT(g->nodes[0].op, IPRO_OP_RESIZE);
  CHECK(strcmp(ipro_node_attr_string(&g->nodes[0], "coordinate_transformation_mode", ""),
               "asymmetric") == 0);
  CHECK(strcmp(ipro_node_attr_string(&g->nodes[0], "nearest_mode", ""), "floor") == 0);
  CHECK(shape_is(hand_tensor(g, "y"), 4, (int64_t[]){2, 3, 8, 15}));
  ipro_graph_free(g);

  /* Upsample-7 takes its scales as an attribute. */
  g = hand_graph(7);
  hand_input(g, "x", 4, (int64_t[]){N, 3, 4, 5});
  ipro_node *upsample = hand_node(g, "up", "Upsample", "x", "y");
  ipro_node_set_floats(upsample, "scales", up, 4);
  ipro_node_set_string(upsample, "mode", "linear");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  CHECK(shape_is(hand_tensor(g, "y"), 4, (int64_t[]){N, 3, 8, 15}));
  CHECK(strcmp(ipro_node_attr_string(&g->nodes[0], "mode", ""), "linear") == 0);
  ipro_graph_free(g);
}

/* Adds node "the_node" (op_type over inputs, attributes by configure) with output y to g and
 * returns the status of normalise + infer; frees g. */
static ipro_status node_status(ipro_graph *g, const char *op_type, const char *inputs,
                               void (*configure)(ipro_node *), ipro_error *err) {
  ipro_node *node = hand_node(g, "the_node", op_type, inputs, "y");
  if (configure) configure(node);
  hand_output(g, "y");
  ipro_status status = ipro_graph_normalize(g, err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(g, 0, err);
  ipro_graph_free(g);
  return status;
}

/* A one-node graph over x [N, 3, 4, 4] (extra inputs: a graph input "lo" and initializers). */
static ipro_status one_node(const char *op_type, const char *inputs, void (*configure)(ipro_node *),
                            ipro_error *err) {
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 4, (int64_t[]){N, 3, 4, 4});
  hand_input(g, "lo", 0, NULL);
  hand_int64_initializer(g, "pads", 8, (int64_t[]){0, 0, 1, 1, 0, 0, 1, 1});
  float scales[4] = {1, 1, 2, 2};
  hand_initializer(g, "scales", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4}, scales);
  return node_status(g, op_type, inputs, configure, err);
}

static void cubic(ipro_node *node) { ipro_node_set_string(node, "mode", "cubic"); }
static void antialias(ipro_node *node) { ipro_node_set_int(node, "antialias", 1); }
static void reflect(ipro_node *node) { ipro_node_set_string(node, "mode", "reflect"); }
static void unknown_attribute(ipro_node *node) { ipro_node_set_int(node, "fancy", 1); }
static void bad_auto_pad(ipro_node *node) {
  ipro_node_set_string(node, "auto_pad", "SAME");
  ipro_node_set_ints(node, "kernel_shape", (int64_t[]){2, 2}, 2);
}

static void check_refusals(void) {
  ipro_error err = {{0}};
  struct {
    const char *op_type, *inputs;
    void (*configure)(ipro_node *);
    const char *phrase;
  } cases[] = {
      {"Clip", "x,x", NULL, "bound 'x' has shape [N,3,4,4]; one value is required"},
      {"Resize", "x,,scales", cubic, "mode 'cubic' is not supported"},
      {"Resize", "x,,scales", antialias, "antialias=1 is not supported"},
      {"Pad", "x,pads", reflect, "mode 'reflect' is not supported"},
      {"Relu", "x", unknown_attribute, "attribute 'fancy' is not supported"},
      {"MaxPool", "x", bad_auto_pad, "auto_pad 'SAME' is not supported"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ipro_status status = one_node(cases[i].op_type, cases[i].inputs, cases[i].configure, &err);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "node 'the_node' (%s): ", cases[i].op_type);
    CHECK_MSG(status == IPRO_ERROR && strstr(err.message, prefix) == err.message &&
                  strstr(err.message, cases[i].phrase),
              "%s: expected \"%s%s...\", got \"%s\"", cases[i].op_type, prefix, cases[i].phrase,
              err.message);
  }
  /* The same Pad with the default mode is accepted, and so is Clip with a bound that is a graph
   * input of one value (read at run time). */
  CHECK_OK(one_node("Pad", "x,pads", NULL, &err), &err);
  CHECK_OK(one_node("Clip", "x,lo", NULL, &err), &err);
}

/* One LSTM, GRU or Col2Im node over X [5, N, 2] with W [1, 12, 2] and R [1, 12, 3] (an LSTM of 3
 * hidden units), or columns C [N, 4, 4] with image_shape and block_shape (the initializers "image"
 * and "block" given). */
static ipro_status sequence_node(const char *op_type, const char *inputs, const int64_t *image,
                                 const int64_t *block, void (*configure)(ipro_node *),
                                 ipro_error *err) {
  ipro_graph *g = hand_graph(22);
  hand_input(g, "x", 3, (int64_t[]){5, N, 2});
  hand_input(g, "columns", 3, (int64_t[]){N, 4, 4});
  float w[24] = {0}, r[36] = {0};
  hand_initializer(g, "w", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 12, 2}, w);
  hand_initializer(g, "r", IPRO_DTYPE_FLOAT, 3, (int64_t[]){1, 12, 3}, r);
  hand_int64_initializer(g, "image", 2, image);
  hand_int64_initializer(g, "block", 2, block);
  return node_status(g, op_type, inputs, configure, err);
}

static void with_clip(ipro_node *node) { ipro_node_set_float(node, "clip", 1.0f); }
static void unknown_activation(ipro_node *node) {
  ipro_node_set_string(node, "activations", "Foo,Tanh,Tanh");
}
static void three_activations(ipro_node *node) {
  ipro_node_set_string(node, "activations", "Sigmoid,Tanh,Tanh");
}
static void layout_two(ipro_node *node) { ipro_node_set_int(node, "layout", 2); }
static void four_hidden(ipro_node *node) { ipro_node_set_int(node, "hidden_size", 4); }

/* LSTM, GRU and Col2Im refuse what they do not run with a message naming the node, and Col2Im
 * refuses windows whose counts overflow int64 (an image of 2^62 × 2^62 positions once multiplied
 * past it), rather than computing with a wrapped count. */
static void check_sequence_and_fold_refusals(void) {
  ipro_error err = {{0}};
  const int64_t small[2] = {2, 2}, huge[2] = {INT64_C(1) << 62, INT64_C(1) << 62};
  const int64_t five[2] = {5, 5}, four[2] = {4, 4}, one[2] = {1, 1};
  struct {
    const char *op_type, *inputs;
    const int64_t *image, *block;
    void (*configure)(ipro_node *);
    const char *phrase;
  } cases[] = {
      {"LSTM", "x,w,r", four, small, with_clip, "clip (bounding the activations' inputs)"},
      {"LSTM", "x,w,r", four, small, unknown_activation, "activation 'Foo' is not supported"},
      {"LSTM", "x,w,r", four, small, layout_two, "layout 2; 0 or 1 expected"},
      {"LSTM", "x,w,r", four, small, four_hidden, "W has shape [1,12,2]; [1,16,2] expected"},
      {"GRU", "x,w,r", four, small, three_activations, "3 activations; 2 per direction expected"},
      {"Col2Im", "columns,image,block", four, five, NULL, "a block does not fit the image"},
      {"Col2Im", "columns,image,block", huge, one, NULL, "do not fit int64"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ipro_status status = sequence_node(cases[i].op_type, cases[i].inputs, cases[i].image,
                                       cases[i].block, cases[i].configure, &err);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "node 'the_node' (%s): ", cases[i].op_type);
    CHECK_MSG(status == IPRO_ERROR && strstr(err.message, prefix) == err.message &&
                  strstr(err.message, cases[i].phrase),
              "%s (case %zu): expected \"%s...%s...\", got \"%s\"", cases[i].op_type, i, prefix,
              cases[i].phrase, err.message);
  }
  /* the same nodes at sizes that fit are accepted: an LSTM of 3 hidden units, and a fold of
   * 2 × 2 blocks (4 values) at the 2 × 2 positions of a [3, 3] image (C [N, 4, 4]) */
  const int64_t three[2] = {3, 3};
  CHECK_OK(sequence_node("LSTM", "x,w,r", four, small, NULL, &err), &err);
  CHECK_OK(sequence_node("Col2Im", "columns,image,block", three, small, NULL, &err), &err);
}

/* A convolution's absent bias as PyTorch's torch.export-based exporter writes it (a
 * Constant's value is kind CONSTANT, as the loader leaves it),
 * Expand(CastLike(0.0, x), Shape(W)[0:1]), folds to a float constant [C_out] (ONNX spec: Expand
 * broadcasts its input to the shape; CastLike converts to the second input's type); an Expand
 * broadcasting [2, 1] int64 to [2, 3] repeats each row; on an activation or a parameter it is
 * left to run. */
static void check_expand_cast_like(void) {
  ipro_graph *g = hand_graph(20);
  hand_input(g, "x", 4, (int64_t[]){N, 2, 4, 4});
  hand_initializer(g, "w", IPRO_DTYPE_FLOAT, 4, (int64_t[]){3, 2, 1, 1}, NULL);
  /* a Constant node's value, as the loader leaves it */
  int zero = hand_initializer(g, "zero", IPRO_DTYPE_DOUBLE, 0, NULL, (double[]){0.0});
  g->tensors[zero].kind = IPRO_TENSOR_CONSTANT;
  hand_int64_initializer(g, "one", 1, (int64_t[]){1});
  hand_initializer(g, "column", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 1}, (int64_t[]){7, -5});
  hand_int64_initializer(g, "wide", 2, (int64_t[]){2, 3});
  ipro_node *shape = hand_node(g, "shape", "Shape", "w", "w_shape");
  ipro_node_set_int(shape, "end", 1);
  hand_node(g, "ones", "Expand", "w_shape,one", "bias_shape");
  hand_node(g, "cast", "CastLike", "zero,x", "zero_like_x");
  hand_node(g, "bias", "Expand", "zero_like_x,bias_shape", "b");
  hand_node(g, "rows", "Expand", "column,wide", "repeated");
  hand_node(g, "conv", "Conv", "x,w,b", "y");
  hand_output(g, "y");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  const ipro_tensor *b = hand_tensor(g, "b");
  CHECK(b->kind == IPRO_TENSOR_CONSTANT && b->dtype == IPRO_DTYPE_FLOAT &&
        shape_is(b, 1, (int64_t[]){3}) && b->data_bytes == 3 * sizeof(float) &&
        ((const float *)b->data)[0] == 0.0f && ((const float *)b->data)[2] == 0.0f);
  CHECK(folded_ints_are(hand_tensor(g, "repeated"), 6, (int64_t[]){7, 7, 7, -5, -5, -5}));
  CHECK(shape_is(hand_tensor(g, "repeated"), 2, (int64_t[]){2, 3}));
  CHECK(shape_is(hand_tensor(g, "y"), 4, (int64_t[]){N, 3, 4, 4}));
  ipro_graph_free(g);

  /* on a computed tensor, or a parameter (which training changes), Expand is an op that runs */
  g = hand_graph(20);
  hand_input(g, "x", 3, (int64_t[]){N, 1, 3});
  hand_initializer(g, "p", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3}, NULL);
  hand_int64_initializer(g, "wide", 3, (int64_t[]){1, 2, 3});
  hand_node(g, "grow", "Expand", "x,wide", "y");
  hand_node(g, "grow_p", "Expand", "p,wide", "q");
  hand_node(g, "sum", "Add", "y,q", "z");
  hand_output(g, "z");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  CHECK(hand_tensor(g, "y")->kind == IPRO_TENSOR_ACTIVATION &&
        shape_is(hand_tensor(g, "y"), 3, (int64_t[]){N, 2, 3}));
  CHECK(hand_tensor(g, "q")->kind == IPRO_TENSOR_ACTIVATION &&
        shape_is(hand_tensor(g, "q"), 3, (int64_t[]){1, 2, 3}));
  ipro_graph_free(g);

  /* a cast of a computed tensor to its own type (torch.export's type_as in RMSNorm: CastLike of
   * x like x) is an Identity, a view; a cast to another type stays a cast */
  g = hand_graph(20);
  hand_input(g, "x", 2, (int64_t[]){N, 3});
  hand_node(g, "relu", "Relu", "x", "r");
  hand_node(g, "type_as", "CastLike", "r,x", "same");
  ipro_node *to_float = hand_node(g, "to_float", "Cast", "same", "still");
  ipro_node_set_int(to_float, "to", IPRO_DTYPE_FLOAT);
  ipro_node *to_int = hand_node(g, "to_int", "Cast", "still", "whole");
  ipro_node_set_int(to_int, "to", IPRO_DTYPE_INT64);
  hand_output(g, "whole");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  const ipro_node *same = &g->nodes[hand_tensor(g, "same")->producer];
  const ipro_node *still = &g->nodes[hand_tensor(g, "still")->producer];
  CHECK(same->op == IPRO_OP_IDENTITY && same->n_inputs == 1 && still->op == IPRO_OP_IDENTITY);
  CHECK(g->nodes[hand_tensor(g, "whole")->producer].op == IPRO_OP_CAST &&
        hand_tensor(g, "whole")->dtype == IPRO_DTYPE_INT64);
  ipro_graph_free(g);

  /* ReLU6 as that exporter writes it: Clip(x, CastLike(0.0, x), CastLike(6.0, x)); the bounds
   * fold and become Clip's attributes (training reads them there); Cast(to int64) of a constant
   * folds toward zero */
  g = hand_graph(20);
  hand_input(g, "x", 2, (int64_t[]){N, 3});
  int low = hand_initializer(g, "low", IPRO_DTYPE_DOUBLE, 0, NULL, (double[]){0.0});
  int high = hand_initializer(g, "high", IPRO_DTYPE_DOUBLE, 0, NULL, (double[]){6.0});
  int real =
      hand_initializer(g, "real", IPRO_DTYPE_FLOAT, 1, (int64_t[]){2}, (float[]){2.7f, -2.7f});
  g->tensors[low].kind = g->tensors[high].kind = g->tensors[real].kind = IPRO_TENSOR_CONSTANT;
  hand_node(g, "low_like", "CastLike", "low,x", "low_x");
  hand_node(g, "high_like", "CastLike", "high,x", "high_x");
  const ipro_node *clip = hand_node(g, "relu6", "Clip", "x,low_x,high_x", "y");
  ipro_node_set_int(hand_node(g, "truncate", "Cast", "real", "whole"), "to", IPRO_DTYPE_INT64);
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  CHECK(ipro_node_attr_float(clip, "min", -1) == 0.0f &&
        ipro_node_attr_float(clip, "max", -1) == 6.0f);
  CHECK(!ipro_node_input(g, clip, 1) && !ipro_node_input(g, clip, 2));
  CHECK(folded_ints_are(hand_tensor(g, "whole"), 2, (int64_t[]){2, -2}));
  ipro_graph_free(g);

  /* ONNX's Slice on a constant folds (the spec's clamping: ends past the end, negative steps) */
  g = hand_graph(20);
  hand_input(g, "x", 2, (int64_t[]){N, 3});
  int dims =
      hand_initializer(g, "dims", IPRO_DTYPE_INT64, 1, (int64_t[]){4}, (int64_t[]){10, 20, 30, 40});
  g->tensors[dims].kind = IPRO_TENSOR_CONSTANT;
  hand_int64_initializer(g, "one", 1, (int64_t[]){1});
  hand_int64_initializer(g, "big", 1, (int64_t[]){1000});
  hand_int64_initializer(g, "last", 1, (int64_t[]){-1});
  hand_int64_initializer(g, "minus_two", 1, (int64_t[]){-2});
  hand_int64_initializer(g, "before", 1, (int64_t[]){-1000});
  hand_node(g, "tail", "Slice", "dims,one,big", "tail");
  hand_node(g, "backwards", "Slice", "dims,last,before,,minus_two", "backwards");
  hand_node(g, "relu", "Relu", "x", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  CHECK(folded_ints_are(hand_tensor(g, "tail"), 3, (int64_t[]){20, 30, 40}));
  CHECK(folded_ints_are(hand_tensor(g, "backwards"), 2, (int64_t[]){40, 20}));
  ipro_graph_free(g);

  /* a Slice of the whole batch (0 to INT64_MAX, step 1: torch.export's `x[:, 1:]`) infers at the
   * symbolic batch, the batch kept symbolic (any other slice of it is refused: check_refusals) */
  g = hand_graph(20);
  hand_input(g, "x", 2, (int64_t[]){N, 3});
  hand_int64_initializer(g, "starts", 2, (int64_t[]){0, 1});
  hand_int64_initializer(g, "ends", 2, (int64_t[]){INT64_MAX, 3});
  hand_int64_initializer(g, "axes", 2, (int64_t[]){0, 1});
  hand_int64_initializer(g, "steps", 2, (int64_t[]){1, 1});
  hand_node(g, "columns", "Slice", "x,starts,ends,axes,steps", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  const ipro_shape *columns = &hand_tensor(g, "y")->shape;
  CHECK_MSG(columns->rank == 2 && columns->dims[0] == N && columns->dims[1] == 2,
            "the whole batch's slice: [%lld, %lld]", (long long)columns->dims[0],
            (long long)columns->dims[1]);
  ipro_graph_free(g);

  /* attention's reshape target as exported: batch × heads, folded at a concrete batch (ONNX's
   * integer Mul, Add, Sub and Div, Div truncating); refused, by name, while the batch is
   * symbolic */
  g = hand_graph(20);
  hand_input(g, "x", 3, (int64_t[]){N, 4, 6});
  hand_int64_initializer(g, "heads", 1, (int64_t[]){2});
  hand_int64_initializer(g, "minus_one", 1, (int64_t[]){-1});
  hand_int64_initializer(g, "seven", 1, (int64_t[]){7});
  ipro_node *size = hand_node(g, "size", "Shape", "x", "n");
  ipro_node_set_int(size, "end", 1);
  hand_node(g, "times", "Mul", "n,heads", "nh");
  hand_node(g, "less", "Sub", "seven,heads", "five");
  hand_node(g, "over", "Div", "seven,heads", "three");
  ipro_node_set_int(hand_node(g, "target", "Concat", "nh,minus_one", "target"), "axis", 0);
  hand_node(g, "split", "Reshape", "x,target", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 3, &err), &err);
  CHECK(folded_ints_are(hand_tensor(g, "nh"), 1, (int64_t[]){6}));
  CHECK(folded_ints_are(hand_tensor(g, "five"), 1, (int64_t[]){5}));
  CHECK(folded_ints_are(hand_tensor(g, "three"), 1, (int64_t[]){3}));
  CHECK(shape_is(hand_tensor(g, "y"), 2, (int64_t[]){6, 12}));
  CHECK(ipro_graph_infer_shapes(g, 0, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "'times'") && strstr(err.message, "batch"),
            "integer arithmetic on the symbolic batch: %s", err.message);
  ipro_graph_free(g);

  /* what a model may hold that would overflow or read out of range is refused by name: integer
   * arithmetic past 64 bits, slicing the symbolic batch, a constant Gather index outside its
   * dimension, also the last of 5,000 (more than are folded; the gradient once indexed by it) */
  static const struct {
    const char *op, *inputs, *node;
  } refused[] = {
      {"Mul", "huge,two", "overflow"},
      {"Slice", "x,zero,one", "batch_slice"},
      {"Gather", "x,five", "far_gather"},
      {"Gather", "x,many", "far_among_many"},
  };
  static int64_t many_indices[5000];
  for (int i = 0; i < 5000; i++)
    many_indices[i] = i % 3;
  many_indices[4999] = 3;
  for (size_t r = 0; r < sizeof refused / sizeof refused[0]; r++) {
    g = hand_graph(20);
    hand_input(g, "x", 2, (int64_t[]){N, 3});
    hand_int64_initializer(g, "huge", 1, (int64_t[]){INT64_MAX});
    hand_int64_initializer(g, "two", 1, (int64_t[]){2});
    hand_int64_initializer(g, "zero", 1, (int64_t[]){0});
    hand_int64_initializer(g, "one", 1, (int64_t[]){1});
    int five = hand_initializer(g, "five", IPRO_DTYPE_INT64, 0, NULL, (int64_t[]){5});
    g->tensors[five].kind = IPRO_TENSOR_CONSTANT;
    int many = hand_initializer(g, "many", IPRO_DTYPE_INT64, 1, (int64_t[]){5000}, many_indices);
    g->tensors[many].kind = IPRO_TENSOR_CONSTANT;
    ipro_node *n = hand_node(g, refused[r].node, refused[r].op, refused[r].inputs, "y");
    if (strcmp(refused[r].op, "Gather") == 0) ipro_node_set_int(n, "axis", 1);
    hand_output(g, "y");
    CHECK_OK(ipro_graph_normalize(g, &err), &err);
    CHECK(ipro_graph_infer_shapes(g, 0, &err) == IPRO_ERROR);
    CHECK_MSG(strstr(err.message, refused[r].node), "%s: %s", refused[r].node, err.message);
    printf("refused: %s\n", err.message);
    ipro_graph_free(g);
  }
}

/* Range(start, limit, delta) of three scalar initializers, inferred at batch 8; NULL with err
 * set when refused. The caller frees the graph. */
static ipro_graph *range_of(ipro_dtype dtype, const void *start, const void *limit,
                            const void *delta, ipro_error *err) {
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 2, (int64_t[]){N, 4});
  /* Constant nodes' values, as exporters write Range's bounds (a float initializer would be a
   * parameter, trained, never folded) */
  g->tensors[hand_initializer(g, "start", dtype, 0, NULL, start)].kind = IPRO_TENSOR_CONSTANT;
  g->tensors[hand_initializer(g, "limit", dtype, 0, NULL, limit)].kind = IPRO_TENSOR_CONSTANT;
  g->tensors[hand_initializer(g, "delta", dtype, 0, NULL, delta)].kind = IPRO_TENSOR_CONSTANT;
  hand_node(g, "the_node", "Range", "start,limit,delta", "r");
  hand_node(g, "relu", "Relu", "x", "y");
  hand_output(g, "y");
  if (ipro_graph_normalize(g, err) != IPRO_OK || ipro_graph_infer_shapes(g, 8, err) != IPRO_OK) {
    ipro_graph_free(g);
    return NULL;
  }
  return g;
}

/* Range folds as ONNX's operator documentation works its examples: (3, 9, 3) -> [3, 6] and
 * (10, 4, -2) -> [10, 8, 6]; an empty range when delta points away from limit; float bounds
 * (1, 2, 0.5) -> [1, 1.5]. Its length from the batch, Range(0, Shape(x)[0], 1), is the batch
 * (torch.export's as_strided indices), and Unsqueeze reads axes computed by a Range once they
 * fold (torch.export's GroupNorm: Unsqueeze(weight, Range(1, 3, 1)) -> [C, 1, 1]). Refused by
 * name: delta 0, more than 4096 elements, bounds computed at run time. */
static void check_range(void) {
  ipro_error err = {{0}};
  struct {
    int64_t start, limit, delta;
    int count;
    int64_t expected[3];
  } cases[] = {{3, 9, 3, 2, {3, 6}}, {10, 4, -2, 3, {10, 8, 6}}, {4, 10, -1, 0, {0}}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ipro_graph *g =
        range_of(IPRO_DTYPE_INT64, &cases[i].start, &cases[i].limit, &cases[i].delta, &err);
    CHECK_MSG(g != NULL, "Range(%lld, %lld, %lld): %s", (long long)cases[i].start,
              (long long)cases[i].limit, (long long)cases[i].delta, err.message);
    if (g)
      CHECK_MSG(folded_ints_are(hand_tensor(g, "r"), cases[i].count, cases[i].expected),
                "Range(%lld, %lld, %lld) folded wrong", (long long)cases[i].start,
                (long long)cases[i].limit, (long long)cases[i].delta);
    ipro_graph_free(g);
  }
  float fstart = 1, flimit = 2, fdelta = 0.5f;
  ipro_graph *g = range_of(IPRO_DTYPE_FLOAT, &fstart, &flimit, &fdelta, &err);
  CHECK_MSG(g != NULL, "float Range: %s", err.message);
  if (g) {
    const ipro_tensor *r = hand_tensor(g, "r");
    CHECK(r->dtype == IPRO_DTYPE_FLOAT && ipro_shape_elements(&r->shape) == 2 && r->data &&
          ((const float *)r->data)[0] == 1.0f && ((const float *)r->data)[1] == 1.5f);
  }
  ipro_graph_free(g);
  int64_t zero = 0, one = 1, big = 1 << 20;
  CHECK(range_of(IPRO_DTYPE_INT64, &zero, &one, &zero, &err) == NULL &&
        strstr(err.message, "node 'the_node' (Range): delta must not be 0"));
  CHECK(range_of(IPRO_DTYPE_INT64, &zero, &big, &one, &err) == NULL &&
        strstr(err.message, "more than 4096 elements"));
  /* 2^63 elements: limit - start is INT64_MIN and delta -1, whose quotient traps */
  int64_t lowest = INT64_MIN, minus_one = -1;
  CHECK(range_of(IPRO_DTYPE_INT64, &zero, &lowest, &minus_one, &err) == NULL &&
        strstr(err.message, "more than 4096 elements"));

  /* the batch's length, and axes computed by a Range */
  g = hand_graph(13);
  hand_input(g, "x", 2, (int64_t[]){N, 4});
  hand_initializer(g, "zero", IPRO_DTYPE_INT64, 0, NULL, &zero);
  hand_initializer(g, "one", IPRO_DTYPE_INT64, 0, NULL, &one);
  int64_t three = 3;
  hand_initializer(g, "three", IPRO_DTYPE_INT64, 0, NULL, &three);
  float weight[4] = {1, 2, 3, 4};
  hand_initializer(g, "weight", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4}, weight);
  hand_node(g, "shape", "Shape", "x", "s");
  hand_node(g, "batch", "Gather", "s,zero", "n");
  hand_node(g, "rows", "Range", "zero,n,one", "r");
  hand_node(g, "axes", "Range", "one,three,one", "a");
  hand_node(g, "unsqueeze", "Unsqueeze", "weight,a", "w3");
  hand_node(g, "relu", "Relu", "x", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  CHECK(shape_is(hand_tensor(g, "r"), 1, (int64_t[]){N}));
  CHECK(shape_is(hand_tensor(g, "w3"), 3, (int64_t[]){4, 1, 1}));
  CHECK_OK(ipro_graph_infer_shapes(g, 8, &err), &err);
  CHECK(folded_ints_are(hand_tensor(g, "r"), 8, (int64_t[]){0, 1, 2, 3, 4, 5, 6, 7}));
  CHECK(shape_is(hand_tensor(g, "w3"), 3, (int64_t[]){4, 1, 1}));
  ipro_graph_free(g);

  /* bounds computed at run time (a graph input) */
  g = hand_graph(13);
  hand_input(g, "x", 2, (int64_t[]){N, 4});
  hand_typed_input(g, "limit", IPRO_DTYPE_INT64, 0, NULL);
  hand_initializer(g, "zero", IPRO_DTYPE_INT64, 0, NULL, &zero);
  hand_initializer(g, "one", IPRO_DTYPE_INT64, 0, NULL, &one);
  hand_node(g, "the_node", "Range", "zero,limit,one", "r");
  hand_output(g, "r");
  ipro_status status = ipro_graph_normalize(g, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(g, 8, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "computed at run time"), "got \"%s\"",
            err.message);
  ipro_graph_free(g);
}

/* Mod, Equal and Where fold on constants as ONNX's operator documentation works its examples:
 * Mod of [-4, 7, 5, 4, -7, 8] by [2, -3, 8, -2, 3, 5] is [0, -2, 5, 0, 2, 3] (the divisor's
 * sign) and, with fmod = 1, [0, 1, 5, 0, -1, 3] (the dividend's); Where([[1, 0], [1, 1]],
 * [[1, 2], [3, 4]], [[9, 8], [7, 6]]) is [[1, 8], [3, 4]]. TorchScript's Expand target
 * Where(Equal(shape, -1), ones, shape) keeps the symbolic batch (which is never -1). */
static void check_mod_equal_where(void) {
  ipro_error err = {{0}};
  for (int fmod = 0; fmod < 2; fmod++) {
    ipro_graph *g = hand_graph(13);
    hand_input(g, "x", 2, (int64_t[]){N, 4});
    hand_int64_initializer(g, "a", 6, (int64_t[]){-4, 7, 5, 4, -7, 8});
    hand_int64_initializer(g, "b", 6, (int64_t[]){2, -3, 8, -2, 3, 5});
    ipro_node_set_int(hand_node(g, "mod", "Mod", "a,b", "m"), "fmod", fmod);
    hand_node(g, "relu", "Relu", "x", "y");
    hand_output(g, "y");
    CHECK_OK(ipro_graph_normalize(g, &err), &err);
    CHECK_OK(ipro_graph_infer_shapes(g, 8, &err), &err);
    const int64_t python[6] = {0, -2, 5, 0, 2, 3}, c[6] = {0, 1, 5, 0, -1, 3};
    CHECK_MSG(folded_ints_are(hand_tensor(g, "m"), 6, fmod ? c : python), "Mod, fmod %d", fmod);
    ipro_graph_free(g);
  }
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 2, (int64_t[]){N, 4});
  hand_initializer(g, "cond", IPRO_DTYPE_BOOL, 2, (int64_t[]){2, 2}, (uint8_t[]){1, 0, 1, 1});
  hand_initializer(g, "xs", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 2}, (int64_t[]){1, 2, 3, 4});
  hand_initializer(g, "ys", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 2}, (int64_t[]){9, 8, 7, 6});
  hand_node(g, "where", "Where", "cond,xs,ys", "w");
  /* Expand's target as TorchScript writes it: Where(Equal(shape, -1), ones, shape) */
  hand_int64_initializer(g, "minus", 3, (int64_t[]){-1, -1, -1});
  hand_int64_initializer(g, "ones", 3, (int64_t[]){1, 1, 1});
  hand_int64_initializer(g, "last", 1, (int64_t[]){-1});
  hand_node(g, "shape", "Shape", "x", "s");
  ipro_node_set_int(hand_node(g, "concat", "Concat", "s,last", "target"), "axis", 0);
  hand_node(g, "equal", "Equal", "target,minus", "is_minus");
  hand_node(g, "choose", "Where", "is_minus,ones,target", "expand_to");
  hand_node(g, "relu", "Relu", "x", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  CHECK(folded_ints_are(hand_tensor(g, "w"), 4, (int64_t[]){1, 8, 3, 4}));
  CHECK(folded_ints_are(hand_tensor(g, "expand_to"), 3, (int64_t[]){N, 4, 1}));
  CHECK_OK(ipro_graph_infer_shapes(g, 8, &err), &err);
  CHECK(folded_ints_are(hand_tensor(g, "expand_to"), 3, (int64_t[]){8, 4, 1}));
  ipro_graph_free(g);
}

static bool folded_floats_are(const ipro_tensor *tensor, int count, const float *expected) {
  return tensor->kind == IPRO_TENSOR_CONSTANT && tensor->dtype == IPRO_DTYPE_FLOAT &&
         ipro_shape_elements(&tensor->shape) == count &&
         memcmp(tensor->data, expected, sizeof(float) * (size_t)count) == 0;
}

/* A float constant that is no parameter (a Constant node's value, as exporters write them). */
static void float_constant(ipro_graph *g, const char *name, int rank, const int64_t *dims,
                           const float *values) {
  int t = hand_initializer(g, name, IPRO_DTYPE_FLOAT, rank, dims, values);
  g->tensors[t].kind = IPRO_TENSOR_CONSTANT;
}

/* What TorchScript's Swin Transformer computes each forward pass from shapes and zeros, folded as
 * ONNX's operator documentation works its examples: ScatterND of [1, ..., 8] at [[4], [3], [1],
 * [7]] by [9, 10, 11, 12] is [1, 11, 3, 10, 9, 6, 7, 12]; Pow([1, 2, 3], [4, 5, 6]) is [1, 32,
 * 729] and Pow([[1, 2, 3], [4, 5, 6]], [1, 2, 3]) [[1, 4, 27], [4, 25, 216]]; Not of Equal([0, 3,
 * 0], 0) is [0, 1, 0]; int64 [[1, 2, 3], [4, 5, 6]] transposed is [[1, 4], [2, 5], [3, 6]]; and
 * Pad reads pads another node computes once it folds; Max and Min of [3, 2, 1], [1, 4, 4] and
 * [2, 5, 3] are [3, 5, 4] and [1, 2, 1] (int64), and the Max of one tensor is that tensor; GatherND
 * of [[0, 1], [2, 3]] at [[0, 0], [1, 1]] is [0, 3] and at [[1], [0]] [[2, 3], [0, 1]]; Sub of
 * [1, 2, 3] and [3, 2, 1] is [-2, 0, 2] and Div of [3, 4] by [1, 2] is [3, 2] (reals fold too: the
 * mask's difference of two constants), and a Where of 5,000 elements folds (the mask at 64×64 has
 * 38,416). Refused by message: an index outside the data, and Pow of an integer base. */
static void check_swin_folds(void) {
  ipro_error err = {{0}};
  ipro_graph *g = hand_graph(18);
  hand_input(g, "x", 4, (int64_t[]){N, 3, 4, 4});
  float_constant(g, "data", 1, (int64_t[]){8}, (float[]){1, 2, 3, 4, 5, 6, 7, 8});
  hand_initializer(g, "indices", IPRO_DTYPE_INT64, 2, (int64_t[]){4, 1}, (int64_t[]){4, 3, 1, 7});
  float_constant(g, "updates", 1, (int64_t[]){4}, (float[]){9, 10, 11, 12});
  hand_node(g, "scatter", "ScatterND", "data,indices,updates", "scattered");
  float_constant(g, "base", 1, (int64_t[]){3}, (float[]){1, 2, 3});
  float_constant(g, "exponent", 1, (int64_t[]){3}, (float[]){4, 5, 6});
  float_constant(g, "bases", 2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
  hand_node(g, "pow", "Pow", "base,exponent", "powers");
  hand_node(g, "pow_broadcast", "Pow", "bases,base", "broadcast_powers");
  float_constant(g, "mask", 1, (int64_t[]){3}, (float[]){0, 3, 0});
  float_constant(g, "zero", 0, NULL, (float[]){0});
  hand_node(g, "equal", "Equal", "mask,zero", "is_zero");
  hand_node(g, "not", "Not", "is_zero", "is_not_zero");
  hand_initializer(g, "matrix", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 3},
                   (int64_t[]){1, 2, 3, 4, 5, 6});
  ipro_node_set_ints(hand_node(g, "transpose", "Transpose", "matrix", "transposed"), "perm",
                     (int64_t[]){1, 0}, 2);
  hand_int64_initializer(g, "m0", 3, (int64_t[]){3, 2, 1});
  hand_int64_initializer(g, "m1", 3, (int64_t[]){1, 4, 4});
  hand_int64_initializer(g, "m2", 3, (int64_t[]){2, 5, 3});
  hand_node(g, "max", "Max", "m0,m1,m2", "largest");
  hand_node(g, "min", "Min", "m0,m1,m2", "smallest");
  hand_node(g, "max_one", "Max", "m1", "only");
  hand_initializer(g, "square", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 2}, (int64_t[]){0, 1, 2, 3});
  hand_initializer(g, "points", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 2}, (int64_t[]){0, 0, 1, 1});
  hand_initializer(g, "rows", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 1}, (int64_t[]){1, 0});
  hand_node(g, "gather_points", "GatherND", "square,points", "diagonal");
  hand_node(g, "gather_rows", "GatherND", "square,rows", "swapped");
  float_constant(g, "s0", 1, (int64_t[]){3}, (float[]){1, 2, 3});
  float_constant(g, "s1", 1, (int64_t[]){3}, (float[]){3, 2, 1});
  float_constant(g, "d0", 1, (int64_t[]){2}, (float[]){3, 4});
  float_constant(g, "d1", 1, (int64_t[]){2}, (float[]){1, 2});
  hand_node(g, "sub", "Sub", "s0,s1", "difference");
  hand_node(g, "div", "Div", "d0,d1", "quotient");
  static uint8_t every_other[5000];
  static float ones[5000];
  for (int i = 0; i < 5000; i++)
    every_other[i] = i % 2, ones[i] = 1;
  int wide = hand_initializer(g, "every_other", IPRO_DTYPE_BOOL, 1, (int64_t[]){5000}, every_other);
  g->tensors[wide].kind = IPRO_TENSOR_CONSTANT;
  float_constant(g, "ones", 1, (int64_t[]){5000}, ones);
  float_constant(g, "minus", 0, NULL, (float[]){-100});
  hand_node(g, "where_wide", "Where", "every_other,ones,minus", "masked");
  hand_int64_initializer(g, "half_pads", 8, (int64_t[]){0, 0, 1, 0, 0, 0, 0, 1});
  hand_node(g, "double", "Add", "half_pads,half_pads", "pads_computed");
  hand_node(g, "pad", "Pad", "x,pads_computed", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  CHECK(folded_floats_are(hand_tensor(g, "scattered"), 8, (float[]){1, 11, 3, 10, 9, 6, 7, 12}));
  CHECK(folded_floats_are(hand_tensor(g, "powers"), 3, (float[]){1, 32, 729}));
  CHECK(folded_floats_are(hand_tensor(g, "broadcast_powers"), 6, (float[]){1, 4, 27, 4, 25, 216}));
  const ipro_tensor *not_zero = hand_tensor(g, "is_not_zero");
  CHECK(not_zero->kind == IPRO_TENSOR_CONSTANT && not_zero->dtype == IPRO_DTYPE_BOOL &&
        memcmp(not_zero->data, (uint8_t[]){0, 1, 0}, 3) == 0);
  CHECK(folded_ints_are(hand_tensor(g, "transposed"), 6, (int64_t[]){1, 4, 2, 5, 3, 6}));
  CHECK(shape_is(hand_tensor(g, "y"), 4, (int64_t[]){N, 3, 6, 6}));
  CHECK(folded_floats_are(hand_tensor(g, "difference"), 3, (float[]){-2, 0, 2}));
  CHECK(folded_floats_are(hand_tensor(g, "quotient"), 2, (float[]){3, 2}));
  const ipro_tensor *masked = hand_tensor(g, "masked");
  CHECK(masked->kind == IPRO_TENSOR_CONSTANT && ipro_shape_elements(&masked->shape) == 5000 &&
        ((const float *)masked->data)[0] == -100 && ((const float *)masked->data)[1] == 1 &&
        ((const float *)masked->data)[4999] == 1);
  CHECK(folded_ints_are(hand_tensor(g, "largest"), 3, (int64_t[]){3, 5, 4}));
  CHECK(folded_ints_are(hand_tensor(g, "smallest"), 3, (int64_t[]){1, 2, 1}));
  CHECK(folded_ints_are(hand_tensor(g, "only"), 3, (int64_t[]){1, 4, 4}));
  CHECK(folded_ints_are(hand_tensor(g, "diagonal"), 2, (int64_t[]){0, 3}));
  CHECK(folded_ints_are(hand_tensor(g, "swapped"), 4, (int64_t[]){2, 3, 0, 1}) &&
        shape_is(hand_tensor(g, "swapped"), 2, (int64_t[]){2, 2}));
  ipro_graph_free(g);

  g = hand_graph(18);
  hand_input(g, "x", 2, (int64_t[]){N, 4});
  float_constant(g, "data", 1, (int64_t[]){8}, (float[]){1, 2, 3, 4, 5, 6, 7, 8});
  hand_initializer(g, "indices", IPRO_DTYPE_INT64, 2, (int64_t[]){1, 1}, (int64_t[]){8});
  float_constant(g, "updates", 1, (int64_t[]){1}, (float[]){9});
  hand_node(g, "the_node", "ScatterND", "data,indices,updates", "scattered");
  hand_node(g, "relu", "Relu", "x", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_MSG(ipro_graph_infer_shapes(g, 0, &err) != IPRO_OK &&
                strstr(err.message, "node 'the_node' (ScatterND): an index is outside the data"),
            "ScatterND at index 8 of 8: %s", err.message);
  ipro_graph_free(g);

  /* x ** 2 with an int64 2 (ONNX lets the exponent's type differ): X · X, whatever its type */
  g = hand_graph(18);
  hand_input(g, "x", 2, (int64_t[]){N, 4});
  hand_initializer(g, "two", IPRO_DTYPE_INT64, 0, NULL, (int64_t[]){2});
  hand_node(g, "square", "Pow", "x,two", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  const ipro_node *square = &g->nodes[g->tensors[ipro_graph_find_tensor(g, "y")].producer];
  CHECK(square->op == IPRO_OP_MUL && square->inputs[0] == square->inputs[1]);
  ipro_graph_free(g);

  g = hand_graph(18);
  hand_input(g, "x", 2, (int64_t[]){N, 4});
  hand_int64_initializer(g, "two", 1, (int64_t[]){2});
  hand_node(g, "the_node", "Pow", "two,two", "four");
  hand_node(g, "relu", "Relu", "x", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_MSG(ipro_graph_infer_shapes(g, 0, &err) != IPRO_OK &&
                strstr(err.message, "node 'the_node' (Pow)") && strstr(err.message, "int64"),
            "Pow of int64: %s", err.message);
  ipro_graph_free(g);
}

/* ScatterElements on constants folds: the ONNX operator specification's examples (axis 0 on a 3×3
 * of zeros; axis 1 with a negative index, its scatter_elements_with_negative_indices); on a graph
 * input it is refused, by name. */
static void check_scatter_elements(void) {
  ipro_error err = {{0}};
  ipro_graph *g = hand_graph(18);
  hand_input(g, "x", 2, (int64_t[]){N, 3});
  int data = hand_initializer(g, "data", IPRO_DTYPE_FLOAT, 2, (int64_t[]){3, 3},
                              (float[]){0, 0, 0, 0, 0, 0, 0, 0, 0});
  int indices = hand_initializer(g, "indices", IPRO_DTYPE_INT64, 2, (int64_t[]){2, 3},
                                 (int64_t[]){1, 0, 2, 0, 2, 1});
  int updates = hand_initializer(g, "updates", IPRO_DTYPE_FLOAT, 2, (int64_t[]){2, 3},
                                 (float[]){1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f});
  int row =
      hand_initializer(g, "row", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 5}, (float[]){1, 2, 3, 4, 5});
  int at = hand_initializer(g, "at", IPRO_DTYPE_INT64, 2, (int64_t[]){1, 2}, (int64_t[]){1, -3});
  int values =
      hand_initializer(g, "values", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 2}, (float[]){1.1f, 2.1f});
  int constants[6] = {data, indices, updates, row, at, values};
  for (int i = 0; i < 6; i++)
    g->tensors[constants[i]].kind = IPRO_TENSOR_CONSTANT;
  hand_node(g, "down", "ScatterElements", "data,indices,updates", "scattered");
  ipro_node *across = hand_node(g, "across", "ScatterElements", "row,at,values", "placed");
  ipro_node_set_int(across, "axis", 1);
  hand_node(g, "relu", "Relu", "x", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  const float expected[9] = {2.0f, 1.1f, 0.0f, 1.0f, 0.0f, 2.2f, 0.0f, 2.1f, 1.2f};
  const float placed[5] = {1.0f, 1.1f, 2.1f, 4.0f, 5.0f};
  const ipro_tensor *down = hand_tensor(g, "scattered"), *row_out = hand_tensor(g, "placed");
  CHECK(down->kind == IPRO_TENSOR_CONSTANT && down->data_bytes == sizeof expected &&
        memcmp(down->data, expected, sizeof expected) == 0);
  CHECK(row_out->kind == IPRO_TENSOR_CONSTANT && row_out->data_bytes == sizeof placed &&
        memcmp(row_out->data, placed, sizeof placed) == 0);
  ipro_graph_free(g);

  g = hand_graph(18);
  hand_input(g, "x", 2, (int64_t[]){N, 3});
  int where = hand_initializer(g, "where", IPRO_DTYPE_INT64, 2, (int64_t[]){1, 1}, (int64_t[]){0});
  g->tensors[where].kind = IPRO_TENSOR_CONSTANT;
  int value = hand_initializer(g, "value", IPRO_DTYPE_FLOAT, 2, (int64_t[]){1, 1}, (float[]){7});
  g->tensors[value].kind = IPRO_TENSOR_CONSTANT;
  hand_node(g, "scatter", "ScatterElements", "x,where,value", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_MSG(ipro_graph_infer_shapes(g, 0, &err) == IPRO_ERROR &&
                strstr(err.message, "node 'scatter' (ScatterElements): is supported on constants "
                                    "only") == err.message,
            "a ScatterElements of an input: \"%s\"", err.message);
  ipro_graph_free(g);
}

/* A Concat of integer constants past the 4096 elements floats fold to is folded still: integers
 * cannot run (TinyViT's attention-bias indices, 196 × 196, reach a GatherND through one). */
static void check_large_integer_concat(void) {
  ipro_error err = {{0}};
  ipro_graph *g = hand_graph(18);
  hand_input(g, "x", 2, (int64_t[]){N, 3});
  enum { SIDE = 100 };
  static int64_t values[SIDE * SIDE];
  for (int i = 0; i < SIDE * SIDE; i++)
    values[i] = i % 97;
  int table = hand_initializer(g, "table", IPRO_DTYPE_INT64, 2, (int64_t[]){SIDE, SIDE}, values);
  g->tensors[table].kind = IPRO_TENSOR_CONSTANT;
  ipro_node *concat = hand_node(g, "concat", "Concat", "table,table", "both");
  ipro_node_set_int(concat, "axis", 1);
  hand_node(g, "relu", "Relu", "x", "y");
  hand_output(g, "y");
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  const ipro_tensor *both = hand_tensor(g, "both");
  CHECK(both->kind == IPRO_TENSOR_CONSTANT && shape_is(both, 2, (int64_t[]){SIDE, 2 * SIDE}));
  const int64_t *folded = both->data;
  bool same = folded != NULL;
  for (int r = 0; same && r < SIDE; r++)
    same = memcmp(folded + r * 2 * SIDE, values + r * SIDE, SIDE * sizeof *values) == 0 &&
           memcmp(folded + r * 2 * SIDE + SIDE, values + r * SIDE, SIDE * sizeof *values) == 0;
  CHECK_MSG(same, "the folded Concat holds each row of the table twice");
  ipro_graph_free(g);
}

int main(void) {
  check_swin_folds();
  check_flatten_chain();
  check_mod_equal_where();
  check_range();
  check_batch_rules();
  check_canonical_windows();
  check_conv_transpose_output_shape();
  check_canonical_attributes();
  check_refusals();
  check_sequence_and_fold_refusals();
  check_expand_cast_like();
  check_scatter_elements();
  check_large_integer_concat();
  return ipro_test_finish();
}
