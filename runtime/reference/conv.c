/* Reference kernels of Conv and ConvTranspose over 1 to 3 spatial dimensions, with groups,
 * strides, dilations, asymmetric pads (auto_pad and output_shape are already resolved into pads by
 * normalisation) and an optional bias.
 *
 * Both work one output plane (n, m) at a time in a double accumulator: for each input channel of
 * the group and each kernel tap, the inner loop runs over the output (Conv) or input
 * (ConvTranspose) positions whose partner lies inside the tensor, computed up front with
 * ipro_reference_valid_range, so no bounds test sits in the innermost loop. */
#include <stdlib.h>

#include "reference_ops.h"

/* Checks the dtypes and reads the window; the kernel extents are W's trailing dimensions. */
static ipro_status conv_setup(const ipro_graph *graph, const ipro_node *node,
                              ipro_reference_window *window, ipro_shape *weight, int64_t *group,
                              ipro_error *err) {
  for (int i = 0; i < 3; i++)
    if (ipro_node_input(graph, node, i) && ipro_reference_expect_real(graph, node, true, i, err))
      return IPRO_ERROR;
  if (ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 1, weight, err))
    return IPRO_ERROR;
  if (weight->rank < 3)
    return ipro_reference_fail(node, err, "weight of rank %d; 3 to 5 expected", weight->rank);
  if (ipro_reference_window_of(graph, node, weight->dims + 2, window, err)) return IPRO_ERROR;
  *group = ipro_node_attr_int(node, "group", 1);
  if (*group < 1 || window->in_channels % *group != 0 || window->out_channels % *group != 0)
    return ipro_reference_fail(node, err,
                               "group %lld does not divide the channels (%lld in, %lld "
                               "out)",
                               (long long)*group, (long long)window->in_channels,
                               (long long)window->out_channels);
  return IPRO_OK;
}

static void plane_start(double *plane, int64_t size, const double *bias, int64_t channel) {
  double start = bias ? (double)bias[channel] : 0.0;
  for (int64_t i = 0; i < size; i++)
    plane[i] = start;
}

static void plane_store(const double *plane, int64_t size, double *y) {
  for (int64_t i = 0; i < size; i++)
    y[i] = plane[i];
}

void ipro_reference_conv_tap(const ipro_reference_window *w, const int64_t tap[3], double weight,
                             const double *x, double *plane) {
  int64_t offset[3], lo[3], hi[3];
  for (int s = 0; s < 3; s++) {
    offset[s] = tap[s] * w->dilation[s] - w->pad_begin[s];
    ipro_reference_valid_range(offset[s], w->stride[s], w->in[s], w->out[s], &lo[s], &hi[s]);
  }
  for (int64_t od = lo[0]; od < hi[0]; od++) {
    int64_t id = od * w->stride[0] + offset[0];
    for (int64_t oh = lo[1]; oh < hi[1]; oh++) {
      int64_t ih = oh * w->stride[1] + offset[1];
      const double *x_row = x + (id * w->in[1] + ih) * w->in[2];
      double *out_row = plane + (od * w->out[1] + oh) * w->out[2];
      for (int64_t ow = lo[2]; ow < hi[2]; ow++)
        out_row[ow] += weight * (double)x_row[ow * w->stride[2] + offset[2]];
    }
  }
}

/* X (N, C, in...), W (M, C/group, k...), B (M) → Y (N, M, out...). */
IPRO_REFERENCE_KERNEL(ipro_reference_conv) {
  (void)context;
  ipro_reference_window w;
  ipro_shape weight;
  int64_t group;
  if (conv_setup(graph, node, &w, &weight, &group, err)) return IPRO_ERROR;
  int64_t in_per_group = w.in_channels / group, out_per_group = w.out_channels / group;
  if (weight.dims[0] != w.out_channels || weight.dims[1] != in_per_group)
    return ipro_reference_fail(node, err, "weight shape does not match the channels and group");
  const double *x = inputs[0], *weights = inputs[1];
  const double *bias = ipro_reference_optional(inputs, node->n_inputs, 2);
  double *y = outputs[0];
  double *plane = malloc((size_t)(w.out_size > 0 ? w.out_size : 1) * sizeof *plane);
  if (!plane) return ipro_reference_fail(node, err, "out of memory");
  for (int64_t n = 0; n < w.batch; n++) {
    for (int64_t m = 0; m < w.out_channels; m++) {
      int64_t g = m / out_per_group;
      plane_start(plane, w.out_size, bias, m);
      for (int64_t c = 0; c < in_per_group; c++) {
        const double *x_channel = x + (n * w.in_channels + g * in_per_group + c) * w.in_size;
        const double *kernel = weights + (m * in_per_group + c) * w.kernel_size;
        int64_t tap[3];
        for (tap[0] = 0; tap[0] < w.kernel[0]; tap[0]++)
          for (tap[1] = 0; tap[1] < w.kernel[1]; tap[1]++)
            for (tap[2] = 0; tap[2] < w.kernel[2]; tap[2]++) {
              double value = kernel[(tap[0] * w.kernel[1] + tap[1]) * w.kernel[2] + tap[2]];
              ipro_reference_conv_tap(&w, tap, value, x_channel, plane);
            }
      }
      plane_store(plane, w.out_size, y + (n * w.out_channels + m) * w.out_size);
    }
  }
  free(plane);
  return IPRO_OK;
}

