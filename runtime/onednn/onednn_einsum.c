/* Einsum of two operands on oneDNN's matmul primitive, where the equation is a batch of matrix
 * products (attention's "bhqd,bhkd->bhqk", MViTv2's "byhwc,hkc->byhwk" and the gradients of
 * both but one). Each letter is an axis of the primitive, read through the operands' own strides
 * (no copy): the one summed letter (in both operands, not the output) is the product's depth K,
 * one letter of the first operand alone (and the output) its rows M, one of the second alone its
 * columns N, and every other output letter a batch axis, of extent 1 in the operand that lacks it
 * (oneDNN broadcasts it). Where the summed letters are several ("byhwc,byhwk->hkc", MViTv2's
 * weight gradient), the operands are reordered first into the kernel's planned workspace, each
 * letter group laid out together (the shared letters, then those of one operand alone, then the
 * summed ones), so that each group is one axis of the product, and the product, if the output
 * lists its letters in another order, is reordered into it; so too where the matmul has no
 * implementation for the operands' strides. Declined, for the reference kernels: one operand, a
 * letter one operand alone sums over, or more axes than oneDNN's 12. */
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

/* The letters of term (of rank letters) that are in `in` (when want_in) or not, and in `also`
 * (when want_also) or not, in term's order, appended to group; their count. */
static int letters_of(const char *term, int rank, const char *in, int in_rank, bool want_in,
                      const char *also, int also_rank, bool want_also, char *group, int n) {
  for (int k = 0; k < rank; k++)
    if (has(in, in_rank, term[k]) == want_in && has(also, also_rank, term[k]) == want_also)
      group[n++] = term[k];
  return n;
}

/* The descriptor of a term's data seen in the letter order `order` (its own strides), or, when
 * dense, of the same dimensions laid out densely in that order. */
static ipro_status ordered_md(dnnl_memory_desc_t *md, const char *order, int n,
                              const int64_t *stride, const int64_t *extent, bool dense,
                              ipro_error *err) {
  int64_t dims[IPRO_MAX_RANK], strides[IPRO_MAX_RANK], s = 1;
  for (int k = n - 1; k >= 0; k--) {
    int c = (unsigned char)order[k];
    dims[k] = extent[c];
    strides[k] = dense ? s : stride[c];
    s *= extent[c];
  }
  return strided_md(md, n, dims, strides, err);
}

/* The product of the extents of group's letters. */
static int64_t extent_of(const char *group, int n, const int64_t *extent) {
  int64_t product = 1;
  for (int k = 0; k < n; k++)
    product *= extent[(unsigned char)group[k]];
  return product;
}

