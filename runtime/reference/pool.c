/* Reference kernels of the pools: MaxPool (with its optional Indices output), AveragePool
 * (count_include_pad), GlobalAveragePool and GlobalMaxPool.
 *
 * The windowed pools read kernel_shape, strides, dilations and pads (auto_pad already resolved
 * into pads); ceil_mode needs no code here, because it only changes the output extent, which the
 * kernels take from the inferred output shape. A window position outside the input is padding:
 * MaxPool ignores it; AveragePool counts it only with count_include_pad, and only up to the end
 * padding, never the extra positions a ceil_mode window hangs past it (as ONNX and PyTorch do).
 * The window geometry, the positions of a window and its first maximum are shared with the
 * gradients of the pools (pool_backward.c), so a gradient routes exactly where the forward read. */
#include <math.h>
#include <stdlib.h>

#include "reference_ops.h"

ipro_status ipro_reference_pool_window(const ipro_node *node, const ipro_shape *x,
                                       const ipro_shape *y, ipro_reference_window *window,
                                       ipro_error *err) {
  int count = 0;
  const int64_t *kernel = ipro_node_attr_ints(node, "kernel_shape", &count);
  if (!kernel || count != x->rank - 2)
    return ipro_reference_fail(node, err, "kernel_shape has %d values for an input of rank %d",
                               count, x->rank);
  if (ipro_reference_window_from_shapes(node, x, y, kernel, window, err)) return IPRO_ERROR;
  if (window->out_channels != window->in_channels)
    return ipro_reference_fail(node, err, "output channels differ from the input's");
  return IPRO_OK;
}

/* Position of output index o, kernel tap k, in spatial slot s (may fall outside the input). */
static int64_t window_position(const ipro_reference_window *w, int s, int64_t o, int64_t k) {
  return o * w->stride[s] - w->pad_begin[s] + k * w->dilation[s];
}

static bool inside(const ipro_reference_window *w, int s, int64_t position) {
  return position >= 0 && position < w->in[s];
}

int64_t ipro_reference_pool_positions(const ipro_reference_window *w, const int64_t o[3],
                                      bool include_pad, int64_t *positions, int64_t *divisor) {
  int64_t found = 0, count = 0, k[3];
  for (k[0] = 0; k[0] < w->kernel[0]; k[0]++)
    for (k[1] = 0; k[1] < w->kernel[1]; k[1]++)
      for (k[2] = 0; k[2] < w->kernel[2]; k[2]++) {
        int64_t p[3];
        bool in_input = true, in_padded = true;
        for (int s = 0; s < 3; s++) {
          p[s] = window_position(w, s, o[s], k[s]);
          in_input = in_input && inside(w, s, p[s]);
          in_padded = in_padded && p[s] >= -w->pad_begin[s] && p[s] < w->in[s] + w->pad_end[s];
        }
        if (in_input) positions[found++] = (p[0] * w->in[1] + p[1]) * w->in[2] + p[2];
        if (include_pad ? in_padded : in_input) count++;
      }
  if (divisor) *divisor = count;
  return found;
}

int64_t ipro_reference_first_maximum(const double *values, const int64_t *positions,
                                     int64_t count) {
  int64_t best = -1;
  for (int64_t i = 0; i < count; i++) {
    int64_t at = positions ? positions[i] : i;
    if (best < 0 || values[at] > values[best]) best = at;
  }
  return best;
}

/* Checks the float dtypes of X (input 0) and Y (output 0), reads the window, and allocates the
 * list of a window's positions. */
static ipro_status pool_setup(const ipro_graph *graph, const ipro_node *node,
                              ipro_reference_window *window, int64_t **positions, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      ipro_reference_pool_window(node, &x, &y, window, err))
    return IPRO_ERROR;
  *positions = malloc((size_t)window->kernel_size * sizeof **positions);
  if (!*positions) return ipro_reference_fail(node, err, "out of memory");
  return IPRO_OK;
}

/* Y and the optional int64 Indices: the flat index of the maximum in X (padding excluded),
 * row-major (storage_order 0) or with the spatial dimensions column-major (storage_order 1); the
 * batch and channel offset (n * C + c) * spatial_size is added in both cases, as ONNX does. Ties
 * keep the first maximum in row-major window order. */
