/* `--data npz:FILE`: a NumPy .npz archive holding x_train, y_train, x_test and y_test, the way
 * people hand preprocessed data to each other (numpy.savez or numpy.savez_compressed).
 *
 * An .npz is a zip archive of .npy files. The zip's central directory is authoritative for each
 * member's sizes and offset: numpy writes its members with ZIP64 local headers whose sizes read
 * 0xFFFFFFFF, so the local header is only skipped over. Members are stored or deflated (zlib's
 * raw inflate). A .npy member is a magic "\x93NUMPY", a version, a header length and a Python
 * dict literal giving 'descr' (the dtype), 'fortran_order' and 'shape', then the C-order data.
 *
 * Images are held as uint8 (dataset.h): uint8 arrays are taken as stored, float32 arrays must lie
 * in [0, 1] (ToTensor's range) and are rounded to the nearest of the 256 levels. Rank 3 arrays
 * are grey [N, H, W]; rank 4 arrays are NCHW or NHWC, told apart by which of dimension 1 or 3 is
 * a channel count (1, 3 or 4); when both are, the caller's channel count decides, and otherwise
 * the message says the layout is ambiguous. Labels are any integer dtype, held as int32: each
 * must be below the model's class count when the caller knows it, and below
 * IPRO_DATASET_MAX_CLASSES always. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"

typedef struct {
  char name[64];
  int method; /* 0 stored, 8 deflated */
  uint64_t compressed, size, offset;
} zip_member;

typedef struct {
  const char *path;
  uint8_t *bytes; /* the whole archive */
  size_t length;
  zip_member *members;
  int n_members;
} npz_archive;

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static ipro_status read_whole_file(const char *path, uint8_t **bytes, size_t *length,
                                   ipro_error *err) {
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "%s: cannot open: %s", path, strerror(errno));
  long end = -1;
  if (fseek(file, 0, SEEK_END) == 0) end = ftell(file);
  if (end < 0 || fseek(file, 0, SEEK_SET) != 0) {
    fclose(file);
    return ipro_error_set(err, "%s: cannot find its length", path);
  }
  *length = (size_t)end;
  *bytes = malloc(*length ? *length : 1);
  if (!*bytes) {
    fclose(file);
    return ipro_error_set(err, "%s: out of memory reading %zu bytes", path, *length);
  }
  size_t got = fread(*bytes, 1, *length, file);
  fclose(file);
  if (got != *length) {
    free(*bytes);
    *bytes = NULL;
    return ipro_error_set(err, "%s: read %zu of %zu bytes", path, got, *length);
  }
  return IPRO_OK;
}

/* The central directory: located through the end-of-central-directory record (and its ZIP64
 * locator when the archive is large). */
static ipro_status read_directory(npz_archive *a, ipro_error *err) {
  const uint8_t *b = a->bytes;
  size_t n = a->length, end = 0;
  bool found = false;
  for (size_t back = 22; back <= n && back <= 22 + 65535 && !found; back++)
    if (le32(b + n - back) == 0x06054b50) end = n - back, found = true;
  if (!found)
    return ipro_error_set(err, "%s: not a zip archive (no end of central directory)", a->path);
  uint64_t entries = le16(b + end + 10), offset = le32(b + end + 16);
  if (end >= 20 && le32(b + end - 20) == 0x07064b50) {
    uint64_t record = le64(b + end - 20 + 8);
    if (record > n || n - record < 56 || le32(b + record) != 0x06064b50)
      return ipro_error_set(err, "%s: corrupt ZIP64 end of central directory", a->path);
    entries = le64(b + record + 32);
    offset = le64(b + record + 48);
  }
  if (entries > 64 || offset > n)
    return ipro_error_set(err, "%s: corrupt zip directory (%llu entries at offset %llu)", a->path,
                          (unsigned long long)entries, (unsigned long long)offset);
  a->members = calloc(entries ? entries : 1, sizeof *a->members);
  if (!a->members) return ipro_error_set(err, "%s: out of memory", a->path);
  size_t at = (size_t)offset;
  for (uint64_t e = 0; e < entries; e++) {
    if (n - at < 46 || le32(b + at) != 0x02014b50)
      return ipro_error_set(err, "%s: corrupt zip directory entry %llu", a->path,
                            (unsigned long long)e);
    zip_member *m = &a->members[a->n_members++];
    size_t name_length = le16(b + at + 28), extra_length = le16(b + at + 30),
           comment_length = le16(b + at + 32);
    if (n - at - 46 < name_length + extra_length + comment_length)
      return ipro_error_set(err, "%s: corrupt zip directory entry %llu", a->path,
                            (unsigned long long)e);
    m->method = (int)le16(b + at + 10);
    m->compressed = le32(b + at + 20);
    m->size = le32(b + at + 24);
    m->offset = le32(b + at + 42);
    snprintf(m->name, sizeof m->name, "%.*s", (int)name_length, (const char *)b + at + 46);
    /* ZIP64 extra field: the 64-bit values, in order, of the 32-bit fields that read 0xFFFFFFFF. */
    const uint8_t *extra = b + at + 46 + name_length, *extra_end = extra + extra_length;
    while (extra_end - extra >= 4) {
      uint32_t tag = le16(extra), size = le16(extra + 2);
      const uint8_t *value = extra + 4;
      if (size > (size_t)(extra_end - value)) break;
      if (tag == 1) {
        const uint8_t *v = value, *v_end = value + size;
        if (m->size == 0xFFFFFFFFu && v_end - v >= 8) m->size = le64(v), v += 8;
        if (m->compressed == 0xFFFFFFFFu && v_end - v >= 8) m->compressed = le64(v), v += 8;
        if (m->offset == 0xFFFFFFFFu && v_end - v >= 8) m->offset = le64(v);
      }
      extra = value + size;
    }
    at += 46 + name_length + extra_length + comment_length;
  }
  return IPRO_OK;
}

