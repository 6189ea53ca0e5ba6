/* Op rows of ScatterND and GatherND (batch_dims 0, no reduction): slices of data at int64
 * indices [..., k] replaced by updates, or taken. Exporters write ScatterND for an assignment
 * into a slice of a tensor (TorchScript's shifted-window attention mask of the Swin Transformer,
 * built from zeros each forward pass) and torch.export writes GatherND for indexing by a tensor
 * (the Swin Transformer's relative position bias, table[index]). With data and indices (and
 * updates) constants training cannot change either is folded; else ScatterND runs (no gradient
 * rule: on a trained path, autodiff names the node), GatherND at constant indices that each
 * address one slice of the first axis (k = 1) becomes the Gather it is, with Gather's gradient,
 * and GatherND at constant indices addressing more axes runs as it is, with a gradient of its
 * own.
 *
 * ScatterElements (no reduction) replaces the elements of data at each position of indices,
 * along `axis`, by updates: torch.export writes it for an assignment into a selection
 * (`t[:, :, :, 2] = v`, ConViT's positional indices, built from constants). It is folded on
 * constants and refused on tensors computed at run time.
 *
 * GatherElements takes data's element at each position of indices, its coordinate along `axis`
 * replaced by the index there (torch.gather; the expanded NegativeLogLikelihoodLoss picks each
 * sample's class with it): folded on constants, else it runs at indices computed at run time too
 * (the reference kernels), with a gradient that adds dY back at the indices
 * (ipro.GatherElementsGrad). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_helpers.h"
#include "op_rows.h"

/* The most elements a folded ScatterND or GatherND makes: the Swin Transformer's masks are
 * 56 × 56. */
#define MAX_FOLDED_ELEMENTS (1 << 20)

ipro_status ipro_scatter_nd_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"reduction:s", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  const char *reduction = ipro_node_attr_string(node, "reduction", "none");
  if (strcmp(reduction, "none") != 0)
    return ipro_op_fail(err, node, "reduction '%s' is not supported (only 'none')", reduction);
  ipro_node_remove_attr(node, "reduction");
  return IPRO_OK;
}

/* The shape of the slices indices address in data, indices.shape[:-1] + data.shape[k:] with
 * k = indices.shape[-1] (1 to data's rank): GatherND's output and ScatterND's updates. */
static ipro_status addressed_shape(const ipro_node *node, const ipro_tensor *data,
                                   const ipro_tensor *indices, ipro_shape *shape, int64_t *k,
                                   ipro_error *err) {
  const ipro_shape *q = &indices->shape;
  *k = q->rank < 1 ? -1 : q->dims[q->rank - 1];
  if (*k < 1 || *k > data->shape.rank)
    return ipro_op_fail(err, node, "indices '%s' must have a last axis of 1 to %d (data's rank)",
                        indices->name, data->shape.rank);
  *shape = (ipro_shape){.rank = q->rank - 1 + data->shape.rank - (int)*k};
  if (shape->rank > IPRO_MAX_RANK)
    return ipro_op_fail(err, node,
                        "the addressed slices would have rank %d; at most %d is "
                        "supported",
                        shape->rank, IPRO_MAX_RANK);
  for (int d = 0; d + 1 < q->rank; d++)
    shape->dims[d] = q->dims[d];
  for (int d = (int)*k; d < data->shape.rank; d++)
    shape->dims[q->rank - 1 + d - (int)*k] = data->shape.dims[d];
  return IPRO_OK;
}

/* updates must have the shape of the slices the indices address. */
static ipro_status check_shapes(const ipro_node *node, const ipro_tensor *data,
                                const ipro_tensor *indices, const ipro_tensor *updates,
                                ipro_error *err) {
  ipro_shape expected;
  int64_t k;
  if (addressed_shape(node, data, indices, &expected, &k, err) != IPRO_OK) return IPRO_ERROR;
  if (!ipro_shape_equal(&expected, &updates->shape)) {
    char want[128], got[128];
    ipro_shape_format(&expected, want, sizeof want);
    ipro_shape_format(&updates->shape, got, sizeof got);
    return ipro_op_fail(err, node, "updates '%s' has shape %s; the indices and data ask for %s",
                        updates->name, got, want);
  }
  return IPRO_OK;
}

