/* PIL-style bilinear resampling of uint8 images (see image_resample.h). One separable resampler
 * reads any pixel layout through strides (HWC as decoded, CHW as a dataset stores) and any box of
 * the source, resizes it, and writes a window of the result in CHW: fitting, shrinking for
 * storage and random-resized-crop are each one call of it with different arguments. */
#include "image_resample.h"

#include <math.h>
#include <stdlib.h>

/* The weights of each output index along one axis: out index o reads source indices
 * first[o] .. first[o] + count[o] - 1 (relative to the box) with weights[o * stride ..]. */
typedef struct {
  int *first, *count;
  double *weights;
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
  f->weights = malloc(sizeof(double) * (size_t)size * (size_t)f->stride);
  if (!f->first || !f->count || !f->weights) return false;
  for (int o = 0; o < size; o++) {
    double centre = (o + offset + 0.5) * scale;
    int low = (int)(centre - support + 0.5), high = (int)(centre + support + 0.5);
    if (low < 0) low = 0;
    if (high > source) high = source;
    if (high - low > f->stride) high = low + f->stride;
    double *w = f->weights + (size_t)o * (size_t)f->stride, total = 0;
    for (int j = low; j < high; j++) {
      double x = fabs((j - centre + 0.5) / filter_scale);
      w[j - low] = x < 1 ? 1 - x : 0;
      total += w[j - low];
    }
    for (int j = low; j < high && total > 0; j++)
      w[j - low] /= total;
    f->first[o] = low;
    f->count[o] = high - low;
  }
  return true;
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
  double *rows = malloc(sizeof(double) * (size_t)b.height * (size_t)width * (size_t)channels);
  bool made = rows && axis_filter_make(b.height, resized_height, offset_y, height, &fy) &&
              axis_filter_make(b.width, resized_width, offset_x, width, &fx);
  if (made) {
    /* Horizontal pass over the box's rows into rows[box row, x, c]. */
    for (int y = 0; y < b.height; y++)
      for (int x = 0; x < width; x++) {
        const double *w = fx.weights + (size_t)x * (size_t)fx.stride;
        const uint8_t *start =
            v->pixels + (size_t)(b.top + y) * v->row + (size_t)(b.left + fx.first[x]) * v->column;
        for (int c = 0; c < channels; c++) {
          const uint8_t *p = start + (size_t)c * v->channel;
          double sum = 0;
          for (int k = 0; k < fx.count[x]; k++)
            sum += w[k] * p[(size_t)k * v->column];
          rows[((size_t)y * (size_t)width + (size_t)x) * (size_t)channels + (size_t)c] = sum;
        }
      }
    /* Vertical pass into out[c, y, x], rounded and clamped to a level. */
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        for (int c = 0; c < channels; c++) {
          const double *w = fy.weights + (size_t)y * (size_t)fy.stride;
          double sum = 0;
          for (int k = 0; k < fy.count[y]; k++)
            sum += w[k] *
                   rows[((size_t)(fy.first[y] + k) * (size_t)width + (size_t)x) * (size_t)channels +
                        (size_t)c];
          long value = lround(sum);
          out[((size_t)c * (size_t)height + (size_t)y) * (size_t)width + (size_t)x] =
              (uint8_t)(value < 0     ? 0
                        : value > 255 ? 255
                                      : value);
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
  double scale_y = (double)height / src_height, scale_x = (double)width / src_width;
  double scale = scale_y > scale_x ? scale_y : scale_x;
  int resized_h = (int)lround(src_height * scale), resized_w = (int)lround(src_width * scale);
  if (resized_h < height) resized_h = height;
  if (resized_w < width) resized_w = width;
  int top = (int)lround((resized_h - height) / 2.0), left = (int)lround((resized_w - width) / 2.0);
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
