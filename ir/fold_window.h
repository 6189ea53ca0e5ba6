/* Col2Im's sliding window (F.fold), for the frontend's shape inference and the reference kernels:
 * along each of n spatial axes a block of kernel values, dilated, slides with its stride over the
 * image padded by pads (begins, then ends); its positions form the grid. */
#ifndef IPRO_FOLD_WINDOW_H
#define IPRO_FOLD_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

/* The grid's extent along each axis into grid, their product into *positions and the block's
 * values into *block_values. NULL, or what is wrong: a block that does not fit an axis (or an
 * image of extent below 1), or a count that does not fit int64. */
const char *ipro_fold_window_grid(int n, const int64_t *image, const int64_t *kernel,
                                  const int64_t *strides, const int64_t *dilations,
                                  const int64_t *pads, int64_t *grid, int64_t *positions,
                                  int64_t *block_values);

#endif