/* The member's uncompressed bytes (malloc'd). */
static ipro_status read_member(const npz_archive *a, const char *name, uint8_t **out,
                               size_t *out_length, ipro_error *err) {
  const zip_member *m = NULL;
  for (int i = 0; i < a->n_members; i++)
    if (!strcmp(a->members[i].name, name)) m = &a->members[i];
  if (!m)
    return ipro_error_set(err, "%s: no array '%.*s' in the archive", a->path,
                          (int)(strlen(name) - 4), name);
  const uint8_t *b = a->bytes;
  size_t n = a->length;
  if (m->offset > n || n - m->offset < 30 || le32(b + m->offset) != 0x04034b50)
    return ipro_error_set(err, "%s: %s: corrupt local header", a->path, name);
  uint64_t data = m->offset + 30 + le16(b + m->offset + 26) + le16(b + m->offset + 28);
  if (data > n || n - data < m->compressed)
    return ipro_error_set(err, "%s: %s: truncated (%llu bytes announced)", a->path, name,
                          (unsigned long long)m->compressed);
  if (m->method != 0 && m->method != 8)
    return ipro_error_set(err, "%s: %s: zip compression method %d (only stored and deflated)",
                          a->path, name, m->method);
  if (m->method == 0 && m->compressed != m->size)
    return ipro_error_set(err, "%s: %s: stored member with differing sizes", a->path, name);
  if (m->size > (uint64_t)64 << 30)
    return ipro_error_set(err, "%s: %s: %llu bytes is more than this reader accepts", a->path, name,
                          (unsigned long long)m->size);
  *out = malloc(m->size ? (size_t)m->size : 1);
  if (!*out) return ipro_error_set(err, "%s: %s: out of memory", a->path, name);
  *out_length = (size_t)m->size;
  if (m->method == 0) {
    memcpy(*out, b + data, (size_t)m->size);
    return IPRO_OK;
  }
  z_stream z = {0};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {
    free(*out);
    *out = NULL; /* the caller frees what it was handed */
    return ipro_error_set(err, "%s: %s: zlib would not start", a->path, name);
  }
  const uint8_t *in = b + data;
  uint64_t in_left = m->compressed, out_done = 0;
  int code = Z_OK;
  while (code == Z_OK) {
    uInt in_chunk = in_left > (1u << 30) ? 1u << 30 : (uInt)in_left;
    uint64_t out_left = m->size - out_done;
    z.next_in = (Bytef *)in;
    z.avail_in = in_chunk;
    z.next_out = *out + out_done;
    z.avail_out = out_left > (1u << 30) ? 1u << 30 : (uInt)out_left;
    code = inflate(&z, Z_NO_FLUSH);
    in += in_chunk - z.avail_in;
    in_left -= in_chunk - z.avail_in;
    out_done = z.total_out;
    if (code == Z_BUF_ERROR && in_left && out_done < m->size) code = Z_OK;
  }
  inflateEnd(&z);
  if (code != Z_STREAM_END || out_done != m->size) {
    free(*out);
    *out = NULL; /* the caller frees what it was handed */
    return ipro_error_set(err, "%s: %s: corrupt deflate data (%s)", a->path, name,
                          z.msg ? z.msg : "ends early");
  }
  return IPRO_OK;
}

