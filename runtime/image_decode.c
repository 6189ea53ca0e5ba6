/* PNG and JPEG decoding, channel conversion and resize-and-crop for image-folder datasets (see
 * image_decode.h). libpng's simplified API and libjpeg-turbo's classic API do the decoding; a
 * corrupt file makes them report through their error paths (libpng fills image.message, libjpeg
 * calls error_exit, which here longjmps back with the library's own text), never abort. */
#include "image_decode.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#define MAX_SIDE 30000
#define MAX_PIXELS ((size_t)1 << 28)

/* ---- decoding into HWC with the file's own channel count (1 or 3) ---- */

static ipro_status decode_png(const char *path, uint8_t **pixels, int *height, int *width,
                              int *channels, ipro_error *err) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path))
    return ipro_error_set(err, "%s: unreadable PNG: %s", path, image.message);
  if (image.width < 1 || image.height < 1 || image.width > MAX_SIDE || image.height > MAX_SIDE) {
    png_image_free(&image);
    return ipro_error_set(err, "%s: PNG of %ux%u pixels is outside 1..%d per side", path,
                          image.width, image.height, MAX_SIDE);
  }
  *channels = image.format & PNG_FORMAT_FLAG_COLOR ? 3 : 1;
  image.format = *channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  *height = (int)image.height, *width = (int)image.width;
  *pixels = malloc(PNG_IMAGE_SIZE(image));
  if (!*pixels) {
    png_image_free(&image);
    return ipro_error_set(err, "%s: out of memory for a %dx%d image", path, *width, *height);
  }
  /* A transparent pixel becomes its colour over black, so decoding depends on the file alone. */
  png_color black = {0, 0, 0};
  if (!png_image_finish_read(&image, &black, *pixels, 0, NULL)) {
    free(*pixels);
    *pixels = NULL;
    return ipro_error_set(err, "%s: corrupt PNG: %s", path, image.message);
  }
  return IPRO_OK;
}

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf escape;
  char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void jpeg_escape(j_common_ptr info) {
  jpeg_failure *failure = (jpeg_failure *)info->err;
  failure->base.format_message(info, failure->message);
  longjmp(failure->escape, 1);
}

/* Warnings (a truncated file that libjpeg pads with grey) count as corruption too. */
static void jpeg_warning(j_common_ptr info, int level) {
  if (level < 0) jpeg_escape(info);
}

static ipro_status decode_jpeg(const char *path, uint8_t **pixels, int *height, int *width,
                               int *channels, ipro_error *err) {
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "%s: cannot open", path);
  struct jpeg_decompress_struct info;
  jpeg_failure failure;
  info.err = jpeg_std_error(&failure.base);
  failure.base.error_exit = jpeg_escape;
  failure.base.emit_message = jpeg_warning;
  uint8_t *volatile buffer = NULL;
  if (setjmp(failure.escape)) {
    jpeg_destroy_decompress(&info);
    fclose(file);
    free(buffer);
    return ipro_error_set(err, "%s: corrupt JPEG: %s", path, failure.message);
  }
  jpeg_create_decompress(&info);
  jpeg_stdio_src(&info, file);
  jpeg_read_header(&info, TRUE);
  info.out_color_space = info.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  int w = (int)info.output_width, h = (int)info.output_height, c = info.output_components;
  if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE || (size_t)w * (size_t)h > MAX_PIXELS) {
    jpeg_destroy_decompress(&info);
    fclose(file);
    return ipro_error_set(err, "%s: JPEG of %dx%d pixels is too large", path, w, h);
  }
  buffer = malloc((size_t)w * (size_t)h * (size_t)c);
  if (!buffer) {
    jpeg_destroy_decompress(&info);
    fclose(file);
    return ipro_error_set(err, "%s: out of memory for a %dx%d image", path, w, h);
  }
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = buffer + (size_t)info.output_scanline * (size_t)w * (size_t)c;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  fclose(file);
  *pixels = buffer, *height = h, *width = w, *channels = c;
  return IPRO_OK;
}

