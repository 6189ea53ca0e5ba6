/* Concat on oneDNN's concat primitive: every input and Y in the plain layout, joined along the
 * canonical (non-negative) axis. Inputs that are empty along the axis are declined.
 *
 * ipro.Slice (T → R; the gradient of Concat and of Pad, codegen/internal_ops.md): R is the box of
 * T at `starts` with R's shape, one reorder from that box of T (a submemory descriptor: oneDNN
 * reads the strided view in place) into R, float32, both plain, on every thread. On the
 * reference kernels it was one memcpy per row on one thread: 8.9 ms of DenseNet-small's
 * 124 ms step at batch 128 (bench/step_profile).
 *
 * The ONNX data movers the same way (session 14: ShuffleNetV2 spent 67% of its step on their
 * reference kernels): Split and Slice (steps of 1) as reorders out of boxes of X, Transpose as
 * one reorder from X seen through permuted strides, constant Pad as a fill of Y and a reorder of
 * X into Y's box. Every operand float32 and plain. */
#include <stdlib.h>
#include <string.h>

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

/* One reorder of the box of input 0 (shape t, plain) that starts at `starts` and has r's extents
 * into output `output` (shape r, plain); declined where the box leaves T. */
static ipro_status reorder_box(ipro_onednn_kernel *kernel, const ipro_shape *t,
                               const int64_t *starts, const ipro_shape *r, size_t output,
                               ipro_error *err) {
  dnnl_memory_desc_t t_md, box, r_md;
  dnnl_dims_t offsets = {0}, extents = {0};
  for (int d = 0; d < t->rank; d++) {
    if (starts[d] < 0 || starts[d] + r->dims[d] > t->dims[d])
      return ipro_onednn_unsupported(err, "axis %d: the box leaves T", d);
    offsets[d] = starts[d], extents[d] = r->dims[d];
  }
  if (ipro_onednn_plain_md(&t_md, t->rank, t->dims, err) ||
      ipro_onednn_plain_md(&r_md, r->rank, r->dims, err))
    return IPRO_ERROR;
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_submemory(&box, &t_md, extents, offsets));
  return ipro_onednn_reorder_step(kernel, &box, IPRO_ONEDNN_INPUT, 0, &r_md, IPRO_ONEDNN_OUTPUT,
                                  output, err);
fail:
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
  return reorder_box(kernel, &t, starts, &r, 0, err);
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
  int64_t starts[IPRO_MAX_RANK] = {0};
  for (int o = 0; o < node->n_outputs; o++) {
    ipro_shape piece = x;
    piece.dims[axis] = split[o];
    if (split[o] > 0 && ipro_node_output(graph, node, o) &&
        reorder_box(kernel, &x, starts, &piece, (size_t)o, err))
      return IPRO_ERROR;
    starts[axis] += split[o];
  }
  return IPRO_OK;
}

/* ONNX's Slice with steps of 1: one reorder out of the box of X at slice_first (written by shape
 * inference) with Y's extents. */
ipro_status ipro_onednn_build_slice_onnx(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                         const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  int n_first = 0, n_step = 0;
  const int64_t *first = ipro_node_attr_ints(node, "slice_first", &n_first);
  const int64_t *step = ipro_node_attr_ints(node, "slice_step", &n_step);
  if (!first || !step || n_first != x.rank || n_step != x.rank || y.rank != x.rank ||
      ipro_shape_elements(&y) == 0)
    return ipro_onednn_unsupported(err, "no slice of X's rank");
  bool unit = true;
  for (int d = 0; d < x.rank; d++) {
    if (step[d] < 1)
      return ipro_onednn_unsupported(err, "axis %d: a step of %lld", d, (long long)step[d]);
    unit = unit && step[d] == 1;
  }
  if (unit) return reorder_box(kernel, &x, first, &y, 0, err);
  /* steps above 1 (the Swin Transformer's patch merging, x[:, 0::2, 1::2, :]): X read through
   * Y's dimensions with its strides times the steps, from the slice's first element */
  dnnl_dims_t strides, dims;
  int64_t stride = 1, offset = 0;
  for (int d = x.rank - 1; d >= 0; d--) {
    strides[d] = stride * step[d], dims[d] = y.dims[d];
    offset += first[d] * stride;
    stride *= x.dims[d];
  }
  dnnl_memory_desc_t seen, y_md;
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_strides(&seen, y.rank, dims, dnnl_f32, strides));
  seen.offset0 = offset;
  if (ipro_onednn_plain_md(&y_md, y.rank, y.dims, err)) return IPRO_ERROR;
  return ipro_onednn_reorder_step(kernel, &seen, IPRO_ONEDNN_INPUT, 0, &y_md, IPRO_ONEDNN_OUTPUT, 0,
                                  err);