typedef struct {
  char kind; /* 'u', 'i', 'f', 'b' */
  int item;  /* bytes per element */
  bool big;  /* big-endian */
  int rank;
  int64_t dims[8];
  const uint8_t *data;
  size_t count; /* elements */
} npy_array;

/* What numpy's dtype kind letter means, for kinds infopro does not read ("" for the others). */
static const char *dtype_kind_name(char kind) {
  switch (kind) {
  case 'c': return " (complex numbers)";
  case 'U': return " (text)";
  case 'S': return " (byte strings)";
  case 'O': return " (Python objects)";
  case 'M': return " (dates)";
  case 'm': return " (time spans)";
  case 'V': return " (records)";
  default: return "";
  }
}

/* Parses the header dict of a .npy member held in bytes[length]. */
static ipro_status parse_npy(const char *path, const char *name, const uint8_t *bytes,
                             size_t length, npy_array *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  if (length < 10 || memcmp(bytes, "\x93NUMPY", 6) != 0)
    return ipro_error_set(err, "%s: %s is not a .npy array", path, name);
  size_t header_length = le16(bytes + 8), start = 10;
  if (bytes[6] >= 2) {
    if (length < 12) return ipro_error_set(err, "%s: %s: truncated .npy header", path, name);
    header_length = le32(bytes + 8), start = 12;
  }
  if (length - start < header_length)
    return ipro_error_set(err, "%s: %s: truncated .npy header", path, name);
  char header[1024];
  snprintf(header, sizeof header, "%.*s", (int)(header_length < 1023 ? header_length : 1023),
           (const char *)bytes + start);
  const char *descr = strstr(header, "'descr'"), *order = strstr(header, "'fortran_order'"),
             *shape = strstr(header, "'shape'");
  if (!descr || !order || !shape)
    return ipro_error_set(err, "%s: %s: .npy header lacks descr, fortran_order or shape: %s", path,
                          name, header);
  const char *value = strchr(descr + 7, '\'');
  if (!value || strlen(value) < 4)
    return ipro_error_set(err, "%s: %s: unreadable descr in %s", path, name, header);
  char order_char = value[1];
  out->big = order_char == '>';
  out->kind = value[2];
  out->item = atoi(value + 3);
  if (!strchr("<>|=", order_char) || !strchr("uifb", out->kind) ||
      (out->item != 1 && out->item != 2 && out->item != 4 && out->item != 8)) {
    size_t descr_length = strcspn(value + 1, "'");
    return ipro_error_set(err,
                          "%s: %s has dtype '%.*s'%s; infopro reads arrays of integers, floats or "
                          "booleans",
                          path, name, (int)(descr_length < 16 ? descr_length : 16), value + 1,
                          dtype_kind_name(out->kind));
  }
  if (strstr(order, "True"))
    return ipro_error_set(err, "%s: %s is in Fortran order; save it in C order", path, name);
  const char *p = strchr(shape, '(');
  if (!p) return ipro_error_set(err, "%s: %s: unreadable shape in %s", path, name, header);
  p++;
  out->count = 1;
  while (*p && *p != ')') {
    while (*p == ' ' || *p == ',')
      p++;
    if (*p == ')') break;
    char *end;
    long long dim = strtoll(p, &end, 10);
    if (end == p || dim < 0 || out->rank == 8)
      return ipro_error_set(err, "%s: %s: unreadable shape in %s", path, name, header);
    out->dims[out->rank++] = dim;
    if (dim && out->count > SIZE_MAX / (size_t)dim)
      return ipro_error_set(err, "%s: %s: shape too large", path, name);
    out->count *= (size_t)dim;
    p = end;
  }
  size_t data_start = start + header_length;
  if (out->count > (length - data_start) / (size_t)out->item)
    return ipro_error_set(err, "%s: %s: %zu elements of %d bytes announced, %zu bytes present",
                          path, name, out->count, out->item, length - data_start);
  out->data = bytes + data_start;
  return IPRO_OK;
}

