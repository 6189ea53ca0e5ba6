/* PIL-style bilinear resampling of uint8 images (see image_resample.h). One separable resampler
 * reads any pixel layout through strides (HWC as decoded, CHW as a dataset stores) and any box of
 * the source, resizes it, and writes a window of the result in CHW: fitting, shrinking for
 * storage and random-resized-crop are each one call of it with different arguments.
 *
 * The arithmetic is Pillow's (its ImagingResample, which torchvision's Resize calls on a PIL
 * image), so that the bytes are the ones torchvision trains on (exactly for the fit at load,
 * runtime.test_image_as_pillow; within 1 level for some random-resized crops, where Pillow 13
 * runs the vertical pass first by a rule not established): each axis's weights computed in
 * double, normalised, then held as integers of 22 fraction bits (rounded); the horizontal pass
 * first, its sums rounded (half a unit added, shifted) and clamped to uint8, then the vertical
 * pass from those bytes the same way. */
#include "image_resample.h"

#include <math.h>
#include <stdlib.h>

/* Pillow's fraction bits of a weight: 32 bits less 8 for a sample and 2 for the sums' sign and
 * overshoot. */
#define PRECISION_BITS 22

/* The weights of each output index along one axis: out index o reads source indices
 * first[o] .. first[o] + count[o] - 1 (relative to the box) with weights[o * stride ..], each a
 * fraction of 2^PRECISION_BITS. */
typedef struct {
  int *first, *count;
  int32_t *weights;
  int stride;
} axis_filter;

/* source: the box's length; resized: the length it is scaled to; the output is `size` indices of
 * the resized axis starting at `offset`. */
static bool axis_filter_make(int source, int resized, int offset, int size, axis_filter *f) {
  double scale = (double)source / resized, filter_scale = scale > 1 ? scale : 1,
         support = filter_scale;
  f->stride = (int)ceil(support) * 2 + 1;
  f->first = malloc(sizeof(int) * (size_t)size);
  f->count = malloc(sizeof(int) * (size_t)size);
  f->weights = malloc(sizeof(int32_t) * (size_t)size * (size_t)f->stride);
  double *w = malloc(sizeof(double) * (size_t)f->stride);
  if (!f->first || !f->count || !f->weights || !w) {
    free(w);
    return false;
  }
  for (int o = 0; o < size; o++) {
    double centre = (o + offset + 0.5) * scale;
    int low = (int)(centre - support + 0.5), high = (int)(centre + support + 0.5);
    if (low < 0) low = 0;
    if (high > source) high = source;
    if (high - low > f->stride) high = low + f->stride;
    double total = 0;
    for (int j = low; j < high; j++) {
      double x = fabs((j - centre + 0.5) / filter_scale);
      w[j - low] = x < 1 ? 1 - x : 0;
      total += w[j - low];
    }
    int32_t *fixed = f->weights + (size_t)o * (size_t)f->stride;
    for (int j = low; j < high; j++) {
      double weight = total > 0 ? w[j - low] / total : 0;
      fixed[j - low] = (int32_t)(weight * (1 << PRECISION_BITS) + (weight < 0 ? -0.5 : 0.5));
    }
    f->first[o] = low;
    f->count[o] = high - low;
  }
  free(w);
  return true;
}

/* A sum of weighted samples back to a sample: rounded and clamped to 0..255. */
static uint8_t to_sample(int64_t sum) {
  int64_t value = (sum + (1 << (PRECISION_BITS - 1))) >> PRECISION_BITS;
  return (uint8_t)(value < 0 ? 0 : value > 255 ? 255 : value);
}

static void axis_filter_free(axis_filter *f) {
  free(f->first);
  free(f->count);
  free(f->weights);
}

/* Pixel (y, x, c) of an image is pixels[y * row + x * column + c * channel]. */
typedef struct {
  const uint8_t *pixels;
  size_t row, column, channel;
  int channels;
} image_view;

/* A box of the view resized to resized_height x resized_width, of which the height x width
 * window at (offset_y, offset_x) is written into out (CHW). */
typedef struct {
  int top, left, height, width;
} box;

