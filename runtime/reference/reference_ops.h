/* Internal to runtime/reference/: the kernel of every op (defined in the file of its kind and
 * gathered by reference_table.c) and the helpers the kernel files share (reference_common.c):
 * concrete shapes, error messages that name the node, and index arithmetic for broadcasting,
 * transposition and reductions. */
#ifndef IPRO_REFERENCE_OPS_H
#define IPRO_REFERENCE_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "reference_kernels.h"

#define IPRO_REFERENCE_KERNEL(name)                                                                \
  ipro_status name(const ipro_graph *graph, const ipro_node *node, void *const *inputs,            \
                   void *const *outputs, const ipro_kernel_context *context, ipro_error *err)

/* conv.c */
IPRO_REFERENCE_KERNEL(ipro_reference_conv);
IPRO_REFERENCE_KERNEL(ipro_reference_conv_transpose);
/* pool.c */
IPRO_REFERENCE_KERNEL(ipro_reference_max_pool);
IPRO_REFERENCE_KERNEL(ipro_reference_average_pool);
IPRO_REFERENCE_KERNEL(ipro_reference_global_average_pool);
IPRO_REFERENCE_KERNEL(ipro_reference_global_max_pool);
/* normalization.c */
IPRO_REFERENCE_KERNEL(ipro_reference_batch_normalization);
IPRO_REFERENCE_KERNEL(ipro_reference_softmax);
IPRO_REFERENCE_KERNEL(ipro_reference_log_softmax);
IPRO_REFERENCE_KERNEL(ipro_reference_dropout);
/* elementwise.c */
IPRO_REFERENCE_KERNEL(ipro_reference_relu);
IPRO_REFERENCE_KERNEL(ipro_reference_leaky_relu);
IPRO_REFERENCE_KERNEL(ipro_reference_sigmoid);
IPRO_REFERENCE_KERNEL(ipro_reference_tanh);
IPRO_REFERENCE_KERNEL(ipro_reference_clip);
IPRO_REFERENCE_KERNEL(ipro_reference_hard_sigmoid);
IPRO_REFERENCE_KERNEL(ipro_reference_hard_swish);
IPRO_REFERENCE_KERNEL(ipro_reference_gelu);
IPRO_REFERENCE_KERNEL(ipro_reference_real_unary);
IPRO_REFERENCE_KERNEL(ipro_reference_cum_sum);
IPRO_REFERENCE_KERNEL(ipro_reference_erf);
IPRO_REFERENCE_KERNEL(ipro_reference_smooth_activation);
IPRO_REFERENCE_KERNEL(ipro_reference_prelu);
IPRO_REFERENCE_KERNEL(ipro_reference_layer_normalization);
IPRO_REFERENCE_KERNEL(ipro_reference_instance_normalization);
IPRO_REFERENCE_KERNEL(ipro_reference_layer_norm_grad);
/* π, which C11's math.h does not name (Gelu and its derivative) */
#define IPRO_REFERENCE_PI 3.14159265358979323846
/* broadcast_binary.c */
IPRO_REFERENCE_KERNEL(ipro_reference_add);
IPRO_REFERENCE_KERNEL(ipro_reference_sub);
IPRO_REFERENCE_KERNEL(ipro_reference_mul);
IPRO_REFERENCE_KERNEL(ipro_reference_div);
IPRO_REFERENCE_KERNEL(ipro_reference_sum);
IPRO_REFERENCE_KERNEL(ipro_reference_less);
IPRO_REFERENCE_KERNEL(ipro_reference_greater);
IPRO_REFERENCE_KERNEL(ipro_reference_less_or_equal);
IPRO_REFERENCE_KERNEL(ipro_reference_greater_or_equal);
/* random_fill.c */
IPRO_REFERENCE_KERNEL(ipro_reference_range);
IPRO_REFERENCE_KERNEL(ipro_reference_equal);
IPRO_REFERENCE_KERNEL(ipro_reference_where);
IPRO_REFERENCE_KERNEL(ipro_reference_mod);
IPRO_REFERENCE_KERNEL(ipro_reference_pow);
IPRO_REFERENCE_KERNEL(ipro_reference_extremum);
IPRO_REFERENCE_KERNEL(ipro_reference_not);
IPRO_REFERENCE_KERNEL(ipro_reference_scatter_nd);
IPRO_REFERENCE_KERNEL(ipro_reference_gather_nd);
IPRO_REFERENCE_KERNEL(ipro_reference_constant_of_shape);
IPRO_REFERENCE_KERNEL(ipro_reference_random_uniform_like);
/* gemm.c */
IPRO_REFERENCE_KERNEL(ipro_reference_gemm);
IPRO_REFERENCE_KERNEL(ipro_reference_mat_mul);
/* data_movement.c */
IPRO_REFERENCE_KERNEL(ipro_reference_copy); /* Identity, Flatten, Reshape, Squeeze, Unsqueeze */
IPRO_REFERENCE_KERNEL(ipro_reference_transpose);
IPRO_REFERENCE_KERNEL(ipro_reference_concat);
IPRO_REFERENCE_KERNEL(ipro_reference_split);
IPRO_REFERENCE_KERNEL(ipro_reference_gather);
IPRO_REFERENCE_KERNEL(ipro_reference_expand); /* Expand, Tile */
IPRO_REFERENCE_KERNEL(ipro_reference_gather_elements);
/* col2im.c */
IPRO_REFERENCE_KERNEL(ipro_reference_col2im);
IPRO_REFERENCE_KERNEL(ipro_reference_col2im_grad);
/* recurrent.c */
IPRO_REFERENCE_KERNEL(ipro_reference_recurrent); /* LSTM, GRU, RNN */
IPRO_REFERENCE_KERNEL(ipro_reference_recurrent_grad);
/* einsum.c */
IPRO_REFERENCE_KERNEL(ipro_reference_einsum);
IPRO_REFERENCE_KERNEL(ipro_reference_scatter_elements);
IPRO_REFERENCE_KERNEL(ipro_reference_gather_elements_grad);
IPRO_REFERENCE_KERNEL(ipro_reference_cast_like);
IPRO_REFERENCE_KERNEL(ipro_reference_slice_onnx);
IPRO_REFERENCE_KERNEL(ipro_reference_shape);
IPRO_REFERENCE_KERNEL(ipro_reference_constant);
IPRO_REFERENCE_KERNEL(ipro_reference_pad);
/* resize.c */
IPRO_REFERENCE_KERNEL(ipro_reference_resize);
/* reduce.c */
IPRO_REFERENCE_KERNEL(ipro_reference_reduce);
/* loss.c */
IPRO_REFERENCE_KERNEL(ipro_reference_softmax_cross_entropy_loss);
IPRO_REFERENCE_KERNEL(ipro_reference_negative_log_likelihood_loss);
IPRO_REFERENCE_KERNEL(ipro_reference_softmax_cross_entropy_grad);

