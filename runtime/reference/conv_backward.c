/* Reference kernels of Conv's gradients (codegen/internal_ops.md): ipro.ConvGradInput (dX) and
 * ipro.ConvGradWeight (dW and the optional dB), over 1 to 3 spatial dimensions with the forward's
 * groups, strides, dilations and pads.
 *
 * dX is the transposed convolution of dY with the same W: Conv's weight (M, C/group, k...) has
 * exactly ConvTranspose's layout (in = M, out / group = C / group) and ConvTranspose places input
 * i at output i * stride + tap * dilation - pad_begin, the inverse of the map Conv reads with. So
 * ConvGradInput runs conv.c's ConvTranspose kernel on its node, whose dY and dX take the places of
 * ConvTranspose's X and Y. dW gathers, for each tap, the input elements the forward multiplied
 * with that tap (ipro_reference_conv_tap, the forward's own inner loop, with weight 1) and takes
 * their dot product with dY. */
#include <stdlib.h>
#include <string.h>

#include "reference_ops.h"

/* dY (N, M, out...), W (M, C/group, k...) → dX (N, C, in...). */
IPRO_REFERENCE_KERNEL(ipro_reference_conv_grad_input) {
  ipro_shape dx;
  if (ipro_reference_output_shape(graph, node, 0, &dx, err) ||
      ipro_reference_check_shape_attribute(node, "input_shape", &dx, err))
    return IPRO_ERROR;
  if (node->n_inputs != 2) return ipro_reference_fail(node, err, "2 inputs (dY, W) expected");
  return ipro_reference_conv_transpose(graph, node, inputs, outputs, context, err);
}

/* dY (N, M, out...), X (N, C, in...) → dW (M, C/group, k...), [dB (M)]. */
IPRO_REFERENCE_KERNEL(ipro_reference_conv_grad_weight) {
  (void)context;
  ipro_shape dy, x, dw;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, true, 1, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &dy, err) ||
      ipro_reference_input_shape(graph, node, 1, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &dw, err) ||
      ipro_reference_check_shape_attribute(node, "weight_shape", &dw, err))
    return IPRO_ERROR;
  double *db = ipro_reference_optional(outputs, node->n_outputs, 1);
  ipro_shape db_shape;
  if (db && (ipro_reference_expect_real(graph, node, false, 1, err) ||
             ipro_reference_output_shape(graph, node, 1, &db_shape, err)))
    return IPRO_ERROR;
  if (dw.rank != x.rank)
    return ipro_reference_fail(node, err, "dW of rank %d for X of rank %d", dw.rank, x.rank);
  ipro_reference_window w;
  if (ipro_reference_window_from_shapes(node, &x, &dy, dw.dims + 2, &w, err)) return IPRO_ERROR;
  if (db && ipro_shape_elements(&db_shape) != w.out_channels)
    return ipro_reference_fail(node, err, "dB holds %lld values for %lld output channels",
                               (long long)ipro_shape_elements(&db_shape),
                               (long long)w.out_channels);
  int64_t group = ipro_node_attr_int(node, "group", 1);
  if (group < 1 || w.in_channels % group != 0 || w.out_channels % group != 0 ||
      dw.dims[0] != w.out_channels || dw.dims[1] != w.in_channels / group)
    return ipro_reference_fail(node, err, "dW's shape does not match the channels and group %lld",
                               (long long)group);
  int64_t in_per_group = w.in_channels / group, out_per_group = w.out_channels / group;
  int64_t weight_count = w.out_channels * in_per_group * w.kernel_size;
  double *sum = calloc((size_t)(weight_count > 0 ? weight_count : 1), sizeof *sum);
  double *gathered = malloc((size_t)(w.out_size > 0 ? w.out_size : 1) * sizeof *gathered);
  if (!sum || !gathered) {
    free(sum);
    free(gathered);
    return ipro_reference_fail(node, err, "out of memory");
  }
  const double *dy_data = inputs[0], *x_data = inputs[1];
  for (int64_t n = 0; n < w.batch; n++)
    for (int64_t g = 0; g < group; g++)
      for (int64_t c = 0; c < in_per_group; c++) {
        const double *x_channel = x_data + (n * w.in_channels + g * in_per_group + c) * w.in_size;
        int64_t tap[3];
        for (tap[0] = 0; tap[0] < w.kernel[0]; tap[0]++)
          for (tap[1] = 0; tap[1] < w.kernel[1]; tap[1]++)
            for (tap[2] = 0; tap[2] < w.kernel[2]; tap[2]++) {
              /* gathered[o] = the X element output position o reads through this tap (0 in the
               * padding). */
              memset(gathered, 0, (size_t)w.out_size * sizeof *gathered);
              ipro_reference_conv_tap(&w, tap, 1.0, x_channel, gathered);
              int64_t k = (tap[0] * w.kernel[1] + tap[1]) * w.kernel[2] + tap[2];
              for (int64_t m = g * out_per_group; m < (g + 1) * out_per_group; m++) {
                const double *dy_plane = dy_data + (n * w.out_channels + m) * w.out_size;
                double dot = 0.0;
                for (int64_t o = 0; o < w.out_size; o++)
                  dot += (double)dy_plane[o] * gathered[o];
                sum[(m * in_per_group + c) * w.kernel_size + k] += dot;
              }
            }
      }
  double *dw_data = outputs[0];
  for (int64_t i = 0; i < weight_count; i++)
    dw_data[i] = sum[i];
  if (db) {
    for (int64_t m = 0; m < w.out_channels; m++) {
      double total = 0.0;
      for (int64_t n = 0; n < w.batch; n++)
        for (int64_t o = 0; o < w.out_size; o++)
          total += dy_data[(n * w.out_channels + m) * w.out_size + o];
      db[m] = total;
    }
  }
  free(sum);
  free(gathered);
  return IPRO_OK;
}
