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
