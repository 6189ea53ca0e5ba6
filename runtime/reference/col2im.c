/* Reference kernels of Col2Im (frontend/ops/col2im.c) and of its gradient ipro.Col2ImGrad: one
 * walk over every value of the columns [N, C·K, L] (K values of a block at each of the L
 * positions of the sliding window) and the image pixel it belongs to, if inside the image. Col2Im
 * adds each value into its pixel; its gradient, an Im2Col, reads each value back from its pixel
 * (0 in the padding). */
#include <string.h>

#include "ir/checked_size.h"
#include "ir/fold_window.h"
#include "reference_ops.h"

typedef struct {
  int n;                                     /* spatial axes */
  int64_t batch, channels, block, positions; /* N, C, K = ∏ block, L = ∏ grid */
  int64_t image[IPRO_MAX_RANK], kernel[IPRO_MAX_RANK], grid[IPRO_MAX_RANK];
  int64_t strides[IPRO_MAX_RANK], dilations[IPRO_MAX_RANK], pads[2 * IPRO_MAX_RANK];
  int64_t pixels; /* ∏ image */
} fold_geometry;

/* Reads the attributes and checks them against the columns' shape and the image tensor's. */
static ipro_status read_geometry(const ipro_node *node, const ipro_shape *columns,
                                 const ipro_shape *image_tensor, fold_geometry *g,
                                 ipro_error *err) {
  memset(g, 0, sizeof *g);
  int n_image = 0, n_kernel = 0, n_strides = 0, n_dilations = 0, n_pads = 0;
  const int64_t *image = ipro_node_attr_ints(node, "image_shape", &n_image);
  const int64_t *kernel = ipro_node_attr_ints(node, "kernel_shape", &n_kernel);
  const int64_t *strides = ipro_node_attr_ints(node, "strides", &n_strides);
  const int64_t *dilations = ipro_node_attr_ints(node, "dilations", &n_dilations);
  const int64_t *pads = ipro_node_attr_ints(node, "pads", &n_pads);
  int n = n_image;
  if (!image || n < 1 || n > IPRO_MAX_RANK - 2 || n_kernel != n || n_strides != n ||
      n_dilations != n || n_pads != 2 * n || columns->rank != 3)
    return ipro_reference_fail(node, err, "the window's attributes do not fit");
  g->n = n;
  g->batch = columns->dims[0];
  for (int i = 0; i < n; i++) {
    g->image[i] = image[i], g->kernel[i] = kernel[i], g->strides[i] = strides[i];
    g->dilations[i] = dilations[i], g->pads[i] = pads[i], g->pads[n + i] = pads[n + i];
  }
  const char *wrong = ipro_fold_window_grid(n, image, kernel, strides, dilations, pads, g->grid,
                                            &g->positions, &g->block);
  if (wrong) return ipro_reference_fail(node, err, "%s", wrong);
  if (!ipro_checked_product(image, n, &g->pixels) || columns->dims[1] % g->block != 0 ||
      columns->dims[2] != g->positions)
    return ipro_reference_fail(node, err, "the columns do not fit the window");
  g->channels = columns->dims[1] / g->block;
  int64_t pixels[3] = {g->batch, g->channels, g->pixels}, count;
  if (!ipro_checked_product(pixels, 3, &count) || count != ipro_shape_elements(image_tensor))
    return ipro_reference_fail(node, err, "the image does not fit the columns");
  return IPRO_OK;
}

/* The pixel (offset within one channel's image) of block value k at window position l, or -1
 * in the padding. */
static int64_t pixel_of(const fold_geometry *g, int64_t k, int64_t l) {
  int64_t pixel = 0, stride = 1;
  for (int i = g->n - 1; i >= 0; i--) {
    int64_t at =
        (l % g->grid[i]) * g->strides[i] - g->pads[i] + (k % g->kernel[i]) * g->dilations[i];
    l /= g->grid[i];
    k /= g->kernel[i];
    if (at < 0 || at >= g->image[i]) return -1;
    pixel += at * stride;
    stride *= g->image[i];
  }
  return pixel;
}

/* Col2Im: columns (input 0) summed into the image (output 0); or, gather, the gradient: the
 * columns (output 0) read from the image (input 0). */
static void walk(const fold_geometry *g, double *columns, double *image, bool gather) {
  if (!gather) memset(image, 0, (size_t)(g->batch * g->channels * g->pixels) * sizeof *image);
  for (int64_t b = 0; b < g->batch * g->channels; b++)
    for (int64_t k = 0; k < g->block; k++)
      for (int64_t l = 0; l < g->positions; l++) {
        int64_t pixel = pixel_of(g, k, l);
        double *value = &columns[(b * g->block + k) * g->positions + l];
        if (gather)
          *value = pixel < 0 ? 0.0 : image[b * g->pixels + pixel];
        else if (pixel >= 0)
          image[b * g->pixels + pixel] += *value;
      }
}

IPRO_REFERENCE_KERNEL(ipro_reference_col2im) {
  (void)context;
  ipro_shape columns, image;
  fold_geometry g;
  if (ipro_reference_input_shape(graph, node, 0, &columns, err) ||
      ipro_reference_output_shape(graph, node, 0, &image, err) ||
      read_geometry(node, &columns, &image, &g, err))
    return IPRO_ERROR;
  walk(&g, inputs[0], outputs[0], false);
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_col2im_grad) {
  (void)context;
  ipro_shape columns, image;
  fold_geometry g;
  if (ipro_reference_output_shape(graph, node, 0, &columns, err) ||
      ipro_reference_input_shape(graph, node, 0, &image, err) ||
      read_geometry(node, &columns, &image, &g, err))
    return IPRO_ERROR;
  walk(&g, outputs[0], inputs[0], true);
  return IPRO_OK;
}