/* The internal ops of the training program (codegen/internal_ops.md). */
/* conv_backward.c */
IPRO_REFERENCE_KERNEL(ipro_reference_conv_grad_input);
IPRO_REFERENCE_KERNEL(ipro_reference_conv_grad_weight);
/* normalization_backward.c */
IPRO_REFERENCE_KERNEL(ipro_reference_batch_norm_grad);
IPRO_REFERENCE_KERNEL(ipro_reference_softmax_grad);
/* elementwise_backward.c */
IPRO_REFERENCE_KERNEL(ipro_reference_unary_grad);
IPRO_REFERENCE_KERNEL(ipro_reference_dropout_grad);
/* reduce_backward.c */
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_to_shape);
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_mean_grad);
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_extremum_grad);
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_prod_grad);
/* pool_backward.c */
IPRO_REFERENCE_KERNEL(ipro_reference_max_pool_grad);
IPRO_REFERENCE_KERNEL(ipro_reference_average_pool_grad);
IPRO_REFERENCE_KERNEL(ipro_reference_global_pool_grad);
/* data_movement_backward.c */
IPRO_REFERENCE_KERNEL(ipro_reference_slice);
/* resize_backward.c */
IPRO_REFERENCE_KERNEL(ipro_reference_resize_grad);
/* optimizer.c */
IPRO_REFERENCE_KERNEL(ipro_reference_sgd_update);
IPRO_REFERENCE_KERNEL(ipro_reference_adam_update);
/* infopro_losses.c: the InfoPro local losses and their gradients */
IPRO_REFERENCE_KERNEL(ipro_reference_binary_cross_entropy);
IPRO_REFERENCE_KERNEL(ipro_reference_binary_cross_entropy_grad);
IPRO_REFERENCE_KERNEL(ipro_reference_sup_con_loss);
IPRO_REFERENCE_KERNEL(ipro_reference_sup_con_grad);

