/* Resize and ipro.ResizeGrad on the GPU as matrix products. Nearest and linear resizing of an
 * (N, C, H, W) tensor along H and W is separable: every output plane is Y = A_h · X · A_wᵀ, with
 * A_h (H_out × H_in) and A_w (W_out × W_in) holding the interpolation weights of each output row
 * and column. The weights come from the reference's own resize plan
 * (ipro_reference_resize_plan_make), so coordinate modes and rounding are exactly the
 * reference's; the matrices are kernel constants. The forward is one plain product
 * (X · A_wᵀ over all N·C·H_in rows) and one strided batched product (A_h applied to each plane);
 * the gradient is the transpose, dX = A_hᵀ · dY · A_w, in the reverse order. Axes N and C must
 * not be resized, and elements that fall outside the input (tf_crop_and_resize) must extrapolate
 * to 0. */
#include <stdlib.h>

#include "cuda_internal.h"
#include "runtime/reference/reference_ops.h"

/* sizes: N·C, H_in, W_in, H_out, W_out; offsets[0]: A_h (at the constants' start), offsets[1]:
 * A_w, offsets[2]: the intermediate (N·C·H_in × W_out). */
static ipro_status build_matrices(ipro_cuda_kernel *kernel, const ipro_node *node,
                                  const ipro_shape *x, const ipro_shape *y, ipro_error *err) {
  if (x->rank != 4 || y->rank != 4 || x->dims[0] != y->dims[0] || x->dims[1] != y->dims[1])
    return ipro_cuda_unsupported(err, "resizing other than H and W of an NCHW tensor");
  ipro_reference_resize_plan plan;
  if (ipro_reference_resize_plan_make(node, x, y, &plan, err)) return IPRO_ERROR;
  int64_t h_in = x->dims[2], w_in = x->dims[3], h_out = y->dims[2], w_out = y->dims[3];
  size_t h_size = (size_t)(h_out * h_in), w_size = (size_t)(w_out * w_in);
  float *matrices = calloc(h_size + w_size + 1, sizeof(float));
  ipro_status status = matrices ? IPRO_OK : ipro_error_set(err, "out of memory");
  for (int axis = 2; status == IPRO_OK && axis < 4; axis++) {
    int64_t in = x->dims[axis], out = y->dims[axis];
    float *matrix = matrices + (axis == 2 ? 0 : h_size);
    for (int64_t o = 0; o < out; o++) {
      const ipro_reference_axis_sample *s = &plan.samples[axis][o];
      if (s->outside) {
        if (plan.extrapolation != 0.0f)
          status = ipro_cuda_unsupported(err, "a non-zero extrapolation_value");
        continue;
      }
      if (s->low < 0 || s->low >= in || s->high < 0 || s->high >= in) {
        status = ipro_error_set(err, "a resize tap outside the input");
        break;
      }
      matrix[o * in + s->low] += (float)(1.0 - s->weight);
      if (s->weight != 0.0) matrix[o * in + s->high] += (float)s->weight;
    }
  }
  ipro_reference_resize_plan_free(&plan);
  if (status == IPRO_OK)
    status = ipro_cuda_set_constants(kernel, matrices, (h_size + w_size) * sizeof(float), err);
  free(matrices);
  if (status) return IPRO_ERROR;
  int64_t sizes[5] = {x->dims[0] * x->dims[1], h_in, w_in, h_out, w_out};
  for (int i = 0; i < 5; i++) {
    if (sizes[i] > 0x7fffffff / (i == 0 ? (h_in > 1 ? h_in : 1) : 1))
      return ipro_cuda_unsupported(err, "a dimension beyond cuBLAS's int");
    kernel->sizes[i] = sizes[i];
  }
  kernel->offsets[0] = 0;
  kernel->offsets[1] = h_size * sizeof(float);
  kernel->offsets[2] = ipro_cuda_reserve(kernel, (size_t)(sizes[0] * h_in * w_out) * sizeof(float));
  ipro_cuda_reserve_cublas(kernel);
  return IPRO_OK;
}

static ipro_status run_resize(const ipro_cuda_kernel *kernel, void *const *inputs,
                              void *const *outputs, char *workspace, uint64_t step,
                              ipro_error *err) {
  (void)step;
  const int64_t *s = kernel->sizes;
  int64_t planes = s[0], h_in = s[1], w_in = s[2], h_out = s[3], w_out = s[4];
  const float *a_h = (const float *)(workspace + kernel->offsets[0]);
  const float *a_w = (const float *)(workspace + kernel->offsets[1]);
  float *middle = (float *)(workspace + kernel->offsets[2]);
  if (ipro_cuda_bind_cublas(kernel, workspace, err) ||
      ipro_cuda_row_major_gemm(kernel, false, true, planes * h_in, w_out, w_in, 1.0f, inputs[0],
                               a_w, 0.0f, middle, 1, 0, 0, 0, err) ||
      ipro_cuda_row_major_gemm(kernel, false, false, h_out, w_out, h_in, 1.0f, a_h, middle, 0.0f,
                               outputs[0], planes, 0, h_in * w_out, h_out * w_out, err))
    return IPRO_ERROR;
  return IPRO_OK;
}

static ipro_status run_resize_grad(const ipro_cuda_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step,
                                   ipro_error *err) {
  (void)step;
  const int64_t *s = kernel->sizes;
  int64_t planes = s[0], h_in = s[1], w_in = s[2], h_out = s[3], w_out = s[4];
  const float *a_h = (const float *)(workspace + kernel->offsets[0]);
  const float *a_w = (const float *)(workspace + kernel->offsets[1]);
  float *middle = (float *)(workspace + kernel->offsets[2]);
  if (ipro_cuda_bind_cublas(kernel, workspace, err) ||
      ipro_cuda_row_major_gemm(kernel, true, false, h_in, w_out, h_out, 1.0f, a_h, inputs[0], 0.0f,
                               middle, planes, 0, h_out * w_out, h_in * w_out, err) ||
      ipro_cuda_row_major_gemm(kernel, false, false, planes * h_in, w_in, w_out, 1.0f, middle, a_w,
                               0.0f, outputs[0], 1, 0, 0, 0, err))
    return IPRO_ERROR;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_resize) {
  if (ipro_cuda_expect_float(graph, node, ~1u, err)) return IPRO_ERROR;
  if (build_matrices(kernel, node, ipro_cuda_input_shape(graph, node, 0),
                     ipro_cuda_output_shape(graph, node, 0), err))
    return IPRO_ERROR;
  kernel->run = run_resize;
  return IPRO_OK;
}

IPRO_CUDA_BUILD(ipro_cuda_build_resize_grad) {
  if (ipro_cuda_expect_float(graph, node, 0, err)) return IPRO_ERROR;
  if (build_matrices(kernel, node, ipro_cuda_output_shape(graph, node, 0),
                     ipro_cuda_input_shape(graph, node, 0), err))
    return IPRO_ERROR;
  kernel->run = run_resize_grad;
  return IPRO_OK;
}
