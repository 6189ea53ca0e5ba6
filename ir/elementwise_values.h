/* The values of the element-wise ops (and CumSum's running sums) whose semantics infopro defines
 * once, in double, for every place that computes them on the host: the frontend folding them on
 * constants (frontend/ops/) and the reference kernels running them (runtime/reference/), so that a
 * folded constant and a computed activation agree to the bit. */
#ifndef IPRO_ELEMENTWISE_VALUES_H
#define IPRO_ELEMENTWISE_VALUES_H

#include <stdbool.h>

#include "ir/graph.h"
#include "ir/op_names.h"

/* Selu's default alpha and gamma (Klambauer et al.'s constants, as ONNX gives them in float32). */
#define IPRO_SELU_ALPHA 1.67326319217681884765625f
#define IPRO_SELU_GAMMA 1.05070102214813232421875f

/* Sqrt, Reciprocal, Abs, Neg, Floor, Ceil, Sign, Sin, Cos, Exp or Log of v, as ONNX defines them
 * (Sign of 0 is 0, of NaN NaN); NaN for any other op. */
double ipro_real_unary_value(ipro_op op, double v);
/* Less, Greater, Equal, LessOrEqual or GreaterOrEqual of u and v (false for any other op). */
bool ipro_compare_values(ipro_op op, double u, double v);

/* CumSum of values of shape along axis (ONNX's exclusive and reverse) into sums, in double. */
void ipro_cumulative_sums(const double *values, const ipro_shape *shape, int axis, bool exclusive,
                          bool reverse, double *sums);

#endif