/* ---- shared helpers (reference_common.c) ---- */

/* The data of optional input (or output) i: NULL when the node has fewer than i + 1 of them, as
 * well as when it is omitted. */
static inline void *ipro_reference_optional(void *const *data, int count, int i) {
  return i < count ? data[i] : NULL;
}

/* Writes "node 'NAME' (OP): <message>" into err and returns IPRO_ERROR. */
ipro_status ipro_reference_fail(const ipro_node *node, ipro_error *err, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* The shape of tensor with the batch dimension bound to graph->batch. Fails, naming the node, when
 * the shape is unknown or still symbolic. */
ipro_status ipro_reference_shape_of(const ipro_graph *graph, const ipro_node *node,
                                    const ipro_tensor *tensor, ipro_shape *shape, ipro_error *err);
/* The shapes of the node's i-th input / output (see ipro_reference_shape_of); fails when absent. */
ipro_status ipro_reference_input_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                       ipro_shape *shape, ipro_error *err);
ipro_status ipro_reference_output_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                        ipro_shape *shape, ipro_error *err);
/* Fails unless the node's i-th input (is_input) or output has the given dtype. */
ipro_status ipro_reference_expect_dtype(const ipro_graph *graph, const ipro_node *node,
                                        bool is_input, int i, ipro_dtype dtype, ipro_error *err);
/* Fails unless the node's i-th input (is_input) or output is real: float32 or float64. The
 * kernel sees its data as double either way (reference_widening.c). */
ipro_status ipro_reference_expect_real(const ipro_graph *graph, const ipro_node *node,
                                       bool is_input, int i, ipro_error *err);

/* reference_widening.c: runs `kernel`, written over double, on the node's data: float32 operands
 * are widened into double temporaries and float32 outputs (and the inputs in written_inputs, a
 * mask of input positions the kernel updates in place) rounded back once per element; float64
 * and non-real operands are passed as they are. */
ipro_status ipro_reference_run_in_double(ipro_reference_forward_fn kernel, unsigned written_inputs,
                                         const ipro_graph *graph, const ipro_node *node,
                                         void *const *inputs, void *const *outputs,
                                         const ipro_kernel_context *context, ipro_error *err);

/* reference_table.c: whether op's table entry runs in double (ipro_reference_run_in_double);
 * false for the kernels that only move data. */
bool ipro_reference_widens(ipro_op op);

/* Product of dims[begin..end). */
int64_t ipro_reference_product(const int64_t *dims, int begin, int end);
/* Row-major strides of a shape. */
void ipro_reference_strides(const ipro_shape *shape, int64_t strides[IPRO_MAX_RANK]);
/* The strides with which an input of shape `input` is read when numpy-broadcast to `output`:
 * the input is right-aligned, and its dimensions of size 1 (and missing leading ones) get stride 0.
 * Fails (naming the node) when the shapes do not broadcast. */