fail:
  return IPRO_ERROR;
}

/* Transpose: Y[j] = X[perm(j)], read as X through Y's dimensions with X's strides permuted. */
ipro_status ipro_onednn_build_transpose(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                        const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  int count = 0;
  const int64_t *perm = ipro_node_attr_ints(node, "perm", &count);
  if (!perm || count != x.rank || y.rank != x.rank || x.rank < 1 || ipro_shape_elements(&y) == 0)
    return ipro_onednn_unsupported(err, "perm of %d for rank %d", count, x.rank);
  dnnl_dims_t x_strides, strides, dims;
  int64_t stride = 1;
  for (int d = x.rank - 1; d >= 0; d--)
    x_strides[d] = stride, stride *= x.dims[d];
  for (int d = 0; d < y.rank; d++) {
    if (perm[d] < 0 || perm[d] >= x.rank || x.dims[perm[d]] != y.dims[d])
      return ipro_onednn_unsupported(err, "perm does not map X onto Y");
    strides[d] = x_strides[perm[d]], dims[d] = y.dims[d];
  }
  dnnl_memory_desc_t seen, y_md;
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_strides(&seen, y.rank, dims, dnnl_f32, strides));
  if (ipro_onednn_plain_md(&y_md, y.rank, y.dims, err)) return IPRO_ERROR;
  return ipro_onednn_reorder_step(kernel, &seen, IPRO_ONEDNN_INPUT, 0, &y_md, IPRO_ONEDNN_OUTPUT, 0,
                                  err);
fail:
  return IPRO_ERROR;
}

typedef struct {
  int64_t count;
  float value;
} fill_state;

static ipro_status fill_output(const ipro_onednn_kernel *kernel, void *const *inputs,
                               void *const *outputs, char *workspace, uint64_t step,
                               ipro_error *err) {
  (void)inputs, (void)workspace, (void)step, (void)err;
  const fill_state *s = kernel->state;
  float *y = outputs[0];
  IPRO_ONEDNN_PARALLEL_FOR(s->count)
  for (int64_t i = 0; i < s->count; i++)
    y[i] = s->value;
  return IPRO_OK;
}

/* Constant Pad with pads of at least 0 (Slice's gradient among them): Y filled with the value,
 * then X reordered into Y's box at the leading pads. */
ipro_status ipro_onednn_build_pad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                  const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  int count = 0;
  const int64_t *pads = ipro_node_attr_ints(node, "pads", &count);
  if (strcmp(ipro_node_attr_string(node, "mode", "constant"), "constant") != 0 || !pads ||
      count != 2 * x.rank || y.rank != x.rank || node->n_inputs > 1 || ipro_shape_elements(&x) == 0)
    return ipro_onednn_unsupported(err, "not a constant Pad of X alone");
  dnnl_dims_t offsets = {0}, extents = {0};
  for (int d = 0; d < x.rank; d++) {
    if (pads[d] < 0 || pads[x.rank + d] < 0 || pads[d] + x.dims[d] + pads[x.rank + d] != y.dims[d])
      return ipro_onednn_unsupported(err, "axis %d: pads %lld and %lld", d, (long long)pads[d],
                                     (long long)pads[x.rank + d]);
    offsets[d] = pads[d], extents[d] = x.dims[d];
  }
  fill_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->count = ipro_shape_elements(&y);
  s->value = ipro_node_attr_float(node, "value", 0.0f);
  dnnl_memory_desc_t x_md, y_md, box;
  if (ipro_onednn_plain_md(&x_md, x.rank, x.dims, err) ||
      ipro_onednn_plain_md(&y_md, y.rank, y.dims, err))
    return IPRO_ERROR;
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_submemory(&box, &y_md, extents, offsets));
  if (ipro_onednn_add_loop_step(kernel, fill_output, err)) return IPRO_ERROR;
  return ipro_onednn_reorder_step(kernel, &x_md, IPRO_ONEDNN_INPUT, 0, &box, IPRO_ONEDNN_OUTPUT, 0,
                                  err);
fail:
  return IPRO_ERROR;
}
