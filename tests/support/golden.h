/* Reader of the golden files written by models/export_models.py with PyTorch ("IPGD" format:
 * magic, version, then named float32 tensors; see the script for the layout). */
#ifndef IPRO_TEST_GOLDEN_H
#define IPRO_TEST_GOLDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/error.h"

#define IPRO_GOLDEN_MAGIC 0x44475049u /* "IPGD" */
#define IPRO_GOLDEN_VERSION 1u

typedef struct {
  char *name;
  int rank;
  int64_t dims[8];
  int64_t count;
  float *data;
} ipro_golden_tensor;

typedef struct {
  int count;
  ipro_golden_tensor *tensors;
} ipro_golden_file;

ipro_status ipro_golden_load(const char *path, ipro_golden_file *out, ipro_error *err);
/* NULL when absent. */
const ipro_golden_tensor *ipro_golden_find(const ipro_golden_file *file, const char *name);
void ipro_golden_release(ipro_golden_file *file);
/* The golden file at `relative` (to the source tree, as models/golden/NAME.ipgd) loaded into
 * *file; false, with a failed check recorded and nothing to release, when it cannot be. */
bool ipro_golden_load_relative(const char *relative, ipro_golden_file *file);
/* The forward golden of bundled model `name` (models/golden/NAME_forward.ipgd, made by
 * models/export_*.py): file loaded, its "input" and "logits" found, and the model's path written
 * into model_path (size bytes); false, with a failed check recorded and nothing left to release,
 * when any is missing. */
bool ipro_golden_load_forward(const char *name, char *model_path, size_t size,
                              ipro_golden_file *file, const ipro_golden_tensor **input,
                              const ipro_golden_tensor **logits);
/* The golden tensor `name` of `count` values; NULL, with a failed check recorded, when the file
 * has none or it holds another count. */
const ipro_golden_tensor *ipro_golden_expect(const ipro_golden_file *file, const char *name,
                                             int64_t count);
/* Checks that every value of got (want->count of them) is within `relative` of PyTorch's value
 * plus `of_scale` of the tensor's largest magnitude (and 1e-7) for values near zero; a NaN never
 * is. Returns the largest |got - want| over that largest magnitude. */
double ipro_golden_check(const char *what, const float *got, const ipro_golden_tensor *want,
                         double relative, double of_scale);
/* Whether every element of output is within 1e-4 relative (and 1e-6 absolute) of PyTorch's
 * expected value, the tolerance of the forward goldens; a NaN is never near. */
bool ipro_golden_near(const float *output, const float *expected, int64_t count);

#endif