ipro_status ipro_reference_broadcast_strides(const ipro_node *node, const ipro_shape *input,
                                             const ipro_shape *output,
                                             int64_t strides[IPRO_MAX_RANK], ipro_error *err);
/* The offset, under the given strides, of the element whose row-major position in a tensor of
 * dimensions dims[0..rank) is linear. Used for broadcasting, transposition and reductions. */
int64_t ipro_reference_offset(const int64_t *dims, int rank, const int64_t *strides,
                              int64_t linear);

/* The geometry of a window sliding over up to three spatial dimensions (Conv, ConvTranspose, the
 * pools). The spatial dimensions are right-aligned into three slots; unused leading slots have
 * size 1, stride 1, dilation 1 and no padding, so one loop nest serves 1-D, 2-D and 3-D. */
typedef struct {
  int64_t batch, in_channels, out_channels;
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];
  int64_t in_size, out_size, kernel_size; /* products of the three slots */
} ipro_reference_window;

/* Reads X (input 0) and Y (output 0), which must be (N, C, spatial...) with 1 to 3 spatial
 * dimensions, and the strides, dilations and pads attributes (defaults 1, 1, 0). kernel holds the
 * spatial kernel extent, one per spatial dimension of X. */
ipro_status ipro_reference_window_of(const ipro_graph *graph, const ipro_node *node,
                                     const int64_t *kernel, ipro_reference_window *window,
                                     ipro_error *err);
/* The same from explicit shapes: x_shape plays X (the side the window slides over) and y_shape Y
 * (one position per window). The gradient kernels use it, because there the roles are spread over
 * other inputs and outputs (dY, X → dX). */
ipro_status ipro_reference_window_from_shapes(const ipro_node *node, const ipro_shape *x_shape,
                                              const ipro_shape *y_shape, const int64_t *kernel,
                                              ipro_reference_window *window, ipro_error *err);
/* The positions p in [0, count) for which p * stride + offset lies in [0, limit), as [*lo, *hi). */
void ipro_reference_valid_range(int64_t offset, int64_t stride, int64_t limit, int64_t count,
                                int64_t *lo, int64_t *hi);

/* floor(a / b) and the ceiling, for b > 0 and any sign of a. */
int64_t ipro_reference_floor_div(int64_t a, int64_t b);
int64_t ipro_reference_ceil_div(int64_t a, int64_t b);

/* Succeeds when the node has no INTS attribute `name` or when it equals shape's dimensions (a
 * still symbolic batch dimension in the attribute matches the bound one); the gradient kernels
 * check their input_shape / weight_shape / shape attributes with it against the tensor they
 * write, whose inferred shape is what they go by. */
ipro_status ipro_reference_check_shape_attribute(const ipro_node *node, const char *name,
                                                 const ipro_shape *shape, ipro_error *err);

/* ---- forward logic that the gradient kernels share, defined beside its forward kernel ---- */

/* conv.c: adds weight * x[input position of each output position] to plane (out_size values) for
 * one kernel tap: input = output * stride + tap * dilation - pad_begin, positions outside x
 * skipped. x is one input channel. */
void ipro_reference_conv_tap(const ipro_reference_window *w, const int64_t tap[3], double weight,
                             const double *x, double *plane);

/* pool.c: the window of a pool (kernel_shape, strides, dilations, pads) sliding over x_shape with
 * one position per element of y_shape; fails unless the channels agree. */
ipro_status ipro_reference_pool_window(const ipro_node *node, const ipro_shape *x_shape,
                                       const ipro_shape *y_shape, ipro_reference_window *window,
                                       ipro_error *err);
/* pool.c: the input positions of window o (offsets within one input plane, row-major window
 * order, padding left out) into positions (room for kernel_size); returns their count. *divisor
 * (when not NULL) gets AveragePool's divisor: the positions inside the input, or with include_pad
 * those inside the padded input (never the part of a ceil_mode window past the end padding). */
int64_t ipro_reference_pool_positions(const ipro_reference_window *w, const int64_t o[3],
                                      bool include_pad, int64_t *positions, int64_t *divisor);
