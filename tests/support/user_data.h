/* Writers for the users'-own-data formats, so that tests make their inputs from Fashion-MNIST in
 * C: NumPy .npz archives (zip of .npy, stored or deflated with zlib, with numpy's ZIP64 local
 * headers or plain ones) and PNG image folders (libpng's simplified write API). */
#ifndef IPRO_TEST_USER_DATA_H
#define IPRO_TEST_USER_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/dataset.h"

typedef struct {
  const char *name;  /* e.g. "x_train" (".npy" is appended) */
  const char *descr; /* numpy dtype string, e.g. "|u1", "<f4", "<i8" */
  int rank;
  int64_t dims[4];
  const void *data;
  size_t bytes;
  bool fortran_order;
} ipro_test_npy;

/* deflate: members compressed with zlib (numpy.savez_compressed) instead of stored; zip64_local:
 * local headers as numpy writes them (sizes 0xFFFFFFFF and a ZIP64 extra field). */
bool ipro_test_write_npz(const char *path, const ipro_test_npy *arrays, int count, bool deflate,
                         bool zip64_local);

/* An image folder for the 1×28×28 models with one black grey image a class: FOLDER/train/kC/0.png
 * and FOLDER/val/kC/0.png for C = 0 .. classes-1 (folders made as needed). */
bool ipro_test_write_tiny_image_folder(const char *folder, int classes);

/* Writes an 8-bit PNG of channels 1 (grey) or 3 (RGB) from HWC pixels. */
bool ipro_test_write_png(const char *path, int width, int height, int channels,
                         const uint8_t *pixels);

/* The first `count` examples of data reordered by label (stable), the order an image folder
 * lists them in: a new dataset the caller frees. */
bool ipro_test_sorted_by_label(const ipro_dataset *data, int64_t count, ipro_dataset *out);

/* Pixel (y, x) of the box (top, left, box_height, box_width) of a grey image whose rows hold
 * `width` pixels, shrunk by 2: the [1 3 3 1]/8 filter in each direction (PIL's bilinear at scale
 * 1/2), taps outside the box left out and the weights renormalised as at the borders of PIL's
 * resize, rounded to the nearest level. The brute-force oracle of the image resampler. */
int ipro_test_halved(const uint8_t *image, int width, int top, int left, int box_height,
                     int box_width, int y, int x);

/* Writes every example of data (grey, CHW = HW) as ROOT/SPLIT/cLABEL/NNNNN.png. */
bool ipro_test_write_image_folder(const char *root, const char *split, const ipro_dataset *data);

#endif