/* Element i of an integer array, as a signed 64-bit value (uint64 beyond INT64_MAX reads -1). */
static int64_t integer_at(const npy_array *a, size_t i) {
  const uint8_t *p = a->data + i * (size_t)a->item;
  uint64_t raw = 0;
  for (int k = 0; k < a->item; k++)
    raw |= (uint64_t)p[a->big ? a->item - 1 - k : k] << (8 * k);
  if (a->kind == 'i' && a->item < 8 && (raw >> (8 * a->item - 1)) & 1)
    raw |= ~(uint64_t)0 << (8 * a->item);
  return a->kind == 'u' && raw > INT64_MAX ? -1 : (int64_t)raw;
}

static float float_at(const npy_array *a, size_t i) {
  uint8_t b[4];
  for (int k = 0; k < 4; k++)
    b[k] = a->data[i * 4 + (size_t)(a->big ? 3 - k : k)];
  float value;
  memcpy(&value, b, 4);
  return value;
}

/* Largest label, checking all are below classes when it is set (the model's), and below
 * IPRO_DATASET_MAX_CLASSES when not. */
static ipro_status check_labels(const char *path, const char *name, const npy_array *y, int classes,
                                int64_t *largest, ipro_error *err) {
  if (y->kind != 'u' && y->kind != 'i' && y->kind != 'b')
    return ipro_error_set(err, "%s: %s has dtype %c%d; labels must be integers", path, name,
                          y->kind, y->item);
  if (y->rank != 1)
    return ipro_error_set(err, "%s: %s has %d dimensions; labels are one per image", path, name,
                          y->rank);
  for (size_t i = 0; i < y->count; i++) {
    int64_t label = integer_at(y, i);
    if (label < 0 || label >= IPRO_DATASET_MAX_CLASSES)
      return ipro_error_set(err, "%s: %s[%zu] = %lld is outside 0..%d (at most %d classes)", path,
                            name, i, (long long)label, IPRO_DATASET_MAX_CLASSES - 1,
                            IPRO_DATASET_MAX_CLASSES);
    if (classes > 0 && label >= classes)
      return ipro_error_set(err,
                            "%s: %s[%zu] = %lld, but the model has %d classes (labels 0 to %d)",
                            path, name, i, (long long)label, classes, classes - 1);
    if (label > *largest) *largest = label;
  }
  return IPRO_OK;
}

/* Image layout: channels, height, width and whether channels come last. */
static ipro_status image_layout(const char *path, const npy_array *x, int want_channels, int *c,
                                int *h, int *w, bool *last, ipro_error *err) {
  const int64_t *d = x->dims;
  *last = false;
  if (x->rank == 3) {
    *c = 1, *h = (int)d[1], *w = (int)d[2];
  } else if (x->rank == 4) {
    bool first = d[1] == 1 || d[1] == 3 || d[1] == 4, end = d[3] == 1 || d[3] == 3 || d[3] == 4;
    if (first && end && d[1] != d[3] && want_channels) first = d[1] == want_channels;
    if (first && end && d[1] != d[3] && want_channels) end = d[3] == want_channels;
    if (first == end)
      return ipro_error_set(err,
                            "%s: x arrays of shape (%lld, %lld, %lld, %lld) are ambiguous: "
                            "%s NCHW or NHWC (channels must be 1, 3 or 4)",
                            path, (long long)d[0], (long long)d[1], (long long)d[2],
                            (long long)d[3], first ? "could be either" : "neither");
    *last = end;
    *c = (int)(end ? d[3] : d[1]), *h = (int)(end ? d[1] : d[2]), *w = (int)(end ? d[2] : d[3]);
  } else {
    return ipro_error_set(err,
                          "%s: x arrays have %d dimensions; expected [N, H, W] or "
                          "[N, C, H, W] / [N, H, W, C]",
                          path, x->rank);
  }
  if (*h < 1 || *w < 1 || d[1] > 65536 || d[2] > 65536 || (x->rank == 4 && d[3] > 65536))
    return ipro_error_set(err, "%s: x arrays have an image size of 0 or over 65536", path);
  return IPRO_OK;
}

/* Fills out->images (NCHW uint8) from x. */
static ipro_status convert_images(const char *path, const char *name, const npy_array *x, bool last,
                                  ipro_dataset *out, ipro_error *err) {
  bool is_float = x->kind == 'f' && x->item == 4;
  if (!(x->kind == 'u' && x->item == 1) && !is_float)
    return ipro_error_set(err, "%s: %s has dtype %c%d; images must be uint8 or float32", path, name,
                          x->kind, x->item);
  size_t plane = (size_t)out->height * (size_t)out->width, c = (size_t)out->channels;
  for (size_t i = 0; i < (size_t)out->count; i++)
    for (size_t ch = 0; ch < c; ch++)
      for (size_t p = 0; p < plane; p++) {
        size_t from = last ? (i * plane + p) * c + ch : (i * c + ch) * plane + p;
        uint8_t value;
        if (is_float) {
          float v = float_at(x, from);
          if (!(v >= 0.0f && v <= 1.0f))
            return ipro_error_set(err,
                                  "%s: %s holds %g at element %zu; float32 images must lie in "
                                  "[0, 1] (unnormalised, as ToTensor gives)",
                                  path, name, (double)v, from);
          value = (uint8_t)lrintf(v * 255.0f);
        } else {
          value = x->data[from];
        }
        out->images[(i * c + ch) * plane + p] = value;
      }
  return IPRO_OK;
}

