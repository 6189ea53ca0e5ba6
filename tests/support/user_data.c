/* Test-side writers of .npz archives and PNG image folders (see user_data.h). The zip layout
 * follows PKWARE's APPNOTE: local header, data, central directory, end record; CRC-32 from zlib. */
#include "user_data.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "ir/atomic_file.h"

static void put16(FILE *f, uint32_t v) {
  fputc((int)(v & 255), f);
  fputc((int)(v >> 8 & 255), f);
}
static void put32(FILE *f, uint32_t v) {
  put16(f, v & 0xFFFF);
  put16(f, v >> 16);
}
static void put64(FILE *f, uint64_t v) {
  put32(f, (uint32_t)v);
  put32(f, (uint32_t)(v >> 32));
}

/* The .npy bytes of one array (version 1.0, header padded to a multiple of 64). */
static uint8_t *npy_bytes(const ipro_test_npy *a, size_t *length) {
  char header[256], shape[128] = "";
  size_t used = 0;
  for (int d = 0; d < a->rank; d++)
    used += (size_t)snprintf(shape + used, sizeof shape - used, "%lld%s", (long long)a->dims[d],
                             a->rank == 1 || d + 1 < a->rank ? ", " : "");
  if (a->rank == 1) shape[used - 1] = '\0'; /* "(N,)" */
  int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }",
                   a->descr, a->fortran_order ? "True" : "False", shape);
  size_t total = 10 + (size_t)n + 1, padded = (total + 63) / 64 * 64;
  *length = padded + a->bytes;
  uint8_t *bytes = malloc(*length);
  if (!bytes) return NULL;
  memcpy(bytes, "\x93NUMPY\x01\x00", 8);
  bytes[8] = (uint8_t)((padded - 10) & 255), bytes[9] = (uint8_t)((padded - 10) >> 8);
  memcpy(bytes + 10, header, (size_t)n);
  memset(bytes + 10 + n, ' ', padded - 10 - (size_t)n);
  bytes[padded - 1] = '\n';
  memcpy(bytes + padded, a->data, a->bytes);
  return bytes;
}

