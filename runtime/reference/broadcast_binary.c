/* Reference kernels of the numpy-broadcasting arithmetic ops: Add, Sub, Mul, Div (float32 and
 * float64, computed in double, and int32/int64 for shape computations that were not folded; integer
 * Div truncates, as ONNX's does; Mod of integers; Pow of reals), the n-ary float Sum, Max and
 * Min, and the comparisons Less, Greater and Equal. Every
 * input is read through ipro_reference_broadcast_strides, so one loop serves equal shapes, scalars
 * and any broadcast pattern. */
#include <math.h>
#include <stdlib.h>

#include "ir/elementwise_values.h"
#include "reference_ops.h"

typedef enum { BINARY_ADD, BINARY_SUB, BINARY_MUL, BINARY_DIV, BINARY_MOD, BINARY_POW } binary_kind;

/* Output shape, and the strides with which each of the two inputs is read. */
typedef struct {
  ipro_shape out;
  int64_t a_strides[IPRO_MAX_RANK], b_strides[IPRO_MAX_RANK];
  int64_t count;
} binary_layout;

static ipro_status binary_layout_of(const ipro_graph *graph, const ipro_node *node,
                                    binary_layout *layout, ipro_error *err) {
  ipro_shape a, b;
  if (ipro_reference_input_shape(graph, node, 0, &a, err) ||
      ipro_reference_input_shape(graph, node, 1, &b, err) ||
      ipro_reference_output_shape(graph, node, 0, &layout->out, err) ||
      ipro_reference_broadcast_strides(node, &a, &layout->out, layout->a_strides, err) ||
      ipro_reference_broadcast_strides(node, &b, &layout->out, layout->b_strides, err))
    return IPRO_ERROR;
  layout->count = ipro_shape_elements(&layout->out);
  return IPRO_OK;
}

static int64_t a_offset(const binary_layout *layout, int64_t i) {
  return ipro_reference_offset(layout->out.dims, layout->out.rank, layout->a_strides, i);
}

static int64_t b_offset(const binary_layout *layout, int64_t i) {
  return ipro_reference_offset(layout->out.dims, layout->out.rank, layout->b_strides, i);
}

static void binary_real(const binary_layout *layout, binary_kind kind, const double *a,
                        const double *b, double *y) {
  for (int64_t i = 0; i < layout->count; i++) {
    double u = a[a_offset(layout, i)], v = b[b_offset(layout, i)];
    switch (kind) {
    case BINARY_ADD: y[i] = u + v; break;
    case BINARY_SUB: y[i] = u - v; break;
    case BINARY_MUL: y[i] = u * v; break;
    case BINARY_DIV: y[i] = u / v; break;
    case BINARY_POW: y[i] = pow(u, v); break;
    case BINARY_MOD: break; /* integers only: binary() refuses real operands */
    }
  }
}

/* One body for int32 and int64: the values are widened to int64 and narrowed back on store. */
static ipro_status binary_integer(const ipro_node *node, const binary_layout *layout,
                                  binary_kind kind, ipro_dtype dtype, const void *a, const void *b,
                                  void *y, ipro_error *err) {
  for (int64_t i = 0; i < layout->count; i++) {
    int64_t u, v, r = 0;
    if (dtype == IPRO_DTYPE_INT64) {
      u = ((const int64_t *)a)[a_offset(layout, i)];
      v = ((const int64_t *)b)[b_offset(layout, i)];
    } else {
      u = ((const int32_t *)a)[a_offset(layout, i)];
      v = ((const int32_t *)b)[b_offset(layout, i)];
    }
    switch (kind) {
    case BINARY_ADD: r = (int64_t)((uint64_t)u + (uint64_t)v); break;
    case BINARY_SUB: r = (int64_t)((uint64_t)u - (uint64_t)v); break;
    case BINARY_MUL: r = (int64_t)((uint64_t)u * (uint64_t)v); break;
    case BINARY_DIV:
      if (v == 0) return ipro_reference_fail(node, err, "integer division by zero");
      if (v == -1)
        r = (int64_t)(0 - (uint64_t)u); /* avoids the INT64_MIN / -1 trap */
      else
        r = u / v;
      break;
    case BINARY_POW: break; /* reals only: binary() refuses integer operands */
    case BINARY_MOD:
      if (v == 0) return ipro_reference_fail(node, err, "integer modulo by zero");
      r = v == -1 ? 0 : u % v;
      /* fmod 0: the sign of the divisor, as Python's %; fmod 1: the dividend's */
      if (!ipro_node_attr_int(node, "fmod", 0) && r != 0 && ((r < 0) != (v < 0))) r += v;
      break;
    }
    if (dtype == IPRO_DTYPE_INT64)
      ((int64_t *)y)[i] = r;
    else
      ((int32_t *)y)[i] = (int32_t)r;
  }
  return IPRO_OK;
}

static ipro_status binary(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                          void *const *outputs, binary_kind kind, ipro_error *err) {
  binary_layout layout;
  if (binary_layout_of(graph, node, &layout, err)) return IPRO_ERROR;
  ipro_dtype dtype = ipro_node_input(graph, node, 0)->dtype;
  if (ipro_reference_expect_dtype(graph, node, true, 1, dtype, err) ||
      ipro_reference_expect_dtype(graph, node, false, 0, dtype, err))
    return IPRO_ERROR;
  switch (dtype) {
  case IPRO_DTYPE_FLOAT:
  case IPRO_DTYPE_DOUBLE:
    if (kind == BINARY_MOD)
      return ipro_reference_fail(node, err, "%s operands; Mod is for int32 and int64",
                                 ipro_dtype_name(dtype));
    binary_real(&layout, kind, inputs[0], inputs[1], outputs[0]);
    break;
  case IPRO_DTYPE_INT32:
  case IPRO_DTYPE_INT64:
    if (kind == BINARY_POW)
      return ipro_reference_fail(node, err, "%s operands; Pow runs on float32 and float64",
                                 ipro_dtype_name(dtype));
    return binary_integer(node, &layout, kind, dtype, inputs[0], inputs[1], outputs[0], err);
  default:
    return ipro_reference_fail(node, err,
                               "%s operands are not supported (float32, float64, int32, int64)",
                               ipro_dtype_name(dtype));
  }
  return IPRO_OK;
}

