/* Reference kernel of Einsum (ir/einsum.h): every combination of the equation's letters visited
 * once (an odometer over them), the product of the operands' elements there added into the
 * output's, in double. */
#include <string.h>

#include "ir/einsum.h"
#include "reference_ops.h"

IPRO_REFERENCE_KERNEL(ipro_reference_einsum) {
  (void)context;
  ipro_einsum e;
  const char *wrong =
      ipro_einsum_parse(ipro_node_attr_string(node, "equation", ""), node->n_inputs, &e);
  if (wrong) return ipro_reference_fail(node, err, "equation: %s", wrong);
  ipro_shape shapes[2], y;
  if (ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  /* the letters, each one's extent and its stride in every operand and the output (0 where the
   * letter is absent) */
  char letters[2 * IPRO_MAX_RANK];
  int64_t extent[2 * IPRO_MAX_RANK], stride[3][2 * IPRO_MAX_RANK];
  int n = 0;
  memset(stride, 0, sizeof stride);
  for (int t = 0; t <= e.n_operands; t++) {
    bool out = t == e.n_operands;
    if (!out && (ipro_reference_expect_real(graph, node, true, t, err) ||
                 ipro_reference_input_shape(graph, node, t, &shapes[t], err)))
      return IPRO_ERROR;
    const ipro_shape *shape = out ? &y : &shapes[t];
    const char *term = out ? e.output : e.operand[t];
    int rank = out ? e.out_rank : e.rank[t];
    if (shape->rank != rank) return ipro_reference_fail(node, err, "a term's rank differs");
    int64_t s = 1;
    for (int k = rank - 1; k >= 0; k--) {
      int l = 0;
      while (l < n && letters[l] != term[k])
        l++;
      if (l == n) letters[n] = term[k], extent[n++] = shape->dims[k];
      if (extent[l] != shape->dims[k])
        return ipro_reference_fail(node, err, "letter '%c' has two extents", term[k]);
      stride[out ? 2 : t][l] = s;
      s *= shape->dims[k];
    }
  }
  double *out = outputs[0];
  memset(out, 0, (size_t)ipro_shape_elements(&y) * sizeof *out);
  for (int l = 0; l < n; l++)
    if (extent[l] == 0) return IPRO_OK;
  const double *a = inputs[0], *b = e.n_operands == 2 ? inputs[1] : NULL;
  int64_t index[2 * IPRO_MAX_RANK] = {0}, at[3] = {0, 0, 0};
  for (;;) {
    out[at[2]] += b ? a[at[0]] * b[at[1]] : a[at[0]];
    int l = n - 1;
    for (; l >= 0; l--) {
      for (int t = 0; t < 3; t++)
        at[t] += stride[t][l];
      if (++index[l] < extent[l]) break;
      for (int t = 0; t < 3; t++)
        at[t] -= stride[t][l] * extent[l];
      index[l] = 0;
    }
    if (l < 0) return IPRO_OK;
  }
}
