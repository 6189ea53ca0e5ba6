/* The values of the element-wise ops whose semantics infopro defines once, in double, for every
 * place that computes them on the host: the frontend folding them on constants
 * (frontend/ops/) and the reference kernels running them (runtime/reference/), so that a folded
 * constant and a computed activation agree to the bit. */
#ifndef IPRO_ELEMENTWISE_VALUES_H
#define IPRO_ELEMENTWISE_VALUES_H

#include <stdbool.h>

#include "ir/op_names.h"

/* Sqrt, Reciprocal, Abs, Neg, Floor, Ceil or Sign of v, as ONNX defines them (Sign of 0 is 0, of
 * NaN NaN); NaN for any other op. */
double ipro_real_unary_value(ipro_op op, double v);
/* Less, Greater, Equal, LessOrEqual or GreaterOrEqual of u and v (false for any other op). */
bool ipro_compare_values(ipro_op op, double u, double v);

#endif