ipro_status ipro_scatter_nd_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *data, *indices, *updates;
  if (ipro_op_check_arity(graph, node, 3, 3, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL | IPRO_DTYPES_INDEX, &data, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INT64, &indices, err) != IPRO_OK ||
      ipro_op_input(graph, node, 2, IPRO_DTYPES(data->dtype), &updates, err) != IPRO_OK ||
      check_shapes(node, data, indices, updates, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&data->shape);
  if (!ipro_tensor_is_foldable(data) || !ipro_tensor_is_constant(indices) ||
      !ipro_tensor_is_foldable(updates) || count < 0 || count > MAX_FOLDED_ELEMENTS)
    return ipro_op_set_output(graph, node, 0, data->dtype, &data->shape, err);
  size_t element = ipro_dtype_size(data->dtype);
  char *folded = malloc((size_t)(count + 1) * element);
  if (!folded) return ipro_op_out_of_memory(err, node);
  const char *wrong = ipro_scatter_nd(data->data, &data->shape, element, indices->data,
                                      &indices->shape, updates->data, folded);
  ipro_status status = wrong ? ipro_op_fail(err, node, "%s '%s'", wrong, data->name)
                             : ipro_op_fold_output(graph, node, 0, data->dtype, &data->shape,
                                                   folded, (size_t)count * element, err);
  free(folded);
  return status;
}

ipro_status ipro_scatter_elements_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"axis:i", "reduction:s", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  const char *reduction = ipro_node_attr_string(node, "reduction", "none");
  if (strcmp(reduction, "none") != 0)
    return ipro_op_fail(err, node, "reduction '%s' is not supported (only 'none')", reduction);
  ipro_node_remove_attr(node, "reduction");
  return ipro_op_default_int(node, "axis", 0, err);
}

ipro_status ipro_scatter_elements_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *data, *indices, *updates;
  if (ipro_op_check_arity(graph, node, 3, 3, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL | IPRO_DTYPES_INDEX, &data, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INDEX, &indices, err) != IPRO_OK ||
      ipro_op_input(graph, node, 2, IPRO_DTYPES(data->dtype), &updates, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t axis;
  if (ipro_op_axis(node, "axis", ipro_node_attr_int(node, "axis", 0), data->shape.rank, &axis,
                   err) != IPRO_OK)
    return IPRO_ERROR;
  if (indices->shape.rank != data->shape.rank ||
      !ipro_shape_equal(&indices->shape, &updates->shape))
    return ipro_op_fail(err, node, "indices and updates must have one shape, of data's rank");
  for (int k = 0; k < data->shape.rank; k++)
    if (!ipro_dim_is_batch(data->shape.dims[k]) && indices->shape.dims[k] > data->shape.dims[k])
      return ipro_op_fail(err, node, "indices reach past data along axis %d", k);
  int64_t count = ipro_shape_elements(&data->shape);
  if (!ipro_tensor_is_foldable(data) || !ipro_tensor_is_constant(indices) ||
      !ipro_tensor_is_foldable(updates) || count < 0 || count > MAX_FOLDED_ELEMENTS)
    return ipro_op_fail(err, node,
                        "is supported on constants only (folded when the model loads); here "
                        "'%s', '%s' or '%s' is computed at run time or larger than %d elements",
                        data->name, indices->name, updates->name, MAX_FOLDED_ELEMENTS);
  char *folded = malloc((size_t)(count + 1) * ipro_dtype_size(data->dtype));
  if (!folded) return ipro_op_out_of_memory(err, node);
  const char *wrong = ipro_scatter_elements(data->data, &data->shape, ipro_dtype_size(data->dtype),
                                            indices->data, indices->dtype == IPRO_DTYPE_INT32,
                                            &indices->shape, updates->data, (int)axis, folded);
  ipro_status status = wrong
                           ? ipro_op_fail(err, node, "%s '%s'", wrong, data->name)
                           : ipro_op_fold_output(graph, node, 0, data->dtype, &data->shape, folded,
                                                 (size_t)count * ipro_dtype_size(data->dtype), err);
  free(folded);
  return status;
}

ipro_status ipro_gather_elements_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"axis:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_int(node, "axis", 0, err);
}