static ipro_status read_split(npz_archive *a, const ipro_dataset_spec *spec,
                              ipro_dataset_split split, ipro_dataset *out, ipro_error *err) {
  const char *x_name = split == IPRO_SPLIT_TRAIN ? "x_train.npy" : "x_test.npy";
  const char *y_name = split == IPRO_SPLIT_TRAIN ? "y_train.npy" : "y_test.npy";
  const char *names[4] = {x_name, y_name, "y_train.npy", "y_test.npy"};
  uint8_t *bytes[4] = {0};
  size_t lengths[4];
  npy_array arrays[4];
  ipro_status status = IPRO_OK;
  for (int i = 0; i < 4 && status == IPRO_OK; i++) {
    status = read_member(a, names[i], &bytes[i], &lengths[i], err);
    if (status == IPRO_OK)
      status = parse_npy(a->path, names[i], bytes[i], lengths[i], &arrays[i], err);
  }
  int64_t largest = -1;
  for (int i = 2; i < 4 && status == IPRO_OK; i++)
    status = check_labels(a->path, names[i], &arrays[i], spec->classes, &largest, err);
  const npy_array *x = &arrays[0], *y = &arrays[1];
  bool last = false;
  if (status == IPRO_OK && x->rank > 0 && x->dims[0] == 0)
    status =
        ipro_error_set(err, "%s: %s holds no images (its first dimension is 0)", a->path, x_name);
  if (status == IPRO_OK)
    status = image_layout(a->path, x, spec->channels, &out->channels, &out->height, &out->width,
                          &last, err);
  if (status == IPRO_OK && out->channels > IPRO_DATASET_MAX_CHANNELS)
    status = ipro_error_set(err, "%s: %d channels", a->path, out->channels);
  if (status == IPRO_OK && (int64_t)y->count != x->dims[0])
    status = ipro_error_set(err, "%s: %s has %lld images but %s has %zu labels", a->path, x_name,
                            (long long)x->dims[0], y_name, y->count);
  if (status == IPRO_OK) {
    out->count = x->dims[0];
    /* data whose labels are a subset of the model's classes (class 9 missing) is fine: the
     * model's output width is the class count */
    out->num_classes = spec->classes > 0 ? spec->classes : (int)largest + 1;
    size_t image_bytes =
        (size_t)out->count * (size_t)out->channels * (size_t)out->height * (size_t)out->width;
    out->images = malloc(image_bytes ? image_bytes : 1);
    out->labels = malloc(sizeof *out->labels * (y->count ? y->count : 1));
    out->bytes = image_bytes + sizeof *out->labels * y->count;
    if (!out->images || !out->labels) status = ipro_error_set(err, "%s: out of memory", a->path);
  }
  if (status == IPRO_OK) status = convert_images(a->path, x_name, x, last, out, err);
  for (size_t i = 0; status == IPRO_OK && i < y->count; i++)
    out->labels[i] = (int32_t)integer_at(y, i); /* checked above: 0..IPRO_DATASET_MAX_CLASSES-1 */
  for (int i = 0; i < 4; i++)
    free(bytes[i]);
  if (status != IPRO_OK) { /* the readers' contract (dataset.h): on failure *out holds no memory */
    free(out->images);
    free(out->labels);
    out->images = NULL, out->labels = NULL;
  }
  return status;
}

ipro_status ipro_dataset_read_npz(const ipro_dataset_spec *spec, ipro_dataset_split split,
                                  ipro_dataset *out, ipro_error *err) {
  npz_archive a = {.path = spec->directory};
  ipro_status status = read_whole_file(a.path, &a.bytes, &a.length, err);
  if (status == IPRO_OK) status = read_directory(&a, err);
  if (status == IPRO_OK) status = read_split(&a, spec, split, out, err);
  free(a.bytes);
  free(a.members);
  return status;
}
