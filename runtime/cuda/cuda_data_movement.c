/* Ops that move data without arithmetic: the reshaping ops when the planner could not make them
 * views (Flatten, Reshape, Identity, Squeeze, Unsqueeze: one device copy), Dropout in inference
 * form (or with ratio 0), Concat (one strided cudaMemcpy2DAsync per input) and Split (one per
 * output), ipro.Slice and Transpose (cuDNN's cudnnTransformTensor reading through strides).
 *
 * Dropout in training form draws its mask from the reference's counter-based generator
 * (splitmix64 of seed, step and index) in a generated kernel (cuda_generated.c). */
#include <stdbool.h>
#include <stdlib.h>

#include "cuda_internal.h"

/* sizes[0]: bytes. */
static ipro_status run_copy(const ipro_cuda_kernel *kernel, void *const *inputs,
                            void *const *outputs, char *workspace, uint64_t step, ipro_error *err) {
  (void)workspace;
  (void)step;
  return ipro_cuda_copy(kernel, outputs[0], inputs[0], (size_t)kernel->sizes[0], err);
}

IPRO_CUDA_BUILD(ipro_cuda_build_copy) {
  const ipro_tensor *x = ipro_node_input(graph, node, 0);
  const ipro_tensor *y = ipro_node_output(graph, node, 0);
  if (!x || !y) return ipro_cuda_unsupported(err, "no input or output");
  if (ipro_tensor_bytes(x) != ipro_tensor_bytes(y) || ipro_tensor_bytes(y) < 0)
    return ipro_error_set(err, "input and output differ in size");
  kernel->sizes[0] = ipro_tensor_bytes(y);
  kernel->run = run_copy;
  return IPRO_OK;
}

/* X → Y = X, [mask = all true]. sizes[0]: bytes of Y; sizes[1]: elements of the mask. */
static ipro_status run_dropout(const ipro_cuda_kernel *kernel, void *const *inputs,
                               void *const *outputs, char *workspace, uint64_t step,
                               ipro_error *err) {
  (void)workspace;
  (void)step;
  if (ipro_cuda_copy(kernel, outputs[0], inputs[0], (size_t)kernel->sizes[0], err))
    return IPRO_ERROR;
  if (outputs[1] && kernel->sizes[1]) /* C's true is the byte 1 */
    IPRO_CUDA_CHECK(
        cudaMemsetAsync(outputs[1], 1, (size_t)kernel->sizes[1], kernel->backend->stream));
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_dropout) {
  const ipro_tensor *x = ipro_node_input(graph, node, 0), *y = ipro_node_output(graph, node, 0);
  if (!x || !y || x->dtype != IPRO_DTYPE_FLOAT || y->dtype != IPRO_DTYPE_FLOAT)
    return ipro_cuda_unsupported(err, "Dropout of other than float32");
  const ipro_tensor *mask = ipro_node_output(graph, node, 1);
  if (mask && mask->dtype != IPRO_DTYPE_BOOL)
    return ipro_cuda_unsupported(err, "a mask that is not bool");
  float ratio = ipro_node_attr_float(node, "ratio", 0.5f);
  bool training = ipro_node_attr_int(node, "training_mode", 0) != 0;
  if (training && ratio != 0.0f) return ipro_cuda_build_dropout_training(kernel, graph, node, err);
  kernel->sizes[0] = ipro_tensor_bytes(y);
  kernel->sizes[1] = mask ? ipro_cuda_elements(&mask->shape) : 0;
  kernel->run = run_dropout;
  return IPRO_OK;
}

/* state: per piece (Concat's inputs, Split's outputs) {rows, width bytes, offset bytes};
 * sizes[0]: pieces; sizes[1]: the whole tensor's row bytes; sizes[2]: 1 for Split (the whole
 * tensor is the input, cut into the pieces), 0 for Concat. */
typedef struct {
  size_t rows, width, offset;
} concat_part;

static ipro_status run_concat(const ipro_cuda_kernel *kernel, void *const *inputs,
                              void *const *outputs, char *workspace, uint64_t step,
                              ipro_error *err) {
  (void)workspace;
  (void)step;
  const concat_part *parts = kernel->state;
  size_t pitch = (size_t)kernel->sizes[1];
  bool split = kernel->sizes[2] != 0;
  /* cudaMemcpy2DAsync refuses pitches beyond the device's limit (cudaDevAttrMaxPitch, about
   * 2 GiB): such rows, and single rows, go as plain copies, one per row. */
  bool plain = pitch > kernel->backend->max_pitch_bytes;
  for (int i = 0; i < kernel->sizes[0]; i++) {
    if (!parts[i].width || !parts[i].rows) continue;
    char *whole = split ? (char *)inputs[0] : (char *)outputs[0];
    char *piece = split ? (char *)outputs[i] : (char *)inputs[i];
    char *destination = split ? piece : whole + parts[i].offset;
    const char *source = split ? whole + parts[i].offset : piece;
    size_t destination_pitch = split ? parts[i].width : pitch;
    size_t source_pitch = split ? pitch : parts[i].width;
    if (plain || parts[i].rows == 1) {
      for (size_t r = 0; r < parts[i].rows; r++)
        IPRO_CUDA_CHECK(cudaMemcpyAsync(destination + r * destination_pitch,
                                        source + r * source_pitch, parts[i].width,
                                        cudaMemcpyDeviceToDevice, kernel->backend->stream));
      continue;
    }
    IPRO_CUDA_CHECK(cudaMemcpy2DAsync(destination, destination_pitch, source, source_pitch,
                                      parts[i].width, parts[i].rows, cudaMemcpyDeviceToDevice,
                                      kernel->backend->stream));
  }
  return IPRO_OK;
}