static ipro_status einsum_by_reorders(ipro_onednn_kernel *kernel, const ipro_einsum *e,
                                      int64_t stride[3][128], const int64_t *extent,
                                      ipro_error *err) {
  const char *a = e->operand[0], *b = e->operand[1], *y = e->output;
  int ra = e->rank[0], rb = e->rank[1], ry = e->out_rank;
  char shared[IPRO_MAX_RANK], rows[IPRO_MAX_RANK], columns[IPRO_MAX_RANK], summed[IPRO_MAX_RANK];
  int n_shared = letters_of(y, ry, a, ra, true, b, rb, true, shared, 0);
  int n_rows = letters_of(y, ry, a, ra, true, b, rb, false, rows, 0);
  int n_columns = letters_of(y, ry, b, rb, true, a, ra, false, columns, 0);
  int n_summed = letters_of(a, ra, y, ry, false, b, rb, true, summed, 0);
  if (n_shared + 2 > DNNL_MAX_NDIMS) return ipro_onednn_unsupported(err, "too many axes");
  /* the operands' and the product's letter orders */
  char a_order[IPRO_MAX_RANK], b_order[IPRO_MAX_RANK], y_order[IPRO_MAX_RANK];
  memcpy(a_order, shared, (size_t)n_shared), memcpy(b_order, shared, (size_t)n_shared);
  memcpy(y_order, shared, (size_t)n_shared);
  memcpy(a_order + n_shared, rows, (size_t)n_rows);
  memcpy(a_order + n_shared + n_rows, summed, (size_t)n_summed);
  memcpy(b_order + n_shared, summed, (size_t)n_summed);
  memcpy(b_order + n_shared + n_summed, columns, (size_t)n_columns);
  memcpy(y_order + n_shared, rows, (size_t)n_rows);
  memcpy(y_order + n_shared + n_rows, columns, (size_t)n_columns);
  /* each operand laid out in its order in the workspace */
  size_t at[3];
  const char *orders[2] = {a_order, b_order};
  for (int i = 0; i < 2; i++) {
    dnnl_memory_desc_t from, to;
    if (ordered_md(&from, orders[i], e->rank[i], stride[i], extent, false, err) ||
        ordered_md(&to, orders[i], e->rank[i], stride[i], extent, true, err))
      return IPRO_ERROR;
    at[i] = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&to));
    if (ipro_onednn_reorder_step(kernel, &from, IPRO_ONEDNN_INPUT, (size_t)i, &to,
                                 IPRO_ONEDNN_INTERMEDIATE, at[i], err))
      return IPRO_ERROR;
  }
  /* the product over [shared..., rows, summed] · [shared..., summed, columns] */
  int ndims = n_shared + 2;
  int64_t a_dims[DNNL_MAX_NDIMS], b_dims[DNNL_MAX_NDIMS], y_dims[DNNL_MAX_NDIMS];
  for (int k = 0; k < n_shared; k++)
    a_dims[k] = b_dims[k] = y_dims[k] = extent[(unsigned char)shared[k]];
  int64_t m = extent_of(rows, n_rows, extent), n = extent_of(columns, n_columns, extent);
  int64_t depth = extent_of(summed, n_summed, extent);
  a_dims[n_shared] = y_dims[n_shared] = m, a_dims[n_shared + 1] = depth;
  b_dims[n_shared] = depth, b_dims[n_shared + 1] = y_dims[n_shared + 1] = n;
  bool in_place = memcmp(y, y_order, (size_t)ry) == 0; /* the output lists them so already */
  dnnl_memory_desc_t a_md, b_md, y_md;
  if (ipro_onednn_plain_md(&a_md, ndims, a_dims, err) ||
      ipro_onednn_plain_md(&b_md, ndims, b_dims, err) ||
      ipro_onednn_plain_md(&y_md, ndims, y_dims, err))
    return IPRO_ERROR;
  at[2] = in_place ? 0 : ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(&y_md));
  dnnl_matmul_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &y_md));
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC, IPRO_ONEDNN_INTERMEDIATE, at[0]},
      {DNNL_ARG_WEIGHTS, IPRO_ONEDNN_INTERMEDIATE, at[1]},
      {DNNL_ARG_DST, in_place ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INTERMEDIATE, at[2]},
  };
  if (ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, arguments, 3, err)) return IPRO_ERROR;
  if (in_place) return IPRO_OK;
  dnnl_memory_desc_t from, to;
  if (ordered_md(&from, y_order, ry, stride[2], extent, true, err) ||
      ordered_md(&to, y_order, ry, stride[2], extent, false, err))
    return IPRO_ERROR;
  return ipro_onednn_reorder_step(kernel, &from, IPRO_ONEDNN_INTERMEDIATE, at[2], &to,
                                  IPRO_ONEDNN_OUTPUT, 0, err);
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
  /* a letter one operand alone sums over has no axis here */
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < e.rank[i]; k++) {
      int c = (unsigned char)e.operand[i][k];
      if (!has(e.output, e.out_rank, c) && !has(e.operand[1 - i], e.rank[1 - i], c))
        return ipro_onednn_unsupported(err, "letter '%c' summed over by one operand alone", c);
    }
  /* the depth: the letter both operands have and the output lacks; several are reordered */
  int depth = -1;
  for (int k = 0; k < e.rank[0]; k++) {
    int c = (unsigned char)e.operand[0][k];
    if (has(e.output, e.out_rank, c)) continue;
    if (depth >= 0) return einsum_by_reorders(kernel, &e, stride, extent, err);
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
  /* strides no implementation takes: the operands reordered instead */
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_primitive_desc_create(&pd, &desc, NULL, kernel->engine, NULL) != dnnl_success)
    return einsum_by_reorders(kernel, &e, stride, extent, err);
  dnnl_primitive_desc_destroy(pd);
  return ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, ipro_onednn_weighted_arguments, 3,
                                    err);
fail:
  return IPRO_ERROR;
}
