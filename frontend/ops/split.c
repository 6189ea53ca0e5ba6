/* Op row of Split: X cut along one axis into consecutive pieces, one per output (torch.split and
 * torch.chunk, as both of PyTorch's exporters write them; CSP and ShuffleNet blocks, attention's
 * q, k, v). Canonical form: "axis" non-negative and "split" the pieces' extents, given (an input
 * from opset 13 on, an attribute before) or, when absent, computed at inference from the axis's
 * extent and the number of pieces (num_outputs from opset 18, else the outputs): equal pieces,
 * the last smaller where they do not divide evenly (opset 18's rule; before it they must), or,
 * for a SplitToSequence the loader made a Split of, a chunk size. */
#include "op_helpers.h"
#include "op_rows.h"

ipro_status ipro_split_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  /* chunk: the loader's, for a SplitToSequence by one chunk size (frontend/onnx_decode.h) */
  static const char *const known[] = {"axis:i", "split:I", "num_outputs:i", "chunk:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_node_input(graph, node, 1)) {
    int64_t split[64];
    int count;
    if (ipro_op_constant_ints(graph, node, 1, split, 64, &count, err) != IPRO_OK ||
        ipro_op_put_ints(node, "split", split, count, err) != IPRO_OK)
      return IPRO_ERROR;
    ipro_op_drop_input(node, 1);
  }
  return ipro_op_default_int(node, "axis", 0, err);
}

ipro_status ipro_split_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 2, 1, 64, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_SHAPE_DATA, &x, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 1, IPRO_MAX_RANK, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t axis;
  if (ipro_op_canonical_axis(node, 0, x->shape.rank, &axis, err) != IPRO_OK) return IPRO_ERROR;
  int64_t extent = x->shape.dims[axis];
  if (ipro_dim_is_batch(extent)) return ipro_op_batch_error(node, err, "splitting the batch");
  int count = 0, pieces = node->n_outputs;
  const int64_t *given = ipro_node_attr_ints(node, "split", &count);
  int64_t split[64];
  if (given) {
    if (count != pieces)
      return ipro_op_fail(err, node, "split has %d extents for %d outputs", count, pieces);
    int64_t total = 0;
    for (int o = 0; o < pieces; o++) {
      if (given[o] < 0) return ipro_op_fail(err, node, "extent %lld", (long long)given[o]);
      split[o] = given[o];
      if (__builtin_add_overflow(total, given[o], &total))
        return ipro_op_fail(err, node, "the extents overflow 64-bit integers");
    }
    if (total != extent)
      return ipro_op_fail(err, node, "the extents add up to %lld, not axis %lld's %lld",
                          (long long)total, (long long)axis, (long long)extent);
  } else if (ipro_node_attr(node, "chunk")) {
    int64_t chunk = ipro_node_attr_int(node, "chunk", 1);
    if (chunk < 1) return ipro_op_fail(err, node, "a chunk of %lld", (long long)chunk);
    int64_t total = extent / chunk + (extent % chunk != 0); /* no overflow for any chunk > 0 */
    if (total != pieces)
      return ipro_op_fail(err, node,
                          "axis %lld's %lld in chunks of %lld is %lld pieces, of which %d are "
                          "read; infopro needs the last one read too",
                          (long long)axis, (long long)extent, (long long)chunk, (long long)total,
                          pieces);
    for (int o = 0; o < pieces; o++) {
      int64_t left = extent - (int64_t)o * chunk;
      split[o] = left < chunk ? left : chunk;
    }
    if (ipro_op_put_ints(node, "split", split, pieces, err) != IPRO_OK) return IPRO_ERROR;
    ipro_node_remove_attr(node, "chunk");
  } else {
    int64_t wanted = ipro_node_attr_int(node, "num_outputs", pieces);
    if (wanted != pieces)
      return ipro_op_fail(err, node, "num_outputs %lld, but %d outputs", (long long)wanted, pieces);
    int64_t each = extent / pieces + (extent % pieces != 0);
    if (graph->opset < 18 && extent % pieces != 0)
      return ipro_op_fail(err, node, "axis %lld's %lld does not split into %d equal pieces",
                          (long long)axis, (long long)extent, pieces);
    for (int o = 0; o < pieces; o++) {
      int64_t left = extent - (int64_t)o * each;
      split[o] = left < 0 ? 0 : left < each ? left : each;
    }
    if (ipro_op_put_ints(node, "split", split, pieces, err) != IPRO_OK) return IPRO_ERROR;
  }
  for (int o = 0; o < pieces; o++) {
    ipro_shape shape = x->shape;
    shape.dims[axis] = split[o];
    if (ipro_op_set_output(graph, node, o, x->dtype, &shape, err) != IPRO_OK) return IPRO_ERROR;
  }
  return IPRO_OK;
}
