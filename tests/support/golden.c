/* The IPGD golden-file reader of golden.h, checking magic, version and every length. */
#include "golden.h"
#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int read_u32(FILE *f, uint32_t *v) { return fread(v, 4, 1, f) == 1; }

ipro_status ipro_golden_load(const char *path, ipro_golden_file *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return ipro_error_set(err, "cannot open golden file %s", path);
  uint32_t magic = 0, version = 0, count = 0;
  ipro_status status = IPRO_OK;
  if (!read_u32(f, &magic) || !read_u32(f, &version) || !read_u32(f, &count) ||
      magic != IPRO_GOLDEN_MAGIC || version != IPRO_GOLDEN_VERSION || count > 100000)
    status =
        ipro_error_set(err, "%s: not an IPGD version %u golden file", path, IPRO_GOLDEN_VERSION);
  if (status == IPRO_OK) {
    out->tensors = calloc(count + 1, sizeof *out->tensors);
    if (!out->tensors) status = ipro_error_set(err, "out of memory");
  }
  for (uint32_t i = 0; status == IPRO_OK && i < count; i++) {
    ipro_golden_tensor *t = &out->tensors[i];
    uint32_t name_length = 0, rank = 0;
    if (!read_u32(f, &name_length) || name_length > 4096 ||
        !(t->name = calloc(name_length + 1, 1)) ||
        fread(t->name, 1, name_length, f) != name_length || !read_u32(f, &rank) || rank > 8) {
      status = ipro_error_set(err, "%s: truncated tensor header %u", path, i);
      break;
    }
    out->count++;
    t->rank = (int)rank;
    t->count = 1;
    if (rank && fread(t->dims, 8, rank, f) != rank) {
      status = ipro_error_set(err, "%s: truncated dims of '%s'", path, t->name);
      break;
    }
    for (uint32_t d = 0; d < rank; d++)
      t->count *= t->dims[d];
    t->data = malloc(sizeof(float) * (size_t)(t->count ? t->count : 1));
    if (!t->data || fread(t->data, 4, (size_t)t->count, f) != (size_t)t->count)
      status = ipro_error_set(err, "%s: truncated data of '%s'", path, t->name);
  }
  fclose(f);
  if (status != IPRO_OK) ipro_golden_release(out);
  return status;
}

const ipro_golden_tensor *ipro_golden_find(const ipro_golden_file *file, const char *name) {
  for (int i = 0; i < file->count; i++)
    if (strcmp(file->tensors[i].name, name) == 0) return &file->tensors[i];
  return NULL;
}

void ipro_golden_release(ipro_golden_file *file) {
  for (int i = 0; i < file->count; i++) {
    free(file->tensors[i].name);
    free(file->tensors[i].data);
  }
  free(file->tensors);
  memset(file, 0, sizeof *file);
}

const ipro_golden_tensor *ipro_golden_expect(const ipro_golden_file *file, const char *name,
                                             int64_t count) {
  const ipro_golden_tensor *t = ipro_golden_find(file, name);
  CHECK_MSG(t != NULL, "the golden file has no tensor '%s'", name);
  if (t && t->count != count) {
    CHECK_MSG(false, "golden '%s' has %lld values, expected %lld", name, (long long)t->count,
              (long long)count);
    return NULL;
  }
  return t;
}

double ipro_golden_check(const char *what, const float *got, const ipro_golden_tensor *want,
                         double relative, double of_scale) {
  double scale = 0.0, largest = 0.0;
  for (int64_t i = 0; i < want->count; i++)
    scale = fmax(scale, fabs((double)want->data[i]));
  double absolute = of_scale * scale + 1e-7, worst = 0.0;
  int64_t at = 0;
  for (int64_t i = 0; i < want->count; i++) {
    double difference = fabs((double)got[i] - want->data[i]);
    double excess = difference - (relative * fabs((double)want->data[i]) + absolute);
    if (!(excess <= worst)) worst = isnan(excess) ? INFINITY : excess, at = i;
    largest = isnan(difference) ? INFINITY : fmax(largest, difference);
  }
  CHECK_MSG(worst <= 0, "%s: element %lld is %.8g, PyTorch says %.8g", what, (long long)at,
            (double)got[at], (double)want->data[at]);
  return scale > 0 ? largest / scale : largest;
}

bool ipro_golden_near(const float *output, const float *expected, int64_t count) {
  for (int64_t i = 0; i < count; i++) {
    double excess =
        fabs((double)output[i] - expected[i]) - (1e-4 * fabs((double)expected[i]) + 1e-6);
    if (!(excess <= 0)) return false;
  }
  return true;
}

bool ipro_golden_load_relative(const char *relative, ipro_golden_file *file) {
  char path[1024];
  ipro_test_path(path, sizeof path, relative);
  ipro_error err = {{0}};
  if (ipro_golden_load(path, file, &err) == IPRO_OK) return true;
  CHECK_OK(IPRO_ERROR, &err);
  return false;
}

bool ipro_golden_load_forward(const char *name, char *model_path, size_t size,
                              ipro_golden_file *file, const ipro_golden_tensor **input,
                              const ipro_golden_tensor **logits) {
  char relative[256];
  snprintf(relative, sizeof relative, "models/%s.onnx", name);
  ipro_test_path(model_path, size, relative);
  snprintf(relative, sizeof relative, "models/golden/%s_forward.ipgd", name);
  *input = *logits = NULL;
  if (!ipro_golden_load_relative(relative, file)) return false;
  *input = ipro_golden_find(file, "input");
  *logits = ipro_golden_find(file, "logits");
  CHECK_MSG(*input && *logits, "%s: no input or logits", relative);
  if (*input && *logits) return true;
  ipro_golden_release(file);
  return false;
}