/* Adds weight * x[i] to the output position i * stride + tap * dilation - pad_begin of every input
 * position i for one kernel tap: the transpose of ipro_reference_conv_tap. output_padding only
 * lengthened Y. */
static void conv_transpose_tap(const ipro_reference_window *w, const int64_t tap[3], double weight,
                               const double *x, double *plane) {
  int64_t offset[3], lo[3], hi[3];
  for (int s = 0; s < 3; s++) {
    offset[s] = tap[s] * w->dilation[s] - w->pad_begin[s];
    ipro_reference_valid_range(offset[s], w->stride[s], w->out[s], w->in[s], &lo[s], &hi[s]);
  }
  for (int64_t id = lo[0]; id < hi[0]; id++) {
    int64_t od = id * w->stride[0] + offset[0];
    for (int64_t ih = lo[1]; ih < hi[1]; ih++) {
      int64_t oh = ih * w->stride[1] + offset[1];
      const double *x_row = x + (id * w->in[1] + ih) * w->in[2];
      double *out_row = plane + (od * w->out[1] + oh) * w->out[2];
      for (int64_t iw = lo[2]; iw < hi[2]; iw++)
        out_row[iw * w->stride[2] + offset[2]] += weight * (double)x_row[iw];
    }
  }
}

/* X (N, C, in...), W (C, M/group, k...), B (M) → Y (N, M, out...). */
IPRO_REFERENCE_KERNEL(ipro_reference_conv_transpose) {
  (void)context;
  ipro_reference_window w;
  ipro_shape weight;
  int64_t group;
  if (conv_setup(graph, node, &w, &weight, &group, err)) return IPRO_ERROR;
  int64_t in_per_group = w.in_channels / group, out_per_group = w.out_channels / group;
  if (weight.dims[0] != w.in_channels || weight.dims[1] != out_per_group)
    return ipro_reference_fail(node, err, "weight shape does not match the channels and group");
  const double *x = inputs[0], *weights = inputs[1];
  const double *bias = ipro_reference_optional(inputs, node->n_inputs, 2);
  double *y = outputs[0];
  double *plane = malloc((size_t)(w.out_size > 0 ? w.out_size : 1) * sizeof *plane);
  if (!plane) return ipro_reference_fail(node, err, "out of memory");
  for (int64_t n = 0; n < w.batch; n++) {
    for (int64_t m = 0; m < w.out_channels; m++) {
      int64_t g = m / out_per_group;
      plane_start(plane, w.out_size, bias, m);
      for (int64_t c = g * in_per_group; c < (g + 1) * in_per_group; c++) {
        const double *x_channel = x + (n * w.in_channels + c) * w.in_size;
        const double *kernel =
            weights + (c * out_per_group + m - g * out_per_group) * w.kernel_size;
        int64_t tap[3];
        for (tap[0] = 0; tap[0] < w.kernel[0]; tap[0]++)
          for (tap[1] = 0; tap[1] < w.kernel[1]; tap[1]++)
            for (tap[2] = 0; tap[2] < w.kernel[2]; tap[2]++) {
              double value = kernel[(tap[0] * w.kernel[1] + tap[1]) * w.kernel[2] + tap[2]];
              conv_transpose_tap(&w, tap, value, x_channel, plane);
            }
      }
      plane_store(plane, w.out_size, y + (n * w.out_channels + m) * w.out_size);
    }
  }
  free(plane);
  return IPRO_OK;
}