/* The pieces of whole (Concat's output, Split's input) along node's axis, from the node's
 * inputs (Concat) or outputs (Split), as run_concat takes them. */
static ipro_status build_pieces(ipro_cuda_kernel *kernel, const ipro_graph *graph,
                                const ipro_node *node, bool split, ipro_error *err) {
  const ipro_tensor *whole =
      split ? ipro_node_input(graph, node, 0) : ipro_node_output(graph, node, 0);
  int n = split ? node->n_outputs : node->n_inputs;
  size_t size = whole ? ipro_dtype_size(whole->dtype) : 0;
  int64_t axis = ipro_node_attr_int(node, "axis", 0);
  if (whole && axis < 0) axis += whole->shape.rank;
  if (!size || axis < 0 || axis >= whole->shape.rank)
    return ipro_cuda_unsupported(err, "axis or element type");
  concat_part *parts = calloc((size_t)n + 1, sizeof *parts);
  if (!parts) return ipro_error_set(err, "out of memory");
  kernel->state = parts;
  size_t rows = 1, row_bytes = size, offset = 0;
  for (int d = 0; d < axis; d++)
    rows *= (size_t)whole->shape.dims[d];
  for (int d = (int)axis; d < whole->shape.rank; d++)
    row_bytes *= (size_t)whole->shape.dims[d];
  for (int i = 0; i < n; i++) {
    const ipro_tensor *x =
        split ? ipro_node_output(graph, node, i) : ipro_node_input(graph, node, i);
    if (!x || x->dtype != whole->dtype || x->shape.rank != whole->shape.rank)
      return ipro_cuda_unsupported(err, "%s %d missing, or of another type or rank",
                                   split ? "output" : "input", i);
    size_t width = size;
    for (int d = (int)axis; d < x->shape.rank; d++)
      width *= (size_t)x->shape.dims[d];
    parts[i] = (concat_part){rows, width, offset};
    offset += width;
  }
  if (offset != row_bytes)
    return ipro_error_set(err, split ? "the outputs do not fill the input"
                                     : "the inputs do not fill the output");
  kernel->sizes[0] = n;
  kernel->sizes[1] = (int64_t)row_bytes;
  kernel->sizes[2] = split;
  kernel->run = run_concat;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_concat) { return build_pieces(kernel, graph, node, false, err); }

/* Split: each output a strided copy of its columns of the input (Concat's run the other way). */
IPRO_CUDA_BUILD(ipro_cuda_build_split) { return build_pieces(kernel, graph, node, true, err); }

/* tensors: [0] the source view (output dims, input strides), [1] the packed output; sizes[0]:
 * the element offset of the view's first element. */
static ipro_status run_transform(const ipro_cuda_kernel *kernel, void *const *inputs,
                                 void *const *outputs, char *workspace, uint64_t step,
                                 ipro_error *err) {
  (void)workspace;
  (void)step;
  const float one = 1.0f, zero = 0.0f;
  IPRO_CUDNN_CHECK(cudnnTransformTensor(kernel->backend->cudnn, &one, kernel->tensors[0],
                                        (const float *)inputs[0] + kernel->sizes[0], &zero,
                                        kernel->tensors[1], outputs[0]));
  return IPRO_OK;
}

static void packed_strides(const ipro_shape *shape, int64_t *strides) {
  int64_t stride = 1;
  for (int d = shape->rank - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape->dims[d];
  }
}

/* The transform from a view of input 0 (dims of the output, the given strides) into the
 * output. */
static ipro_status build_transform(ipro_cuda_kernel *kernel, const ipro_shape *y,
                                   const int64_t *view_strides, int64_t offset, ipro_error *err) {
  if (ipro_cuda_tensor_strided(kernel, y->dims, view_strides, y->rank, err) < 0 ||
      ipro_cuda_tensor(kernel, y->dims, y->rank, err) < 0)
    return IPRO_ERROR;
  kernel->sizes[0] = offset;
  kernel->run = run_transform;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_slice) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *t = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *r = ipro_cuda_output_shape(graph, node, 0);
  int count = 0;
  const int64_t *starts = ipro_node_attr_ints(node, "starts", &count);
  if (!starts || count != t->rank || r->rank != t->rank)
    return ipro_error_set(err, "starts must give one value per axis");
  int64_t strides[IPRO_MAX_RANK], offset = 0;
  packed_strides(t, strides);
  for (int d = 0; d < t->rank; d++) {
    if (starts[d] < 0 || starts[d] + r->dims[d] > t->dims[d])
      return ipro_error_set(err, "the slice leaves the input on axis %d", d);
    offset += starts[d] * strides[d];
  }
  return build_transform(kernel, r, strides, offset, err);
}

IPRO_CUDA_BUILD(ipro_cuda_build_transpose) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  const ipro_shape *x = ipro_cuda_input_shape(graph, node, 0);
  const ipro_shape *y = ipro_cuda_output_shape(graph, node, 0);
  int count = 0;
  const int64_t *perm = ipro_node_attr_ints(node, "perm", &count);
  if ((perm && count != x->rank) || y->rank != x->rank)
    return ipro_error_set(err, "perm does not match the rank");
  int64_t in_strides[IPRO_MAX_RANK], view[IPRO_MAX_RANK];
  packed_strides(x, in_strides);
  for (int k = 0; k < x->rank; k++) {
    int64_t axis = perm ? perm[k] : x->rank - 1 - k;
    if (axis < 0 || axis >= x->rank || x->dims[axis] != y->dims[k])
      return ipro_error_set(err, "perm does not match the input and output shapes");
    view[k] = in_strides[axis];
  }
  return build_transform(kernel, y, view, 0, err);
}