/* pool.c: the offset of the first maximum of values[positions[0..count)] (values[0..count) when
 * positions is NULL), or -1 when count is 0. The first wins ties. */
int64_t ipro_reference_first_maximum(const double *values, const int64_t *positions, int64_t count);

/* normalization.c: the mean and biased variance of channel c of x (batch, channels, size), in
 * double, two-pass: the statistics training-mode BatchNormalization normalises with. */
void ipro_reference_channel_moments(const double *x, int64_t batch, int64_t channels, int64_t size,
                                    int64_t c, double *mean, double *variance);
/* normalization.c: Softmax's rows of x: outer x length x inner, the row being `length` values at
 * stride `inner` (axis, or the flattened axes axis..rank-1 under coerce_2d). */
ipro_status ipro_reference_softmax_layout(const ipro_node *node, const ipro_shape *x,
                                          int64_t *outer, int64_t *length, int64_t *inner,
                                          ipro_error *err);
/* normalization.c: the maximum of a row and the sum of exp(value - maximum) over it, so that
 * softmax = exp(value - maximum) / sum and log softmax = value - maximum - log(sum). */
void ipro_reference_softmax_normalizer(const double *row, int64_t length, int64_t stride,
                                       double *maximum, double *sum);

/* elementwise.c: an activation's attributes with the forward's defaults: LeakyRelu alpha; Clip
 * min, max (as alpha, beta); HardSigmoid alpha, beta; 0 for the others. */
void ipro_reference_activation_attributes(const ipro_node *node, ipro_op op, float *alpha,
                                          float *beta);

/* reduce.c: x's shape with every axis of the `axes` attribute (all of them when it is empty) set
 * to 1. */
ipro_status ipro_reference_reduced_shape(const ipro_node *node, const ipro_shape *x,
                                         ipro_shape *kept, ipro_error *err);
/* reduce.c: sum[j] = the sum of the elements of x that broadcasting `kept` to x_shape maps to
 * element j of kept (kept is right-aligned; its size-1 and missing axes are summed over). */
ipro_status ipro_reference_sum_to_shape(const ipro_node *node, const double *x,
                                        const ipro_shape *x_shape, const ipro_shape *kept,
                                        double *sum, ipro_error *err);

/* resize.c: where each output element of Resize reads. Per axis, output coordinate o reads input
 * index low (nearest), or (1 - weight) * input[low] + weight * input[high] (linear); outside:
 * tf_crop_and_resize fell off the input and the element is extrapolation_value. */
typedef struct {
  int64_t low, high;
  double weight;
  bool outside;
} ipro_reference_axis_sample;

typedef struct {
  ipro_shape in, out;
  int64_t in_strides[IPRO_MAX_RANK];
  ipro_reference_axis_sample *samples[IPRO_MAX_RANK]; /* out.dims[d] per axis */
  float extrapolation;
} ipro_reference_resize_plan;

#define IPRO_REFERENCE_RESIZE_MAX_CORNERS (1 << IPRO_MAX_RANK)

/* Reads the node's Resize attributes (mode, coordinate_transformation_mode, nearest_mode, scales,
 * roi, extrapolation_value) for resizing x to y. Free with ipro_reference_resize_plan_free. */
ipro_status ipro_reference_resize_plan_make(const ipro_node *node, const ipro_shape *x,
                                            const ipro_shape *y, ipro_reference_resize_plan *plan,
                                            ipro_error *err);
void ipro_reference_resize_plan_free(ipro_reference_resize_plan *plan);
/* The input elements (flat offsets) and weights that output element `index` (row-major) combines,
 * one per corner spanned by its axes with a non-zero linear weight; returns their count, or -1
 * when the element is outside (it reads nothing). */
int ipro_reference_resize_corners(const ipro_reference_resize_plan *plan, int64_t index,
                                  int64_t *offsets, double *weights);

#endif
