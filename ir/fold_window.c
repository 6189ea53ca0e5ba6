/* Col2Im's sliding window (fold_window.h). */
#include "ir/fold_window.h"

#include "ir/checked_size.h"

const char *ipro_fold_window_grid(int n, const int64_t *image, const int64_t *kernel,
                                  const int64_t *strides, const int64_t *dilations,
                                  const int64_t *pads, int64_t *grid, int64_t *positions,
                                  int64_t *block_values) {
  for (int i = 0; i < n; i++) {
    int64_t extent, padded;
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 || pads[n + i] < 0)
      return "a block, stride, dilation or pad out of range";
    if (!ipro_checked_mul(kernel[i] - 1, dilations[i], &extent) ||
        !ipro_checked_add(extent, 1, &extent) || !ipro_checked_add(image[i], pads[i], &padded) ||
        !ipro_checked_add(padded, pads[n + i], &padded))
      return "the window does not fit int64";
    if (image[i] < 1 || padded < extent) return "a block does not fit the image";
    grid[i] = (padded - extent) / strides[i] + 1;
  }
  if (!ipro_checked_product(grid, n, positions) || !ipro_checked_product(kernel, n, block_values))
    return "the window's positions or a block's values do not fit int64";
  return NULL;
}
