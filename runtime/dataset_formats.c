/* The two byte formats image datasets are distributed in, read through zlib so that gzipped and
 * plain files are handled alike (see dataset.h).
 *
 * IDX (MNIST, Fashion-MNIST): a big-endian header, magic 0x0000 08 NN (unsigned bytes, NN
 * dimensions) then NN 32-bit sizes, then the bytes. CIFAR binary: fixed-size records of label
 * bytes then a 3x32x32 CHW image, with no header, so the record count comes from the file length.
 *
 * Corrupt input is expected: headers are checked before anything is allocated from them, and the
 * image buffer grows only as data actually arrives, so a header announcing billions of images in a
 * short file gives a "truncated" message rather than a huge allocation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"
#include "ir/checked_size.h"

static ipro_status open_file(const char *path, gzFile *out, ipro_error *err) {
  errno = 0;
  *out = gzopen(path, "rb");
  if (!*out)
    return ipro_error_set(err, "%s: cannot open: %s", path,
                          errno ? strerror(errno) : "out of memory");
  gzbuffer(*out, 1 << 17);
  return IPRO_OK;
}

/* Reads up to bytes bytes; *got is less only at the end of the file. */
static ipro_status read_up_to(gzFile file, const char *path, void *buffer, size_t bytes,
                              size_t *got, ipro_error *err) {
  *got = 0;
  while (*got < bytes) {
    size_t chunk = bytes - *got;
    if (chunk > (1u << 30)) chunk = 1u << 30;
    int n = gzread(file, (char *)buffer + *got, (unsigned)chunk), code;
    const char *message = gzerror(file, &code);
    size_t path_length = strlen(path); /* zlib's message repeats the path */
    if (!strncmp(message, path, path_length) && !strncmp(message + path_length, ": ", 2))
      message += path_length + 2;
    if (n < 0) return ipro_error_set(err, "%s: corrupt gzip data: %s", path, message);
    /* zlib reports a gzip stream cut short (no end marker or checksum yet) as Z_BUF_ERROR while
     * still returning the bytes it could decompress. */
    if (code == Z_BUF_ERROR)
      return ipro_error_set(err, "%s: truncated: the gzip stream ends early (%s)", path, message);
    if (n == 0) break;
    *got += (size_t)n;
  }
  return IPRO_OK;
}

/* ---- IDX ---- */