ipro_status ipro_gather_elements_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *data, *indices;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL | IPRO_DTYPES_INDEX, &data, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INDEX, &indices, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t axis;
  if (ipro_op_axis(node, "axis", ipro_node_attr_int(node, "axis", 0), data->shape.rank, &axis,
                   err) != IPRO_OK ||
      ipro_op_put_int(node, "axis", axis, err) != IPRO_OK)
    return IPRO_ERROR;
  if (indices->shape.rank != data->shape.rank)
    return ipro_op_fail(err, node, "indices of rank %d for data of rank %d", indices->shape.rank,
                        data->shape.rank);
  for (int k = 0; k < data->shape.rank; k++) {
    int64_t have = data->shape.dims[k], want = indices->shape.dims[k];
    if (ipro_dim_is_batch(have) != ipro_dim_is_batch(want) && k != axis)
      return ipro_op_batch_error(node, err, "indexing along the batch dimension");
    if (!ipro_dim_is_batch(have) && !ipro_dim_is_batch(want) && want > have && k != axis)
      return ipro_op_fail(err, node, "indices reach past data along axis %d", k);
  }
  if (ipro_dim_is_batch(data->shape.dims[axis]))
    return ipro_op_batch_error(node, err, "gathering along the batch dimension");
  int64_t count = ipro_shape_elements(&indices->shape);
  bool symbolic = false;
  for (int k = 0; k < indices->shape.rank; k++)
    symbolic |= ipro_dim_is_batch(indices->shape.dims[k]);
  if (!ipro_tensor_is_foldable(data) || !ipro_tensor_is_constant(indices) || symbolic ||
      count > MAX_FOLDED_ELEMENTS)
    return ipro_op_set_output(graph, node, 0, data->dtype, &indices->shape, err);
  size_t element = ipro_dtype_size(data->dtype);
  char *folded = malloc((size_t)(count + 1) * element);
  if (!folded) return ipro_op_out_of_memory(err, node);
  ipro_status status = IPRO_OK;
  int64_t extent = data->shape.dims[axis];
  for (int64_t p = 0; p < count && status == IPRO_OK; p++) {
    int64_t index;
    if (!ipro_element_index(indices->data, indices->dtype == IPRO_DTYPE_INT32, p, extent, &index)) {
      status = ipro_op_fail(err, node, "an index is out of range for a dimension of %lld",
                            (long long)extent);
      break;
    }
    int64_t from = ipro_element_offset(&indices->shape, &data->shape, (int)axis, p, index);
    memcpy(folded + (size_t)p * element, (const char *)data->data + (size_t)from * element,
           element);
  }
  if (status == IPRO_OK)
    status = ipro_op_fold_output(graph, node, 0, data->dtype, &indices->shape, folded,
                                 (size_t)count * element, err);
  free(folded);
  return status;
}

ipro_status ipro_gather_nd_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"batch_dims:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  int64_t batch_dims = ipro_node_attr_int(node, "batch_dims", 0);
  if (batch_dims != 0)
    return ipro_op_fail(err, node, "batch_dims %lld is not supported (only 0)",
                        (long long)batch_dims);
  ipro_node_remove_attr(node, "batch_dims");
  return IPRO_OK;
}

/* GatherND(data, indices [..., 1]) as Gather(data, indices [...], axis 0): the node becomes a
 * Gather reading a new constant of the indices without their last axis. */