IPRO_REFERENCE_KERNEL(ipro_reference_max_pool) {
  (void)context;
  int64_t *indices = ipro_reference_optional(outputs, node->n_outputs, 1);
  if (indices && ipro_reference_expect_dtype(graph, node, false, 1, IPRO_DTYPE_INT64, err))
    return IPRO_ERROR;
  ipro_reference_window w;
  int64_t *positions;
  if (pool_setup(graph, node, &w, &positions, err)) return IPRO_ERROR;
  bool column_major = ipro_node_attr_int(node, "storage_order", 0) == 1;
  const double *x = inputs[0];
  double *y = outputs[0];
  for (int64_t plane = 0; plane < w.batch * w.in_channels; plane++) {
    const double *x_plane = x + plane * w.in_size;
    int64_t o[3];
    for (o[0] = 0; o[0] < w.out[0]; o[0]++)
      for (o[1] = 0; o[1] < w.out[1]; o[1]++)
        for (o[2] = 0; o[2] < w.out[2]; o[2]++) {
          int64_t found = ipro_reference_pool_positions(&w, o, false, positions, NULL);
          int64_t best = ipro_reference_first_maximum(x_plane, positions, found);
          int64_t out = plane * w.out_size + (o[0] * w.out[1] + o[1]) * w.out[2] + o[2];
          y[out] = best < 0 ? -INFINITY : x_plane[best];
          if (!indices) continue;
          int64_t p0 = best / (w.in[1] * w.in[2]), p1 = best / w.in[2] % w.in[1],
                  p2 = best % w.in[2];
          int64_t flat = column_major ? p0 + (p1 + p2 * w.in[1]) * w.in[0] : best;
          indices[out] = best < 0 ? -1 : plane * w.in_size + flat;
        }
  }
  free(positions);
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_average_pool) {
  (void)context;
  ipro_reference_window w;
  int64_t *positions;
  if (pool_setup(graph, node, &w, &positions, err)) return IPRO_ERROR;
  bool include_pad = ipro_node_attr_int(node, "count_include_pad", 0) != 0;
  const double *x = inputs[0];
  double *y = outputs[0];
  for (int64_t plane = 0; plane < w.batch * w.in_channels; plane++) {
    const double *x_plane = x + plane * w.in_size;
    int64_t o[3];
    for (o[0] = 0; o[0] < w.out[0]; o[0]++)
      for (o[1] = 0; o[1] < w.out[1]; o[1]++)
        for (o[2] = 0; o[2] < w.out[2]; o[2]++) {
          int64_t divisor;
          int64_t found = ipro_reference_pool_positions(&w, o, include_pad, positions, &divisor);
          double sum = 0.0;
          for (int64_t i = 0; i < found; i++)
            sum += x_plane[positions[i]];
          int64_t out = plane * w.out_size + (o[0] * w.out[1] + o[1]) * w.out[2] + o[2];
          y[out] = divisor > 0 ? (sum / (double)divisor) : NAN;
        }
  }
  free(positions);
  return IPRO_OK;
}

/* Reduces each (n, c) plane over all spatial dimensions of X (N, C, ...), any rank >= 2. */
static ipro_status global_pool(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                               void *const *outputs, bool maximum, ipro_error *err) {
  ipro_shape x;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &x, err))
    return IPRO_ERROR;
  if (x.rank < 2) return ipro_reference_fail(node, err, "input of rank %d; >= 2 expected", x.rank);
  int64_t planes = x.dims[0] * x.dims[1], size = ipro_reference_product(x.dims, 2, x.rank);
  const double *in = inputs[0];
  double *y = outputs[0];
  for (int64_t plane = 0; plane < planes; plane++) {
    const double *values = in + plane * size;
    if (maximum) {
      int64_t best = ipro_reference_first_maximum(values, NULL, size);
      y[plane] = best < 0 ? -INFINITY : values[best];
    } else {
      double sum = 0.0;
      for (int64_t i = 0; i < size; i++)
        sum += values[i];
      y[plane] = size > 0 ? (sum / (double)size) : NAN;
    }
  }
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_global_average_pool) {
  (void)context;
  return global_pool(graph, node, inputs, outputs, false, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_global_max_pool) {
  (void)context;
  return global_pool(graph, node, inputs, outputs, true, err);
}