static uint32_t big_endian(const uint8_t *bytes) {
  return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

/* Opens an IDX file of unsigned bytes with `dimensions` dimensions and reads its sizes. */
static ipro_status open_idx(const char *path, int dimensions, gzFile *file, uint32_t *sizes,
                            ipro_error *err) {
  if (open_file(path, file, err)) return IPRO_ERROR;
  uint8_t header[16];
  size_t header_bytes = 4 + 4 * (size_t)dimensions, got;
  /* The magic number first, so that a wrong file is named as such even when it is short. */
  if (read_up_to(*file, path, header, 4, &got, err)) return IPRO_ERROR;
  uint32_t magic = big_endian(header), expected = 0x0800u | (uint32_t)dimensions;
  if (got == 4 && magic != expected)
    return ipro_error_set(err,
                          "%s: wrong magic number 0x%08x, expected 0x%08x (IDX unsigned bytes, %d "
                          "dimension%s)",
                          path, magic, expected, dimensions, dimensions > 1 ? "s" : "");
  if (got == 4 && read_up_to(*file, path, header + 4, header_bytes - 4, &got, err))
    return IPRO_ERROR;
  if (got < header_bytes - 4)
    return ipro_error_set(err, "%s: truncated: the file ends inside its %zu-byte IDX header", path,
                          header_bytes);
  for (int d = 0; d < dimensions; d++) {
    sizes[d] = big_endian(header + 4 + 4 * d);
    if (sizes[d] == 0 || sizes[d] > INT32_MAX)
      return ipro_error_set(err, "%s: IDX header gives dimension %d a size of %u", path, d,
                            sizes[d]);
  }
  return IPRO_OK;
}

/* Reads exactly `bytes` bytes (the rest of the file) into a new buffer. The buffer starts at
 * 1 MiB and doubles, since a header may announce far more than the file holds (a few reallocs
 * for Fashion-MNIST's 47 MB; 30 times faster fuzzing than starting at 64 MiB). */
static ipro_status read_body(gzFile file, const char *path, size_t bytes, const char *what,
                             uint8_t **out, ipro_error *err) {
  size_t capacity = bytes < (1u << 20) ? bytes : (1u << 20), have = 0, got;
  uint8_t *buffer = malloc(capacity);
  if (!buffer) return ipro_error_set(err, "%s: out of memory for %zu bytes", path, capacity);
  for (;;) {
    if (read_up_to(file, path, buffer + have, capacity - have, &got, err)) goto fail;
    have += got;
    if (have < capacity || have == bytes) break;
    capacity = capacity > bytes / 2 ? bytes : capacity * 2;
    uint8_t *grown = realloc(buffer, capacity);
    if (!grown) {
      ipro_error_set(err, "%s: out of memory for %zu bytes", path, capacity);
      goto fail;
    }
    buffer = grown;
  }
  if (have < bytes) {
    ipro_error_set(err, "%s: truncated: its header announces %s (%zu bytes) but only %zu follow",
                   path, what, bytes, have);
    goto fail;
  }
  uint8_t extra;
  if (read_up_to(file, path, &extra, 1, &got, err)) goto fail;
  if (got) {
    ipro_error_set(err, "%s: data continues after the %s its header announces", path, what);
    goto fail;
  }
  *out = buffer;
  return IPRO_OK;
fail:
  free(buffer);
  return IPRO_ERROR;
}

static ipro_status read_idx_images(const char *path, ipro_dataset *out, ipro_error *err) {
  gzFile file;
  uint32_t sizes[3] = {0};
  ipro_status status = open_idx(path, 3, &file, sizes, err);
  if (status == IPRO_OK) {
    int64_t pixels, bytes;
    char what[96];
    snprintf(what, sizeof what, "%u images of %ux%u", sizes[0], sizes[1], sizes[2]);
    /* An image is one tensor of the batch; the whole set must be addressable. */
    if (sizes[1] > INT32_MAX || sizes[2] > INT32_MAX ||
        !ipro_checked_mul(sizes[1], sizes[2], &pixels) || pixels > IPRO_MAX_TENSOR_ELEMENTS ||
        !ipro_checked_mul(pixels, sizes[0], &bytes) || (uint64_t)bytes > SIZE_MAX)
      status = ipro_error_set(err, "%s: %s is too large", path, what);
    else
      status = read_body(file, path, (size_t)bytes, what, &out->images, err);
  }
  if (file) gzclose(file);
  if (status == IPRO_OK) {
    out->count = sizes[0];
    out->channels = 1;
    out->height = (int)sizes[1];
    out->width = (int)sizes[2];
  }
  return status;
}

/* kind: "" or "coarse "; unit: "example" (IDX) or "record" (CIFAR, counted within the file). */
static ipro_status check_label(const char *path, const char *kind, const char *unit, int64_t index,
                               int label, int classes, ipro_error *err) {
  if (label < classes) return IPRO_OK;
  return ipro_error_set(err, "%s: %slabel %d of %s %lld is outside 0..%d", path, kind, label, unit,
                        (long long)index, classes - 1);
}

ipro_status ipro_dataset_read_idx(const char *images_path, const char *labels_path,
                                  ipro_dataset *out, ipro_error *err) {
  out->images = NULL, out->labels = NULL;
  if (read_idx_images(images_path, out, err)) return IPRO_ERROR;
  gzFile file;
  uint32_t count = 0;
  char what[64];
  ipro_status status = open_idx(labels_path, 1, &file, &count, err);
  /* The two headers' counts are compared before either body is judged, so that a label file
   * whose count is one short says so rather than "data continues after" its labels. */
  if (status == IPRO_OK && (int64_t)count != out->count)
    status = ipro_error_set(err, "%s holds %lld images but %s holds %u labels", images_path,
                            (long long)out->count, labels_path, count);
  uint8_t *stored = NULL; /* a byte a label on disk, widened to the dataset's int32 */
  if (status == IPRO_OK) {
    snprintf(what, sizeof what, "%u labels", count);
    status = read_body(file, labels_path, count, what, &stored, err);
  }
  if (file) gzclose(file);
  if (status == IPRO_OK && !(out->labels = malloc(sizeof *out->labels * (size_t)count)))
    status = ipro_error_set(err, "%s: out of memory for %u labels", labels_path, count);
  for (int64_t i = 0; status == IPRO_OK && i < out->count; i++) {
    out->labels[i] = stored[i];
    status = check_label(labels_path, "", "example", i, out->labels[i], out->num_classes, err);
  }
  free(stored);
  if (status != IPRO_OK) {
    ipro_dataset_free(out);
    return status;
  }
  out->bytes =
      (size_t)out->count * out->height * out->width + sizeof *out->labels * (size_t)out->count;
  return IPRO_OK;
}

/* ---- CIFAR ---- */

/* Appends every record of one file to out, growing its arrays (capacity in examples). */
static ipro_status read_cifar_file(const char *path, int label_bytes, int coarse_classes,
                                   uint8_t *record, size_t pixels, int64_t *capacity,
                                   ipro_dataset *out, ipro_error *err) {
  gzFile file;
  if (open_file(path, &file, err)) return IPRO_ERROR;
  size_t record_bytes = (size_t)label_bytes + pixels, got;
  int64_t first = out->count;
  ipro_status status = IPRO_OK;
  for (;;) {
    if ((status = read_up_to(file, path, record, record_bytes, &got, err)) || got == 0) break;
    int64_t index = out->count - first;
    if (got < record_bytes) {
      status = ipro_error_set(err,
                              "%s: truncated: the file ends inside record %lld (%zu of its %zu "
                              "bytes)",
                              path, (long long)index, got, record_bytes);
      break;
    }
    if (label_bytes == 2 &&
        (status = check_label(path, "coarse ", "record", index, record[0], coarse_classes, err)))
      break;
    int label = record[label_bytes - 1];
    if ((status = check_label(path, "", "record", index, label, out->num_classes, err))) break;
    if (out->count == *capacity) {
      int64_t grown = *capacity ? *capacity * 2 : 256;
      size_t grown_bytes;
      if (!ipro_checked_mul_size((size_t)grown, pixels, &grown_bytes)) {
        status = ipro_error_set(err, "%s: %lld records overflow the size of memory", path,
                                (long long)grown);
        break;
      }
      uint8_t *images = realloc(out->images, grown_bytes);
      if (images) out->images = images;
      int32_t *labels = images ? realloc(out->labels, sizeof *labels * (size_t)grown) : NULL;
      if (labels) out->labels = labels;
      if (!images || !labels) {
        status = ipro_error_set(err, "%s: out of memory for %lld records", path, (long long)grown);
        break;
      }
      *capacity = grown;
    }
    memcpy(out->images + (size_t)out->count * pixels, record + label_bytes, pixels);
    out->labels[out->count++] = label;
  }
  gzclose(file);
  if (status == IPRO_OK && out->count == first)
    status = ipro_error_set(err, "%s: empty file (no %zu-byte CIFAR records)", path, record_bytes);
  return status;
}

ipro_status ipro_dataset_read_cifar(const char *const *paths, int path_count, int label_bytes,
                                    int coarse_classes, ipro_dataset *out, ipro_error *err) {
  out->images = NULL, out->labels = NULL;
  out->count = 0;
  size_t pixels = (size_t)out->channels * out->height * out->width;
  uint8_t *record = malloc((size_t)label_bytes + pixels);
  if (!record) return ipro_error_set(err, "out of memory reading %s", paths[0]);
  int64_t capacity = 0;
  ipro_status status = IPRO_OK;
  for (int i = 0; i < path_count && status == IPRO_OK; i++)
    status =
        read_cifar_file(paths[i], label_bytes, coarse_classes, record, pixels, &capacity, out, err);
  free(record);
  if (status != IPRO_OK) {
    ipro_dataset_free(out);
    return status;
  }
  /* Give back what doubling over-allocated (CIFAR-10's 50,000 records leave room for 65,536). */
  uint8_t *images = realloc(out->images, (size_t)out->count * pixels);
  if (images) out->images = images;
  int32_t *labels = realloc(out->labels, sizeof *labels * (size_t)out->count);
  if (labels) out->labels = labels;
  out->bytes = (size_t)out->count * (pixels + sizeof *out->labels);
  return IPRO_OK;
}