static ipro_status become_gather(ipro_graph *graph, ipro_node *node, const ipro_tensor *indices,
                                 ipro_error *err) {
  char name[600];
  snprintf(name, sizeof name, "%s/gather_indices", node->name);
  ipro_shape shape = indices->shape;
  shape.rank--;
  const void *values = indices->data;
  size_t bytes = (size_t)ipro_shape_elements(&shape) * sizeof(int64_t);
  int existing = graph->n_tensors;
  int t = ipro_graph_tensor(graph, name); /* may move the tensors: indices is read before */
  if (t < 0) return ipro_op_out_of_memory(err, node);
  if (t < existing) /* the file has a tensor of that name: not written over */
    return ipro_op_fail(err, node, "a tensor named '%s' is in the way", name);
  ipro_tensor *squeezed = &graph->tensors[t];
  squeezed->kind = IPRO_TENSOR_CONSTANT;
  squeezed->dtype = IPRO_DTYPE_INT64;
  squeezed->shape = shape;
  if (ipro_tensor_set_data(squeezed, values, bytes, err) != IPRO_OK) return IPRO_ERROR;
  node->inputs[1] = t;
  node->op = IPRO_OP_GATHER;
  if (ipro_node_set_int(node, "axis", 0) != IPRO_OK) return ipro_op_out_of_memory(err, node);
  return ipro_gather_infer(graph, node, err);
}

/* GatherND of a tensor computed at run time at constant indices addressing k >= 2 axes, none of
 * them the batch (torch.export's adaptive average pooling whose windows do not divide the map):
 * it runs (the reference kernels), its gradient a sum over the rows it reads
 * (codegen/gradient_rules.c); every index is checked against its axis here. */
static ipro_status run_at_constant_indices(ipro_graph *graph, ipro_node *node,
                                           const ipro_tensor *data, const ipro_tensor *indices,
                                           int64_t k, const ipro_shape *shape, ipro_error *err) {
  for (int64_t a = 0; a < k; a++)
    if (data->shape.dims[a] == IPRO_DIM_BATCH || data->shape.dims[a] <= 0)
      return ipro_op_fail(err, node,
                          "indices addressing the batch axis of '%s' (axis %lld) are not "
                          "supported",
                          data->name, (long long)a);
  const int64_t *at = indices->data;
  int64_t n = ipro_shape_elements(&indices->shape);
  for (int64_t j = 0; j < n; j++) {
    int64_t dim = data->shape.dims[j % k];
    if (at[j] < -dim || at[j] >= dim)
      return ipro_op_fail(err, node, "index %lld of '%s' is outside axis %lld's %lld",
                          (long long)at[j], indices->name, (long long)(j % k), (long long)dim);
  }
  return ipro_op_set_output(graph, node, 0, data->dtype, shape, err);
}

ipro_status ipro_gather_nd_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *data, *indices;
  if (ipro_op_check_arity(graph, node, 2, 2, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL | IPRO_DTYPES_INDEX, &data, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES_INT64, &indices, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_shape shape;
  int64_t k;
  if (addressed_shape(node, data, indices, &shape, &k, err) != IPRO_OK) return IPRO_ERROR;
  if (!ipro_tensor_is_constant(indices))
    return ipro_op_fail(err, node, "indices '%s' computed at run time are not supported",
                        indices->name);
  int64_t count = ipro_shape_elements(&shape);
  if (!ipro_tensor_is_foldable(data) || count < 0 || count > MAX_FOLDED_ELEMENTS) {
    if (k == 1) return become_gather(graph, node, indices, err);
    return run_at_constant_indices(graph, node, data, indices, k, &shape, err);
  }
  size_t element = ipro_dtype_size(data->dtype);
  char *folded = malloc((size_t)(count + 1) * element);
  if (!folded) return ipro_op_out_of_memory(err, node);
  const char *wrong =
      ipro_gather_nd(data->data, &data->shape, element, indices->data, &indices->shape, folded);
  ipro_status status = wrong ? ipro_op_fail(err, node, "%s '%s'", wrong, data->name)
                             : ipro_op_fold_output(graph, node, 0, data->dtype, &shape, folded,
                                                   (size_t)count * element, err);
  free(folded);
  return status;
}
