/* Concat on oneDNN's concat primitive: every input and Y in the plain layout, joined along the
 * canonical (non-negative) axis. Inputs that are empty along the axis are declined.
 *
 * ipro.Slice (T → R; the gradient of Concat and of Pad, codegen/internal_ops.md): R is the box of
 * T at `starts` with R's shape, one reorder from that box of T (a submemory descriptor: oneDNN
 * reads the strided view in place) into R, float32, both plain, on every thread. On the
 * reference kernels it was one memcpy per row on one thread: 8.9 ms of DenseNet-small's
 * 124 ms step at batch 128 (bench/step_profile). */
#include <stdlib.h>

#include "onednn_internal.h"

ipro_status ipro_onednn_build_concat(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                     const ipro_node *node, ipro_error *err) {
  ipro_shape y, x;
  if (ipro_onednn_output_shape(graph, node, 0, &y, err)) return IPRO_ERROR;
  int64_t axis = ipro_node_attr_int(node, "axis", 0);
  if (y.rank < 1 || axis < 0 || axis >= y.rank || node->n_inputs < 1)
    return ipro_onednn_unsupported(err, "axis %lld for rank %d", (long long)axis, y.rank);
  dnnl_memory_desc_t *sources = calloc((size_t)node->n_inputs, sizeof *sources);
  if (!sources) return ipro_error_set(err, "out of memory");
  dnnl_memory_desc_t y_md;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  int64_t total = 0;
  for (int i = 0; i < node->n_inputs; i++) {
    if (ipro_onednn_input_shape(graph, node, i, &x, err)) goto fail;
    if (x.rank != y.rank) {
      ipro_onednn_unsupported(err, "input %d has rank %d, Y %d", i, x.rank, y.rank);
      goto fail;
    }
    for (int d = 0; d < y.rank; d++)
      if (d != axis && x.dims[d] != y.dims[d]) {
        ipro_onednn_unsupported(err, "input %d does not match Y off the axis", i);
        goto fail;
      }
    total += x.dims[axis];
    if (ipro_onednn_plain_md(&sources[i], x.rank, x.dims, err)) goto fail;
  }
  if (total != y.dims[axis]) {
    ipro_onednn_unsupported(err, "the inputs do not add up to Y along the axis");
    goto fail;
  }
  if (ipro_onednn_plain_md(&y_md, y.rank, y.dims, err) || ipro_onednn_attr_create(&attr, err))
    goto fail;
  IPRO_ONEDNN_CHECK(dnnl_concat_primitive_desc_create(&pd, &y_md, node->n_inputs, (int)axis,
                                                      sources, attr, kernel->engine));
  if (ipro_onednn_add_step(kernel, pd, err) ||
      ipro_onednn_bind(kernel, pd, DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0, err))
    goto fail;
  for (int i = 0; i < node->n_inputs; i++)
    if (ipro_onednn_bind_md(kernel, &sources[i], DNNL_ARG_MULTIPLE_SRC + i, IPRO_ONEDNN_INPUT,
                            (size_t)i, err))
      goto fail;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
  free(sources);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  free(sources);
  return IPRO_ERROR;
}

ipro_status ipro_onednn_build_slice(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                    const ipro_node *node, ipro_error *err) {
  ipro_shape t, r;
  if (ipro_onednn_shaped_operands(graph, node, &t, &r, err)) return IPRO_ERROR;
  int count = 0;
  const int64_t *starts = ipro_node_attr_ints(node, "starts", &count);
  if (t.rank < 1 || r.rank != t.rank || count != t.rank || ipro_shape_elements(&r) == 0)
    return ipro_onednn_unsupported(err, "starts has %d values and R rank %d for T of rank %d",
                                   count, r.rank, t.rank);
  for (int d = 0; d < t.rank; d++)
    if (starts[d] < 0 || starts[d] + r.dims[d] > t.dims[d])
      return ipro_onednn_unsupported(err, "axis %d: the box leaves T", d);
  dnnl_memory_desc_t t_md, box, r_md;
  dnnl_dims_t offsets = {0}, extents = {0};
  for (int d = 0; d < t.rank; d++)
    offsets[d] = starts[d], extents[d] = r.dims[d];
  if (ipro_onednn_plain_md(&t_md, t.rank, t.dims, err) ||
      ipro_onednn_plain_md(&r_md, r.rank, r.dims, err))
    return IPRO_ERROR;
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_submemory(&box, &t_md, extents, offsets));
  return ipro_onednn_reorder_step(kernel, &box, IPRO_ONEDNN_INPUT, 0, &r_md, IPRO_ONEDNN_OUTPUT, 0,
                                  err);
fail:
  return IPRO_ERROR;
}

/* Split: each piece one reorder out of its box of X (plain, as every operand here). */
ipro_status ipro_onednn_build_split(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                    const ipro_node *node, ipro_error *err) {
  ipro_shape x;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err)) return IPRO_ERROR;
  int64_t axis = ipro_node_attr_int(node, "axis", 0);
  int count = 0;
  const int64_t *split = ipro_node_attr_ints(node, "split", &count);
  if (axis < 0 || axis >= x.rank || !split || count != node->n_outputs)
    return ipro_onednn_unsupported(err, "axis %lld with %d extents", (long long)axis, count);
  dnnl_memory_desc_t x_md;
  if (ipro_onednn_plain_md(&x_md, x.rank, x.dims, err)) return IPRO_ERROR;
  int64_t offset = 0;
  for (int o = 0; o < node->n_outputs; o++) {
    ipro_shape piece = x;
    piece.dims[axis] = split[o];
    if (split[o] > 0 && ipro_node_output(graph, node, o)) {
      dnnl_memory_desc_t box, piece_md;
      dnnl_dims_t offsets = {0}, extents = {0};
      for (int d = 0; d < x.rank; d++)
        extents[d] = piece.dims[d];
      offsets[axis] = offset;
      if (ipro_onednn_plain_md(&piece_md, piece.rank, piece.dims, err)) return IPRO_ERROR;
      IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_submemory(&box, &x_md, extents, offsets));
      if (ipro_onednn_reorder_step(kernel, &box, IPRO_ONEDNN_INPUT, 0, &piece_md,
                                   IPRO_ONEDNN_OUTPUT, (size_t)o, err))
        return IPRO_ERROR;
    }
    offset += split[o];
  }
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}