static bool resample(const image_view *v, box b, int resized_height, int resized_width,
                     int offset_y, int offset_x, int height, int width, uint8_t *out) {
  int channels = v->channels;
  axis_filter fy = {0}, fx = {0};
  uint8_t *rows = malloc((size_t)b.height * (size_t)width * (size_t)channels);
  bool made = rows && axis_filter_make(b.height, resized_height, offset_y, height, &fy) &&
              axis_filter_make(b.width, resized_width, offset_x, width, &fx);
  if (made) {
    /* Horizontal pass over the box's rows into rows[box row, x, c], as bytes. */
    for (int y = 0; y < b.height; y++)
      for (int x = 0; x < width; x++) {
        const int32_t *w = fx.weights + (size_t)x * (size_t)fx.stride;
        const uint8_t *start =
            v->pixels + (size_t)(b.top + y) * v->row + (size_t)(b.left + fx.first[x]) * v->column;
        for (int c = 0; c < channels; c++) {
          const uint8_t *p = start + (size_t)c * v->channel;
          int64_t sum = 0;
          for (int k = 0; k < fx.count[x]; k++)
            sum += (int64_t)w[k] * p[(size_t)k * v->column];
          rows[((size_t)y * (size_t)width + (size_t)x) * (size_t)channels + (size_t)c] =
              to_sample(sum);
        }
      }
    /* Vertical pass from those bytes into out[c, y, x]. */
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        for (int c = 0; c < channels; c++) {
          const int32_t *w = fy.weights + (size_t)y * (size_t)fy.stride;
          int64_t sum = 0;
          for (int k = 0; k < fy.count[y]; k++)
            sum += (int64_t)w[k] *
                   rows[((size_t)(fy.first[y] + k) * (size_t)width + (size_t)x) * (size_t)channels +
                        (size_t)c];
          out[((size_t)c * (size_t)height + (size_t)y) * (size_t)width + (size_t)x] =
              to_sample(sum);
        }
  }
  free(rows);
  axis_filter_free(&fy);
  axis_filter_free(&fx);
  return made;
}

static image_view hwc_view(const uint8_t *src, int width, int channels) {
  return (image_view){src, (size_t)width * (size_t)channels, (size_t)channels, 1, channels};
}

bool ipro_image_fit(const uint8_t *src, int src_height, int src_width, int channels, int height,
                    int width, uint8_t *out) {
  /* torchvision's Resize(size) then CenterCrop: the side that must grow most to cover the target
   * is scaled to it exactly, the other to int(target * other / side) (truncated, as
   * _compute_resized_output_size does; never below its target); the crop starts at
   * int(round(excess / 2)), Python's round, ties to even (nearbyint in the default rounding
   * mode) */
  int resized_h, resized_w;
  if ((double)height / src_height >= (double)width / src_width) {
    resized_h = height;
    resized_w = (int)((double)height * src_width / src_height);
  } else {
    resized_w = width;
    resized_h = (int)((double)width * src_height / src_width);
  }
  if (resized_h < height) resized_h = height;
  if (resized_w < width) resized_w = width;
  int top = (int)nearbyint((resized_h - height) / 2.0),
      left = (int)nearbyint((resized_w - width) / 2.0);
  image_view view = hwc_view(src, src_width, channels);
  return resample(&view, (box){0, 0, src_height, src_width}, resized_h, resized_w, top, left,
                  height, width, out);
}

bool ipro_image_resize(const uint8_t *src, int src_height, int src_width, int channels, int height,
                       int width, uint8_t *out) {
  image_view view = hwc_view(src, src_width, channels);
  return resample(&view, (box){0, 0, src_height, src_width}, height, width, 0, 0, height, width,
                  out);
}

bool ipro_image_resize_box(const uint8_t *src, int src_height, int src_width, int channels, int top,
                           int left, int box_height, int box_width, int height, int width,
                           uint8_t *out) {
  size_t plane = (size_t)src_height * (size_t)src_width;
  image_view view = {src, (size_t)src_width, 1, plane, channels};
  return resample(&view, (box){top, left, box_height, box_width}, height, width, 0, 0, height,
                  width, out);
}
