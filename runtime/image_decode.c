/* PNG and JPEG decoding and channel conversion for image-folder datasets, handing the pixels to
 * image_resample.c to be fitted or kept uncropped (see image_decode.h). libpng's simplified API and
 * libjpeg-turbo's classic API do the decoding; a corrupt file makes them report through their error
 * paths (libpng fills image.message, libjpeg calls error_exit, which here longjmps back with the
 * library's own text), never abort. */
#include "image_decode.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "image_resample.h"

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
  /* Read as PIL's convert("RGB"/"L") and torchvision's read_image do: an alpha channel is read
   * and dropped, not composited (a half-transparent pixel keeps its colour), and 16-bit samples
   * without a gAMA or sRGB chunk are taken as sRGB-encoded, scaled to 8 bits (libpng's simplified
   * API otherwise takes them as linear light and converts them: a gray 0x8080 read 0.729, not
   * 0.502). */
  bool alpha = image.format & PNG_FORMAT_FLAG_ALPHA;
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  image.format = *channels == 3 ? (alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB)
                                : (alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
  *height = (int)image.height, *width = (int)image.width;
  *pixels = malloc(PNG_IMAGE_SIZE(image));
  if (!*pixels) {
    png_image_free(&image);
    return ipro_error_set(err, "%s: out of memory for a %dx%d image", path, *width, *height);
  }
  if (!png_image_finish_read(&image, NULL, *pixels, 0, NULL)) {
    free(*pixels);
    *pixels = NULL;
    return ipro_error_set(err, "%s: corrupt PNG: %s", path, image.message);
  }
  if (alpha) { /* each pixel's colour samples moved down over the alpha bytes */
    size_t count = (size_t)*height * (size_t)*width, colours = (size_t)*channels;
    for (size_t i = 0; i < count; i++)
      memmove(*pixels + i * colours, *pixels + i * (colours + 1), colours);
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

/* CMYK pixels as a JPEG holds them to RGB in place (4 bytes a pixel in, 3 out), as torchvision's
 * ImageFolder gets them: Pillow reads a CMYK JPEG's samples as inverted (Adobe's convention,
 * which Photoshop writes and Pillow assumes for every CMYK JPEG) and converts with
 * R = (255 - K) - (255 - K)·C/255 in integers, C and K the un-inverted ink: with the stored
 * samples s, R = s_K - round(s_K·(255 - s_C)/255) (Pillow's MULDIV255 rounding). */
static void cmyk_to_rgb(uint8_t *pixels, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const uint8_t *in = pixels + 4 * i;
    unsigned black = in[3]; /* 255 - K */
    uint8_t rgb[3];
    for (int c = 0; c < 3; c++) {
      unsigned product = (255u - in[c]) * black + 128u;
      rgb[c] = (uint8_t)(black - (((product >> 8) + product) >> 8));
    }
    memcpy(pixels + 3 * i, rgb, 3); /* 3i + 3 <= 4i + 4: never ahead of what is still to read */
  }
}

static ipro_status decode_jpeg(const char *path, uint8_t **pixels, int *height, int *width,
                               int *channels, ipro_error *err) {
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "%s: cannot open: %s", path, strerror(errno));
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
  /* CMYK (and YCCK, which libjpeg turns into CMYK) is read as CMYK and converted below, as
   * Pillow converts it; libjpeg converts nothing else to RGB from it */
  bool cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
  info.out_color_space = info.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE
                         : cmyk                                 ? JCS_CMYK
                                                                : JCS_RGB;
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
  if (cmyk) {
    cmyk_to_rgb(buffer, (size_t)w * (size_t)h);
    c = 3;
  }
  *pixels = buffer, *height = h, *width = w, *channels = c;
  return IPRO_OK;
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
      /* ITU-R 601-2 luma in 16-bit fixed point, rounded, as Pillow's convert('L') and
       * libjpeg's RGB-to-grey compute it (0.299, 0.587, 0.114 each times 65536, rounded) */
      out[i] = (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 32768u) >> 16);
    } else {
      for (int c = 0; c < 3; c++)
        out[i * 3 + (size_t)c] = p[0];
    }
  }
  return out;
}

/* The file's pixels as HWC with `channels` channels (malloc'd into *pixels). */
static ipro_status decode_pixels(const char *path, int channels, uint8_t **pixels, int *height,
                                 int *width, ipro_error *err) {
  *pixels = NULL;
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "%s: cannot open: %s", path, strerror(errno));
  uint8_t magic[8];
  size_t got = fread(magic, 1, sizeof magic, file);
  fclose(file);
  int have = 0;
  ipro_status status;
  if (starts_with(magic, got, "\x89PNG\r\n\x1a\n", 8))
    status = decode_png(path, pixels, height, width, &have, err);
  else if (starts_with(magic, got, "\xff\xd8\xff", 3))
    status = decode_jpeg(path, pixels, height, width, &have, err);
  else
    return ipro_error_set(err, "%s: neither a PNG nor a JPEG file", path);
  if (status != IPRO_OK) return status;
  if (have != channels) {
    uint8_t *converted =
        convert_channels(*pixels, (size_t)*height * (size_t)*width, have, channels);
    free(*pixels);
    *pixels = converted;
    if (!converted) return ipro_error_set(err, "%s: out of memory", path);
  }
  return IPRO_OK;
}

ipro_status ipro_image_decode(const char *path, int channels, int height, int width, uint8_t *out,
                              ipro_error *err) {
  uint8_t *pixels = NULL;
  int h = 0, w = 0;
  if (decode_pixels(path, channels, &pixels, &h, &w, err) != IPRO_OK) return IPRO_ERROR;
  bool fitted = ipro_image_fit(pixels, h, w, channels, height, width, out);
  free(pixels);
  if (!fitted) return ipro_error_set(err, "%s: out of memory resizing a %dx%d image", path, w, h);
  return IPRO_OK;
}

void ipro_image_kept_size(int height, int width, int cover_height, int cover_width,
                          int *kept_height, int *kept_width) {
  double scale_y = (double)cover_height / height, scale_x = (double)cover_width / width;
  double scale = scale_y > scale_x ? scale_y : scale_x;
  *kept_height = height, *kept_width = width;
  if (scale >= 1) return;
  *kept_height = (int)lround(height * scale), *kept_width = (int)lround(width * scale);
  if (*kept_height < cover_height) *kept_height = cover_height;
  if (*kept_width < cover_width) *kept_width = cover_width;
}

ipro_status ipro_image_decode_kept(const char *path, int channels, int cover_height,
                                   int cover_width, uint8_t **out, int *height, int *width,
                                   ipro_error *err) {
  *out = NULL;
  uint8_t *pixels = NULL;
  int h = 0, w = 0;
  if (decode_pixels(path, channels, &pixels, &h, &w, err) != IPRO_OK) return IPRO_ERROR;
  ipro_image_kept_size(h, w, cover_height, cover_width, height, width);
  *out = malloc((size_t)*height * (size_t)*width * (size_t)channels);
  bool resized = *out && ipro_image_resize(pixels, h, w, channels, *height, *width, *out);
  free(pixels);
  if (!resized) {
    free(*out);
    *out = NULL;
    return ipro_error_set(err, "%s: out of memory resizing a %dx%d image", path, w, h);
  }
  return IPRO_OK;
}
