/* GatherElements (torch.gather) and its gradient ipro.GatherElementsGrad as C loops of the CPU
 * backend, oneDNN 2.6 having no gather primitive: Y at each position of the indices is X's element
 * there with its coordinate along the axis replaced by the index (ir/graph.h's
 * ipro_element_offset), and the gradient adds each dY back at that element of a zeroed dX, in the
 * indices' order (repeated indices add up in that order: the same bytes on any number of
 * threads). An index outside the axis stops the step with the reference kernels' message. */
#include <string.h>

#include "onednn_internal.h"

typedef struct {
  ipro_shape data, indices;
  int axis;
  bool int32_indices;
} gather_state;

/* The index at position p of the indices, in [0, the axis's extent); false outside it. */
static bool index_at(const gather_state *s, const void *indices, int64_t p, int64_t *index) {
  return ipro_element_index(indices, s->int32_indices, p, s->data.dims[s->axis], index);
}

static ipro_status gather_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                              void *const *outputs, char *workspace, uint64_t step,
                              ipro_error *err) {
  (void)workspace, (void)step;
  const gather_state *s = kernel->state;
  const float *x = inputs[0];
  float *y = outputs[0];
  int64_t count = ipro_shape_elements(&s->indices), index;
  for (int64_t p = 0; p < count; p++) {
    if (!index_at(s, inputs[1], p, &index))
      return ipro_error_set(err, "%s: an index outside the axis", kernel->label);
    y[p] = x[ipro_element_offset(&s->indices, &s->data, s->axis, p, index)];
  }
  return IPRO_OK;
}

static ipro_status gather_grad_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step,
                                   ipro_error *err) {
  (void)workspace, (void)step;
  const gather_state *s = kernel->state;
  const float *dy = inputs[0];
  float *dx = outputs[0];
  memset(dx, 0, (size_t)ipro_shape_elements(&s->data) * sizeof *dx);
  int64_t count = ipro_shape_elements(&s->indices), index;
  for (int64_t p = 0; p < count; p++) {
    if (!index_at(s, inputs[1], p, &index))
      return ipro_error_set(err, "%s: an index outside the axis", kernel->label);
    dx[ipro_element_offset(&s->indices, &s->data, s->axis, p, index)] += dy[p];
  }
  return IPRO_OK;
}

/* GatherElements (data input 0, indices input 1) or its gradient (dY input 0 of the indices'
 * shape, indices input 1, dX of input_shape). */
ipro_status ipro_onednn_build_gather_elements(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                              const ipro_node *node, ipro_error *err) {
  bool gradient = node->op == IPRO_OP_GATHER_ELEMENTS_GRAD;
  const ipro_tensor *values =
      gradient ? ipro_node_output(graph, node, 0) : ipro_node_input(graph, node, 0);
  const ipro_tensor *other =
      gradient ? ipro_node_input(graph, node, 0) : ipro_node_output(graph, node, 0);
  const ipro_tensor *indices = ipro_node_input(graph, node, 1);
  if (!values || !other || !indices || values->dtype != IPRO_DTYPE_FLOAT ||
      other->dtype != IPRO_DTYPE_FLOAT ||
      (indices->dtype != IPRO_DTYPE_INT64 && indices->dtype != IPRO_DTYPE_INT32))
    return ipro_onednn_unsupported(err, "float data and int64 or int32 indices expected");
  gather_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  ipro_shape y;
  if ((gradient ? ipro_onednn_output_shape(graph, node, 0, &s->data, err)
                : ipro_onednn_input_shape(graph, node, 0, &s->data, err)) ||
      ipro_onednn_input_shape(graph, node, 1, &s->indices, err) ||
      (gradient ? ipro_onednn_input_shape(graph, node, 0, &y, err)
                : ipro_onednn_output_shape(graph, node, 0, &y, err)))
    return IPRO_ERROR;
  s->axis = (int)ipro_node_attr_int(node, "axis", 0);
  s->int32_indices = indices->dtype == IPRO_DTYPE_INT32;
  if (!ipro_elements_fit(&s->indices, &s->data, s->axis) || !ipro_shape_equal(&y, &s->indices))
    return ipro_onednn_unsupported(err, "the data, the indices and the result do not fit");
  return ipro_onednn_add_loop_step(kernel, gradient ? gather_grad_run : gather_run, err);
}
