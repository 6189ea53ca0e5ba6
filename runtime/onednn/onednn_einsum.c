/* Einsum of two operands on oneDNN's matmul primitive, where the equation is a batch of matrix
 * products (attention's "bhqd,bhkd->bhqk", MViTv2's "byhwc,hkc->byhwk" and the gradients of
 * both but one). Each letter is an axis of the primitive, read through the operands' own strides
 * (no copy): the one summed letter (in both operands, not the output) is the product's depth K,
 * one letter of the first operand alone (and the output) its rows M, one of the second alone its
 * columns N, and every other output letter a batch axis, of extent 1 in the operand that lacks it
 * (oneDNN broadcasts it). Declined, for the reference kernels: one operand, several summed
 * letters ("byhwc,byhwk->hkc", MViTv2's weight gradient), a letter one operand alone sums over,
 * more axes than oneDNN's 12, or strides the primitive has no implementation for. */
#include <string.h>

#include "ir/einsum.h"
#include "onednn_internal.h"

/* Where each letter lies in a term: its stride in the term's dense row-major layout (0 where the
 * term lacks it), and its extent. */
static void letter_strides(const char *term, int rank, const ipro_shape *shape, int64_t *stride,
                           int64_t *extent) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    int c = (unsigned char)term[k];
    stride[c] = s;
    extent[c] = shape->dims[k];
    s *= shape->dims[k];
  }
}

static bool has(const char *term, int rank, int c) { return memchr(term, c, (size_t)rank) != NULL; }

/* A descriptor of dims and the strides given (1 for axes of extent 1). */
static ipro_status strided_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims,
                              const int64_t *strides, ipro_error *err) {
  dnnl_dims_t d, s;
  for (int k = 0; k < ndims; k++) {
    d[k] = dims[k];
    s[k] = dims[k] == 1 ? 1 : strides[k];
  }
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_strides(md, ndims, d, dnnl_f32, s));
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_build_einsum(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                     const ipro_node *node, ipro_error *err) {
  ipro_einsum e;
  if (node->n_inputs != 2 || ipro_einsum_parse(ipro_node_attr_string(node, "equation", ""), 2, &e))
    return ipro_onednn_unsupported(err, "not an equation of two operands");
  ipro_shape a, b, y;
  if (ipro_onednn_input_shape(graph, node, 0, &a, err) ||
      ipro_onednn_input_shape(graph, node, 1, &b, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  int64_t stride[3][128], extent[128];
  memset(stride, 0, sizeof stride);
  letter_strides(e.operand[0], e.rank[0], &a, stride[0], extent);
  letter_strides(e.operand[1], e.rank[1], &b, stride[1], extent);
  letter_strides(e.output, e.out_rank, &y, stride[2], extent);
  /* the depth: the letter both operands have and the output lacks (one at most); a letter one
   * operand alone sums over has no axis here */
  int depth = -1;
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < e.rank[i]; k++) {
      int c = (unsigned char)e.operand[i][k];
      if (has(e.output, e.out_rank, c)) continue;
      if (!has(e.operand[1 - i], e.rank[1 - i], c))
        return ipro_onednn_unsupported(err, "letter '%c' summed over by one operand alone", c);
      if (depth >= 0 && depth != c) return ipro_onednn_unsupported(err, "several summed letters");
      depth = c;
    }
  /* rows and columns: the last output letter of the first operand alone, of the second alone */
  int rows = -1, columns = -1;
  for (int k = 0; k < e.out_rank; k++) {
    int c = (unsigned char)e.output[k];
    bool in_a = has(e.operand[0], e.rank[0], c), in_b = has(e.operand[1], e.rank[1], c);
    if (in_a && !in_b) rows = c;
    if (in_b && !in_a) columns = c;
  }
  int ndims = e.out_rank - (rows >= 0) - (columns >= 0) + 2;
  if (ndims > DNNL_MAX_NDIMS) return ipro_onednn_unsupported(err, "%d axes", ndims);
  int64_t a_dims[DNNL_MAX_NDIMS], b_dims[DNNL_MAX_NDIMS], y_dims[DNNL_MAX_NDIMS];
  int64_t a_strides[DNNL_MAX_NDIMS], b_strides[DNNL_MAX_NDIMS], y_strides[DNNL_MAX_NDIMS];
  int d = 0;
  for (int k = 0; k < e.out_rank; k++) { /* the batch axes, in the output's order */
    int c = (unsigned char)e.output[k];
    if (c == rows || c == columns) continue;
    a_dims[d] = has(e.operand[0], e.rank[0], c) ? extent[c] : 1;
    b_dims[d] = has(e.operand[1], e.rank[1], c) ? extent[c] : 1;
    y_dims[d] = extent[c];
    a_strides[d] = stride[0][c], b_strides[d] = stride[1][c], y_strides[d] = stride[2][c];
    d++;
  }
  int64_t m = rows >= 0 ? extent[rows] : 1, n = columns >= 0 ? extent[columns] : 1;
  int64_t k_extent = depth >= 0 ? extent[depth] : 1;
  a_dims[d] = y_dims[d] = m, b_dims[d] = k_extent;
  a_strides[d] = rows >= 0 ? stride[0][rows] : 1, y_strides[d] = rows >= 0 ? stride[2][rows] : 1;
  b_strides[d] = depth >= 0 ? stride[1][depth] : 1;
  d++;
  a_dims[d] = k_extent, b_dims[d] = y_dims[d] = n;
  a_strides[d] = depth >= 0 ? stride[0][depth] : 1;
  b_strides[d] = columns >= 0 ? stride[1][columns] : 1;
  y_strides[d] = columns >= 0 ? stride[2][columns] : 1;
  dnnl_memory_desc_t a_md, b_md, y_md;
  if (strided_md(&a_md, ndims, a_dims, a_strides, err) ||
      strided_md(&b_md, ndims, b_dims, b_strides, err) ||
      strided_md(&y_md, ndims, y_dims, y_strides, err))
    return IPRO_ERROR;
  dnnl_matmul_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &y_md));
  /* strides no implementation takes are the reference kernels' */
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_primitive_desc_create(&pd, &desc, NULL, kernel->engine, NULL) != dnnl_success)
    return ipro_onednn_unsupported(err, "no matmul implementation for these strides");
  dnnl_primitive_desc_destroy(pd);
  return ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, ipro_onednn_weighted_arguments, 3,
                                    err);
fail:
  return IPRO_ERROR;
}
