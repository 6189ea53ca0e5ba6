/* The element-wise values of elementwise_values.h. */
#include "ir/elementwise_values.h"

#include <math.h>

double ipro_real_unary_value(ipro_op op, double v) {
  switch (op) {
  case IPRO_OP_SQRT: return sqrt(v);
  case IPRO_OP_RECIPROCAL: return 1.0 / v;
  case IPRO_OP_ABS: return fabs(v);
  case IPRO_OP_NEG: return -v;
  case IPRO_OP_FLOOR: return floor(v);
  case IPRO_OP_CEIL: return ceil(v);
  case IPRO_OP_SIGN: return v > 0.0 ? 1.0 : v < 0.0 ? -1.0 : v;
  case IPRO_OP_SIN: return sin(v);
  case IPRO_OP_COS: return cos(v);
  case IPRO_OP_EXP: return exp(v);
  case IPRO_OP_LOG: return log(v);
  default: return NAN;
  }
}

bool ipro_compare_values(ipro_op op, double u, double v) {
  switch (op) {
  case IPRO_OP_LESS: return u < v;
  case IPRO_OP_GREATER: return u > v;
  case IPRO_OP_EQUAL: return u == v;
  case IPRO_OP_LESS_OR_EQUAL: return u <= v;
  case IPRO_OP_GREATER_OR_EQUAL: return u >= v;
  default: return false;
  }
}

void ipro_cumulative_sums(const double *values, const ipro_shape *shape, int axis, bool exclusive,
                          bool reverse, double *sums) {
  int64_t extent = shape->dims[axis], inner = 1, elements = ipro_shape_elements(shape);
  for (int d = axis + 1; d < shape->rank; d++)
    inner *= shape->dims[d];
  for (int64_t outer = 0; extent > 0 && inner > 0 && outer < elements / (extent * inner); outer++)
    for (int64_t i = 0; i < inner; i++) {
      double running = 0.0;
      for (int64_t step = 0; step < extent; step++) {
        int64_t k = reverse ? extent - 1 - step : step;
        int64_t at = (outer * extent + k) * inner + i;
        if (exclusive) sums[at] = running;
        running += values[at];
        if (!exclusive) sums[at] = running;
      }
    }
}
