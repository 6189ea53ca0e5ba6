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
/* broadcast_binary.c */
IPRO_REFERENCE_KERNEL(ipro_reference_add);
IPRO_REFERENCE_KERNEL(ipro_reference_sub);
IPRO_REFERENCE_KERNEL(ipro_reference_mul);
IPRO_REFERENCE_KERNEL(ipro_reference_div);
IPRO_REFERENCE_KERNEL(ipro_reference_sum);
/* gemm.c */
IPRO_REFERENCE_KERNEL(ipro_reference_gemm);
IPRO_REFERENCE_KERNEL(ipro_reference_mat_mul);
/* data_movement.c */
IPRO_REFERENCE_KERNEL(ipro_reference_copy); /* Identity, Flatten, Reshape, Squeeze, Unsqueeze */
IPRO_REFERENCE_KERNEL(ipro_reference_transpose);
IPRO_REFERENCE_KERNEL(ipro_reference_concat);
IPRO_REFERENCE_KERNEL(ipro_reference_gather);
IPRO_REFERENCE_KERNEL(ipro_reference_shape);
IPRO_REFERENCE_KERNEL(ipro_reference_constant);
IPRO_REFERENCE_KERNEL(ipro_reference_pad);
/* resize.c */
IPRO_REFERENCE_KERNEL(ipro_reference_resize);
/* reduce.c */
IPRO_REFERENCE_KERNEL(ipro_reference_reduce_mean);

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
/* The positions p in [0, count) for which p * stride + offset lies in [0, limit), as [*lo, *hi). */
void ipro_reference_valid_range(int64_t offset, int64_t stride, int64_t limit, int64_t count,
                                int64_t *lo, int64_t *hi);

/* floor(a / b) and the ceiling, for b > 0 and any sign of a. */
int64_t ipro_reference_floor_div(int64_t a, int64_t b);
int64_t ipro_reference_ceil_div(int64_t a, int64_t b);

#endif
