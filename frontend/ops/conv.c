/* Op rows of the convolutions: Conv and ConvTranspose (any number of spatial axes, groups,
 * dilations). Inference takes the kernel shape from the weights, fills the defaults and resolves
 * auto_pad (and ConvTranspose's output_shape) into explicit pads, so the backends see one form. */
#include <string.h>

#include "ir/checked_size.h"
#include "op_helpers.h"
#include "op_rows.h"

static const char *const conv_attributes[] = {
    "auto_pad:s", "dilations:I", "group:i", "kernel_shape:I", "pads:I", "strides:I", NULL};
static const char *const conv_transpose_attributes[] = {
    "auto_pad:s",       "dilations:I",    "group:i", "kernel_shape:I", "pads:I", "strides:I",
    "output_padding:I", "output_shape:I", NULL};

ipro_status ipro_conv_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  if (ipro_op_check_attributes(node, conv_attributes, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_op_check_auto_pad(node, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_int(node, "group", 1, err);
}

ipro_status ipro_conv_transpose_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  if (ipro_op_check_attributes(node, conv_transpose_attributes, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_op_check_auto_pad(node, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_int(node, "group", 1, err);
}

/* The checks both convolutions share: X [N, C, spatial...] and W of the same rank, both of one real
 * type (float32 or float64) and, apart from X's batch, concrete; an optional bias B of shape
 * [bias_channels]. */
static ipro_status read_operands(ipro_graph *graph, ipro_node *node, ipro_tensor **x,
                                 ipro_tensor **w, int64_t *group, ipro_error *err) {
  ipro_tensor *b;
  if (ipro_op_check_arity(graph, node, 2, 3, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, x, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES((*x)->dtype), w, err) != IPRO_OK ||
      ipro_op_optional_input(graph, node, 2, IPRO_DTYPES((*x)->dtype), &b, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 3, IPRO_MAX_RANK, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 1, (*x)->shape.rank, (*x)->shape.rank, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_require_concrete(graph, node, 0, 1, err) != IPRO_OK ||
      ipro_op_require_concrete(graph, node, 1, 0, err) != IPRO_OK ||
      ipro_op_require_concrete(graph, node, 2, 0, err) != IPRO_OK)
    return IPRO_ERROR;
  *group = ipro_node_attr_int(node, "group", 1);
  if (*group <= 0) return ipro_op_fail(err, node, "group %lld is invalid", (long long)*group);
  return IPRO_OK;
}

static ipro_status check_bias(const ipro_graph *graph, const ipro_node *node, int64_t channels,
                              ipro_error *err) {
  const ipro_tensor *b = ipro_node_input(graph, node, 2);
  if (b && b->shape.dims[0] != channels)
    return ipro_op_fail(err, node, "bias '%s' has %lld values but the output has %lld channels",
                        b->name, (long long)b->shape.dims[0], (long long)channels);
  return IPRO_OK;
}

ipro_status ipro_conv_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *w;
  int64_t group;
  if (read_operands(graph, node, &x, &w, &group, err) != IPRO_OK) return IPRO_ERROR;
  int rank = x->shape.rank, n = rank - 2;
  int64_t in_channels = x->shape.dims[1], out_channels = w->shape.dims[0];
  if (in_channels != w->shape.dims[1] * group)
    return ipro_op_fail(err, node,
                        "input '%s' has %lld channels but weights '%s' expect %lld (%lld per group "
                        "x %lld groups)",
                        x->name, (long long)in_channels, w->name,
                        (long long)(w->shape.dims[1] * group), (long long)w->shape.dims[1],
                        (long long)group);
  if (out_channels % group != 0)
    return ipro_op_fail(err, node, "%lld output channels cannot be split into %lld groups",
                        (long long)out_channels, (long long)group);
  if (check_bias(graph, node, out_channels, err) != IPRO_OK) return IPRO_ERROR;
  ipro_window window;
  int64_t out[IPRO_MAX_RANK];
  if (ipro_op_read_window(node, n, &w->shape.dims[2], &window, err) != IPRO_OK ||
      ipro_op_window_output(node, &window, &x->shape.dims[2], false, out, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape = {.rank = rank};
  shape.dims[0] = x->shape.dims[0];
  shape.dims[1] = out_channels;
  memcpy(&shape.dims[2], out, sizeof(int64_t) * (size_t)n);
  if (ipro_op_write_window(node, &window, err) != IPRO_OK ||
      ipro_op_put_int(node, "group", group, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
}

/* Resolves output_shape or SAME auto_pad into pads. Where the requested size is larger than the
 * transposed convolution covers, the difference goes into output_padding, which is how the ONNX
 * reference treats a negative total padding. */
static ipro_status resolve_transpose_padding(ipro_node *node, ipro_window *window,
                                             const int64_t *in, int64_t *output_padding,
                                             ipro_error *err) {
  int n = window->n, given;
  const int64_t *output_shape = ipro_node_attr_ints(node, "output_shape", &given);
  bool same = strncmp(window->auto_pad, "SAME", 4) == 0;
  if (output_shape && given != n && given != n + 2)
    return ipro_op_fail(err, node, "attribute 'output_shape' has %d values; %d expected", given, n);
  if (!output_shape && !same) return IPRO_OK;
  bool upper = strcmp(window->auto_pad, "SAME_UPPER") == 0;
  for (int i = 0; i < n; i++) {
    int64_t target = output_shape ? output_shape[given - n + i] : in[i] * window->strides[i];
    int64_t extent = (window->kernel[i] - 1) * window->dilations[i] + 1;
    int64_t total = window->strides[i] * (in[i] - 1) + output_padding[i] + extent - target;
    if (total < 0) {
      output_padding[i] -= total;
      total = 0;
    }
    int64_t half = total / 2;
    window->pads[i] = upper ? half : total - half;
    window->pads[n + i] = total - window->pads[i];
  }
  window->auto_pad = "NOTSET";
  ipro_node_remove_attr(node, "output_shape");
  return IPRO_OK;
}

ipro_status ipro_conv_transpose_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *w;
  int64_t group;
  if (read_operands(graph, node, &x, &w, &group, err) != IPRO_OK) return IPRO_ERROR;
  int rank = x->shape.rank, n = rank - 2;
  int64_t in_channels = x->shape.dims[1], out_channels = w->shape.dims[1] * group;
  if (in_channels != w->shape.dims[0])
    return ipro_op_fail(err, node, "input '%s' has %lld channels but weights '%s' expect %lld",
                        x->name, (long long)in_channels, w->name, (long long)w->shape.dims[0]);
  if (in_channels % group != 0)
    return ipro_op_fail(err, node, "%lld input channels cannot be split into %lld groups",
                        (long long)in_channels, (long long)group);
  if (check_bias(graph, node, out_channels, err) != IPRO_OK) return IPRO_ERROR;
  ipro_window window;
  if (ipro_op_read_window(node, n, &w->shape.dims[2], &window, err) != IPRO_OK) return IPRO_ERROR;
  int64_t output_padding[IPRO_MAX_RANK] = {0};
  int given;
  const int64_t *padding = ipro_node_attr_ints(node, "output_padding", &given);
  if (padding && given != n)
    return ipro_op_fail(err, node, "attribute 'output_padding' has %d values; %d expected", given,
                        n);
  for (int i = 0; padding && i < n; i++) {
    if (padding[i] < 0) return ipro_op_fail(err, node, "output_padding must not be negative");
    output_padding[i] = padding[i];
  }
  const int64_t *in = &x->shape.dims[2];
  if (resolve_transpose_padding(node, &window, in, output_padding, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape = {.rank = rank};
  shape.dims[0] = x->shape.dims[0];
  shape.dims[1] = out_channels;
  for (int i = 0; i < n; i++) {
    int64_t extent = (window.kernel[i] - 1) * window.dilations[i] + 1;
    shape.dims[2 + i] = window.strides[i] * (in[i] - 1) + output_padding[i] + extent -
                        window.pads[i] - window.pads[n + i];
    if (shape.dims[2 + i] <= 0)
      return ipro_op_fail(err, node, "the pads leave no output at spatial axis %d", i);
  }
  if (ipro_op_write_window(node, &window, err) != IPRO_OK ||
      ipro_op_put_ints(node, "output_padding", output_padding, n, err) != IPRO_OK ||
      ipro_op_put_int(node, "group", group, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
}

static int64_t kernel_elements(const ipro_tensor *w) {
  return ipro_product_or_overflow(w->shape.dims + 2, w->shape.rank - 2);
}

/* 2·elements·channels·kernel, plus a bias add per output element when there is a bias. */
static int64_t conv_flops(int64_t elements, int64_t channels, int64_t kernel, int64_t bias_adds) {
  int64_t flops, factors[] = {2, elements, channels, kernel};
  if (kernel < 0 || !ipro_checked_product(factors, 4, &flops) ||
      !ipro_checked_add(flops, bias_adds, &flops))
    return IPRO_SIZE_OVERFLOW;
  return flops;
}

int64_t ipro_conv_flops(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *w = ipro_node_input(graph, node, 1);
  if (!w || w->shape.rank < 3) return 0;
  int64_t out = ipro_op_output_elements(graph, node, 0);
  return conv_flops(out, w->shape.dims[1], kernel_elements(w),
                    ipro_node_input(graph, node, 2) ? out : 0);
}

int64_t ipro_conv_transpose_flops(const ipro_graph *graph, const ipro_node *node) {
  const ipro_tensor *w = ipro_node_input(graph, node, 1);
  if (!w || w->shape.rank < 3) return 0;
  int64_t in = ipro_op_input_elements(graph, node, 0);
  return conv_flops(in, w->shape.dims[1], kernel_elements(w),
                    ipro_node_input(graph, node, 2) ? ipro_op_output_elements(graph, node, 0) : 0);
}
