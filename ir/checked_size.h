/* Overflow-checked size arithmetic, and the one limit on the size of a tensor.
 *
 * Sizes come from files a user hands us (an ONNX model's dims, a Reshape target, a dataset
 * header, a checkpoint's lengths) and from options (--batch), so any product or sum of them may
 * overflow. Every stage that computes a size (shape inference, costs, memory planning, the arena,
 * kernel setup, the dataset and checkpoint readers) does it through these helpers, which report
 * overflow instead of wrapping; the caller turns that into one error naming the node, tensor or
 * file. They behave the same in Release as under UBSan.
 *
 * IPRO_MAX_TENSOR_ELEMENTS bounds every tensor: cuDNN's tensor descriptors and cuBLAS take `int`
 * dimensions and strides, and oneDNN's kernels index some loops with 32-bit integers (a batch of
 * 2^31 made its primitive creation crash), so a tensor of at most 2^31 - 1 elements is one every
 * backend can be handed. Shape inference enforces it on every tensor it writes, which in turn
 * keeps sums of tensor bytes far from int64's range. */
#ifndef IPRO_CHECKED_SIZE_H
#define IPRO_CHECKED_SIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPRO_MAX_TENSOR_ELEMENTS ((int64_t)INT32_MAX)

/* *out = a * b (or a + b); false, with *out unspecified, when the result does not fit. */
static inline bool ipro_checked_mul(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool ipro_checked_add(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}
static inline bool ipro_checked_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}
static inline bool ipro_checked_mul_size(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool ipro_checked_add_size(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* Product of count non-negative values; false when it overflows int64. */
static inline bool ipro_checked_product(const int64_t *values, int count, int64_t *out) {
  int64_t product = 1;
  for (int i = 0; i < count; i++)
    if (values[i] < 0 || !ipro_checked_mul(product, values[i], &product)) return false;
  *out = product;
  return true;
}

/* The product of count values as an estimate that may not wrap (FLOPs): IPRO_SIZE_OVERFLOW
 * when it does not fit, which the cost pass reports naming the node. */
#define IPRO_SIZE_OVERFLOW (-1)
static inline int64_t ipro_product_or_overflow(const int64_t *values, int count) {
  int64_t product;
  return ipro_checked_product(values, count, &product) ? product : IPRO_SIZE_OVERFLOW;
}

/* A value handed to a library that takes `int` (cuDNN, cuBLAS, some oneDNN fields): false when
 * it is negative or does not fit. */
static inline bool ipro_checked_int(int64_t value, int *out) {
  if (value < 0 || value > INT32_MAX) return false;
  *out = (int)value;
  return true;
}

#endif