static uint8_t *deflated(const uint8_t *in, size_t length, size_t *out_length) {
  z_stream z = {0};
  if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
  size_t bound = deflateBound(&z, (uLong)length);
  uint8_t *out = malloc(bound);
  z.next_in = (Bytef *)in, z.avail_in = (uInt)length;
  z.next_out = out, z.avail_out = (uInt)bound;
  int code = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
  *out_length = z.total_out;
  deflateEnd(&z);
  if (code != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

bool ipro_test_write_npz(const char *path, const ipro_test_npy *arrays, int count, bool deflate,
                         bool zip64_local) {
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  struct {
    char name[64];
    uint32_t crc, offset;
    size_t size, stored;
  } entries[8];
  bool ok = count <= 8;
  for (int i = 0; ok && i < count; i++) {
    size_t length = 0, stored_length = 0;
    uint8_t *raw = npy_bytes(&arrays[i], &length);
    uint8_t *stored = raw && deflate ? deflated(raw, length, &stored_length) : raw;
    if (!deflate) stored_length = length;
    ok = raw && stored;
    if (ok) {
      snprintf(entries[i].name, sizeof entries[i].name, "%s.npy", arrays[i].name);
      entries[i].crc = (uint32_t)crc32(0, raw, (uInt)length);
      entries[i].offset = (uint32_t)ftell(f);
      entries[i].size = length, entries[i].stored = stored_length;
      size_t name_length = strlen(entries[i].name);
      put32(f, 0x04034b50);
      put16(f, zip64_local ? 45 : 20);
      put16(f, 0);
      put16(f, deflate ? 8 : 0);
      put16(f, 0), put16(f, 0x21);
      put32(f, entries[i].crc);
      put32(f, zip64_local ? 0xFFFFFFFFu : (uint32_t)stored_length);
      put32(f, zip64_local ? 0xFFFFFFFFu : (uint32_t)length);
      put16(f, (uint32_t)name_length);
      put16(f, zip64_local ? 20 : 0);
      fwrite(entries[i].name, 1, name_length, f);
      if (zip64_local) {
        put16(f, 1), put16(f, 16);
        put64(f, length), put64(f, stored_length);
      }
      fwrite(stored, 1, stored_length, f);
    }
    if (stored != raw) free(stored);
    free(raw);
  }
  uint32_t directory = (uint32_t)ftell(f);
  for (int i = 0; ok && i < count; i++) {
    size_t name_length = strlen(entries[i].name);
    put32(f, 0x02014b50);
    put16(f, 20), put16(f, 20), put16(f, 0);
    put16(f, deflate ? 8 : 0);
    put16(f, 0), put16(f, 0x21);
    put32(f, entries[i].crc);
    put32(f, (uint32_t)entries[i].stored);
    put32(f, (uint32_t)entries[i].size);
    put16(f, (uint32_t)name_length);
    put16(f, 0), put16(f, 0), put16(f, 0), put16(f, 0);
    put32(f, 0);
    put32(f, entries[i].offset);
    fwrite(entries[i].name, 1, name_length, f);
  }
  uint32_t directory_size = (uint32_t)ftell(f) - directory;
  put32(f, 0x06054b50);
  put16(f, 0), put16(f, 0);
  put16(f, (uint32_t)count), put16(f, (uint32_t)count);
  put32(f, directory_size);
  put32(f, directory);
  put16(f, 0);
  return fclose(f) == 0 && ok;
}

bool ipro_test_write_png(const char *path, int width, int height, int channels,
                         const uint8_t *pixels) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = (png_uint_32)width, image.height = (png_uint_32)height;
  image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  return png_image_write_to_file(&image, path, 0, pixels, 0, NULL) != 0;
}

bool ipro_test_sorted_by_label(const ipro_dataset *data, int64_t count, ipro_dataset *out) {
  *out = *data;
  out->count = count;
  size_t image = (size_t)data->channels * (size_t)data->height * (size_t)data->width;
  out->images = malloc(image * (size_t)count);
  out->labels = malloc(sizeof *out->labels * (size_t)count);
  out->class_names = NULL, out->skipped_paths = NULL, out->skipped = 0;
  out->unread_format_example = NULL, out->unread_format_files = 0;
  if (!out->images || !out->labels) return false;
  int64_t at = 0;
  for (int label = 0; label < data->num_classes; label++)
    for (int64_t i = 0; i < count; i++)
      if (data->labels[i] == label) {
        memcpy(out->images + (size_t)at * image, data->images + (size_t)i * image, image);
        out->labels[at++] = label;
      }
  return at == count;
}

bool ipro_test_write_image_folder(const char *root, const char *split, const ipro_dataset *data) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", root, split);
  mkdir(root, 0755);
  mkdir(path, 0755);
  size_t image = (size_t)data->height * (size_t)data->width;
  for (int64_t i = 0; i < data->count; i++) {
    snprintf(path, sizeof path, "%s/%s/c%d", root, split, data->labels[i]);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/c%d/%05lld.png", root, split, data->labels[i], (long long)i);
    if (!ipro_test_write_png(path, data->width, data->height, 1, data->images + (size_t)i * image))
      return false;
  }
  return true;
}

int ipro_test_halved(const uint8_t *image, int width, int top, int left, int box_height,
                     int box_width, int y, int x) {
  static const double taps[4] = {1, 3, 3, 1};
  double sum = 0, weight = 0;
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++) {
      int sy = 2 * y - 1 + a, sx = 2 * x - 1 + b;
      if (sy < 0 || sy >= box_height || sx < 0 || sx >= box_width) continue;
      sum += taps[a] * taps[b] * image[(top + sy) * width + left + sx];
      weight += taps[a] * taps[b];
    }
  return (int)(sum / weight + 0.5);
}

bool ipro_test_write_tiny_image_folder(const char *folder, int classes) {
  uint8_t black[28 * 28] = {0};
  char path[1024];
  bool written = true;
  for (int c = 0; c < classes && written; c++)
    for (int s = 0; s < 2 && written; s++) {
      ipro_error err;
      snprintf(path, sizeof path, "%s/%s/k%d", folder, s ? "val" : "train", c);
      written = ipro_make_directories(path, &err) == IPRO_OK;
      snprintf(path + strlen(path), sizeof path - strlen(path), "/0.png");
      written = written && ipro_test_write_png(path, 28, 28, 1, black);
    }
  return written;
}
