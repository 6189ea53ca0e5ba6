/* Op rows of Col2Im (torch's F.fold: VOLO's outlook attention) and of its gradient
 * ipro.Col2ImGrad (an Im2Col, F.unfold). Col2Im's input [N, C·∏block, L] holds, for each of the L
 * positions of a window sliding over the image (strides, dilations, pads, as a convolution's), the
 * C·∏block values of its block; the output [N, C, image...] sums the values each pixel receives.
 * image_shape and block_shape are constant inputs, made the attributes of the same names. */
#include "ir/fold_window.h"
#include "op_helpers.h"
#include "op_rows.h"

ipro_status ipro_col2im_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  static const char *const known[] = {"dilations:I", "pads:I", "strides:I", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  if (node->n_inputs != 3)
    return ipro_op_fail(err, node, "%d inputs; input, image_shape and block_shape expected",
                        node->n_inputs);
  int64_t image[IPRO_MAX_RANK], block[IPRO_MAX_RANK];
  int n_image, n_block;
  if (ipro_op_constant_ints(graph, node, 1, image, IPRO_MAX_RANK, &n_image, err) != IPRO_OK ||
      ipro_op_constant_ints(graph, node, 2, block, IPRO_MAX_RANK, &n_block, err) != IPRO_OK)
    return IPRO_ERROR;
  if (n_image != n_block || n_image < 1 || n_image > IPRO_MAX_RANK - 2)
    return ipro_op_fail(err, node, "image_shape has %d values and block_shape %d", n_image,
                        n_block);
  if (ipro_op_put_ints(node, "image_shape", image, n_image, err) != IPRO_OK ||
      ipro_op_put_ints(node, "kernel_shape", block, n_block, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_op_drop_input(node, 2);
  ipro_op_drop_input(node, 1);
  /* strides, dilations and pads with their defaults, checked as a window's */
  ipro_window window;
  if (ipro_op_read_window(node, n_image, NULL, &window, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_write_window(node, &window, err);
}

/* The window's positions along each spatial axis of image (the sliding grid), into grid, and
 * their count; the values of a block, into block_size (ir/fold_window.h). */
static ipro_status sliding_grid(const ipro_node *node, int64_t *grid, int *n, int64_t *count,
                                int64_t *block_size, ipro_error *err) {
  int n_image = 0;
  const int64_t *image = ipro_node_attr_ints(node, "image_shape", &n_image);
  ipro_window window;
  if (!image || ipro_op_read_window(node, n_image, NULL, &window, err) != IPRO_OK)
    return image ? IPRO_ERROR : ipro_op_fail(err, node, "no image_shape");
  *n = n_image;
  const char *wrong = ipro_fold_window_grid(n_image, image, window.kernel, window.strides,
                                            window.dilations, window.pads, grid, count, block_size);
  if (!wrong) return IPRO_OK;
  ipro_shape image_shape = {.rank = n_image}, block_shape = {.rank = n_image};
  for (int i = 0; i < n_image; i++)
    image_shape.dims[i] = image[i], block_shape.dims[i] = window.kernel[i];
  char image_text[128], block_text[128];
  return ipro_op_fail(err, node, "image_shape %s, block_shape %s: %s",
                      ipro_shape_format(&image_shape, image_text, sizeof image_text),
                      ipro_shape_format(&block_shape, block_text, sizeof block_text), wrong);
}

ipro_status ipro_col2im_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 1, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 3, 3, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t grid[IPRO_MAX_RANK], positions = 0, block_size = 1;
  int n = 0, count = 0;
  if (sliding_grid(node, grid, &n, &positions, &block_size, err) != IPRO_OK) return IPRO_ERROR;
  const int64_t *image = ipro_node_attr_ints(node, "image_shape", &count);
  int64_t rows = x->shape.dims[1];
  if (ipro_dim_is_batch(rows) || ipro_dim_is_batch(x->shape.dims[2]))
    return ipro_op_batch_error(node, err, "the blocks' values or positions at the batch's place");
  if (rows % block_size != 0 || x->shape.dims[2] != positions)
    return ipro_op_fail(err, node,
                        "input [N, %lld, %lld] does not hold blocks of %lld values at the %lld "
                        "positions of the sliding window",
                        (long long)rows, (long long)x->shape.dims[2], (long long)block_size,
                        (long long)positions);
  ipro_shape out = {.rank = 2 + n, .dims = {x->shape.dims[0], rows / block_size}};
  for (int i = 0; i < n; i++)
    out.dims[2 + i] = image[i];
  return ipro_op_set_output(graph, node, 0, x->dtype, &out, err);
}

/* About one addition per input value. */
int64_t ipro_col2im_flops(const ipro_graph *graph, const ipro_node *node) {
  return ipro_op_input_elements(graph, node, 0);
}