/* ---- resampling ---- */

/* The weights of each output index along one axis: out index o reads source indices
 * first[o] .. first[o] + count[o] - 1 with weights[o * stride ..]. */
typedef struct {
  int *first, *count;
  double *weights;
  int stride;
} axis_filter;

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

bool ipro_image_fit(const uint8_t *src, int src_height, int src_width, int channels, int height,
                    int width, uint8_t *out) {
  double scale_y = (double)height / src_height, scale_x = (double)width / src_width;
  double scale = scale_y > scale_x ? scale_y : scale_x;
  int resized_h = (int)lround(src_height * scale), resized_w = (int)lround(src_width * scale);
  if (resized_h < height) resized_h = height;
  if (resized_w < width) resized_w = width;
  int top = (int)lround((resized_h - height) / 2.0), left = (int)lround((resized_w - width) / 2.0);
  axis_filter fy = {0}, fx = {0};
  double *rows = malloc(sizeof(double) * (size_t)src_height * (size_t)width * (size_t)channels);
  bool made = rows && axis_filter_make(src_height, resized_h, top, height, &fy) &&
              axis_filter_make(src_width, resized_w, left, width, &fx);
  if (made) {
    for (int y = 0; y < src_height; y++)
      for (int x = 0; x < width; x++)
        for (int c = 0; c < channels; c++) {
          const double *w = fx.weights + (size_t)x * (size_t)fx.stride;
          double sum = 0;
          for (int k = 0; k < fx.count[x]; k++)
            sum +=
                w[k] *
                src[((size_t)y * (size_t)src_width + (size_t)(fx.first[x] + k)) * (size_t)channels +
                    (size_t)c];
          rows[((size_t)y * (size_t)width + (size_t)x) * (size_t)channels + (size_t)c] = sum;
        }
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

/* ---- the whole path ---- */

static bool starts_with(const uint8_t *bytes, size_t length, const char *magic, size_t n) {
  return length >= n && memcmp(bytes, magic, n) == 0;
}

/* Converts HWC pixels from `have` to `want` channels in place order (a new buffer). */
static uint8_t *convert_channels(const uint8_t *pixels, size_t count, int have, int want) {
  uint8_t *out = malloc(count * (size_t)want);
  if (!out) return NULL;
  for (size_t i = 0; i < count; i++) {
    const uint8_t *p = pixels + i * (size_t)have;
    if (want == 1) {
      out[i] = (uint8_t)((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
    } else {
      for (int c = 0; c < 3; c++)
        out[i * 3 + (size_t)c] = p[0];
    }
  }
  return out;
}

ipro_status ipro_image_decode(const char *path, int channels, int height, int width, uint8_t *out,
                              ipro_error *err) {
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "%s: cannot open", path);
  uint8_t magic[8];
  size_t got = fread(magic, 1, sizeof magic, file);
  fclose(file);
  uint8_t *pixels = NULL;
  int h = 0, w = 0, have = 0;
  ipro_status status;
  if (starts_with(magic, got, "\x89PNG\r\n\x1a\n", 8))
    status = decode_png(path, &pixels, &h, &w, &have, err);
  else if (starts_with(magic, got, "\xff\xd8\xff", 3))
    status = decode_jpeg(path, &pixels, &h, &w, &have, err);
  else
    return ipro_error_set(err, "%s: neither a PNG nor a JPEG file", path);
  if (status != IPRO_OK) return status;
  if (have != channels) {
    uint8_t *converted = convert_channels(pixels, (size_t)h * (size_t)w, have, channels);
    free(pixels);
    if (!converted) return ipro_error_set(err, "%s: out of memory", path);
    pixels = converted;
  }
  bool fitted = ipro_image_fit(pixels, h, w, channels, height, width, out);
  free(pixels);
  if (!fitted) return ipro_error_set(err, "%s: out of memory resizing a %dx%d image", path, w, h);
  return IPRO_OK;
}