/* With fused_relu (a training program's Add fused with the ReLU after it, codegen/fusion.h):
 * max(0, a + b). */
IPRO_REFERENCE_KERNEL(ipro_reference_add) {
  (void)context;
  if (binary(graph, node, inputs, outputs, BINARY_ADD, err)) return IPRO_ERROR;
  if (!ipro_node_attr_int(node, "fused_relu", 0)) return IPRO_OK;
  ipro_shape y;
  if (ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  double *values = outputs[0];
  for (int64_t i = 0, count = ipro_shape_elements(&y); i < count; i++)
    if (!(values[i] > 0)) values[i] = 0;
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_sub) {
  (void)context;
  return binary(graph, node, inputs, outputs, BINARY_SUB, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_mul) {
  (void)context;
  return binary(graph, node, inputs, outputs, BINARY_MUL, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_div) {
  (void)context;
  return binary(graph, node, inputs, outputs, BINARY_DIV, err);
}

/* Integers only (int32, int64), as inference allows. */
IPRO_REFERENCE_KERNEL(ipro_reference_mod) {
  (void)context;
  return binary(graph, node, inputs, outputs, BINARY_MOD, err);
}

/* Reals only (float32, float64), as inference allows off the folded constants. */
IPRO_REFERENCE_KERNEL(ipro_reference_pow) {
  (void)context;
  return binary(graph, node, inputs, outputs, BINARY_POW, err);
}

/* Less, Greater, Equal, LessOrEqual and GreaterOrEqual: real operands (as double), a bool
 * output (ir/elementwise_values.h). */
static ipro_status compare(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                           void *const *outputs, ipro_op op, ipro_error *err) {
  binary_layout layout;
  if (binary_layout_of(graph, node, &layout, err) ||
      ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, true, 1, err) ||
      ipro_reference_expect_dtype(graph, node, false, 0, IPRO_DTYPE_BOOL, err))
    return IPRO_ERROR;
  const double *a = inputs[0], *b = inputs[1];
  bool *y = outputs[0];
  for (int64_t i = 0; i < layout.count; i++) {
    double u = a[a_offset(&layout, i)], v = b[b_offset(&layout, i)];
    y[i] = ipro_compare_values(op, u, v);
  }
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_less) {
  (void)context;
  return compare(graph, node, inputs, outputs, IPRO_OP_LESS, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_greater) {
  (void)context;
  return compare(graph, node, inputs, outputs, IPRO_OP_GREATER, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_equal) {
  (void)context;
  return compare(graph, node, inputs, outputs, IPRO_OP_EQUAL, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_less_or_equal) {
  (void)context;
  return compare(graph, node, inputs, outputs, IPRO_OP_LESS_OR_EQUAL, err);
}

IPRO_REFERENCE_KERNEL(ipro_reference_greater_or_equal) {
  (void)context;
  return compare(graph, node, inputs, outputs, IPRO_OP_GREATER_OR_EQUAL, err);
}

/* Sum, Max or Min of n broadcast inputs, accumulated in double in input order (a NaN wins Max and
 * Min, as in PyTorch). */
static ipro_status n_ary(const ipro_graph *graph, const ipro_node *node, void *const *inputs,
                         void *const *outputs, ipro_error *err) {
  ipro_shape out;
  if (ipro_reference_output_shape(graph, node, 0, &out, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err))
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&out);
  double *y = outputs[0];
  double *total = calloc((size_t)(count > 0 ? count : 1), sizeof *total);
  if (!total) return ipro_reference_fail(node, err, "out of memory");
  for (int k = 0; k < node->n_inputs; k++) {
    ipro_shape shape;
    int64_t strides[IPRO_MAX_RANK];
    if (ipro_reference_expect_real(graph, node, true, k, err) ||
        ipro_reference_input_shape(graph, node, k, &shape, err) ||
        ipro_reference_broadcast_strides(node, &shape, &out, strides, err)) {
      free(total);
      return IPRO_ERROR;
    }
    const double *x = inputs[k];
    for (int64_t i = 0; i < count; i++) {
      double v = x[ipro_reference_offset(out.dims, out.rank, strides, i)], t = total[i];
      if (k == 0 || node->op == IPRO_OP_SUM)
        total[i] = t + v;
      else if (v != v || (node->op == IPRO_OP_MAX ? v > t : v < t))
        total[i] = v;
    }
  }
  for (int64_t i = 0; i < count; i++)
    y[i] = total[i];
  free(total);
  return IPRO_OK;
}

IPRO_REFERENCE_KERNEL(ipro_reference_sum) {
  (void)context;
  return n_ary(graph, node, inputs, outputs, err);
}

/* Max and Min of reals (inference folds them on constants, integers included). */
IPRO_REFERENCE_KERNEL(ipro_reference_extremum) {
  (void)context;
  return n_ary(graph, node, inputs, outputs, err);
}
