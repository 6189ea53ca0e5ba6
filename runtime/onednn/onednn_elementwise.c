/* The element-wise ops on oneDNN: the unary activations (eltwise primitives) and Add, Sub, Mul,
 * Div with numpy broadcasting (binary primitive).
 *
 * An activation does not care about shape, so it sees its tensor as one flat vector. HardSigmoid
 * has no eltwise algorithm in oneDNN 2.6: it is a linear step (alpha * x + beta) followed by a
 * clip to [0, 1] in place on Y. Clip with min > max (numpy gives max everywhere) is declined.
 * Clip whose min or max is an input, read at run time, is a binary max with min broadcast over X,
 * then a binary min with max in place on Y, each bound from its own tensor (or, when the other is
 * an attribute, an eltwise clip for it), which is numpy's order for min > max as well.
 *
 * Max and Min of two operands (ReduceL2's gradient divides by Max(Y, FLT_MIN)) are the binary
 * primitive's max and min.
 *
 * oneDNN's binary primitive broadcasts only its second source. When the first ONNX operand is the
 * one broadcast (and the second has Y's shape), Add, Mul, Max and Min swap operands; Sub computes
 * -(B - A) with a linear post-op, which is exact in IEEE arithmetic; Div is declined. Operands
 * that are both broadcast are declined too.
 *
 * Sum (the training program's gradient accumulation) is oneDNN's sum primitive over flat vectors
 * when every operand has Y's shape; broadcasting operands are declined.
 *
 * When Y is carried in the backend's channel-blocked layout (onednn_layouts.c), ReLU, its
 * gradient, Add and Sum see Y's padded blocks as the flat vector, every input lying (or staged)
 * in the same layout.
 *
 * PRelu is oneDNN's prelu primitive, its slope the weights.
 *
 * Selu is Elu's step and a linear step (gamma) in place on Y; Celu is Elu's when its alpha is 1
 * and declined otherwise, as Softsign is (oneDNN 2.6 has neither): they run on the reference
 * kernels.
 *
 * ipro.UnaryGrad (dY, T → dX) is the eltwise backward of its forward_op, created against a
 * forward-training pd. Relu, Sigmoid, Tanh, Sqrt and Exp get the forward's output (the
 * *_use_dst_for_bwd algorithms), the others its input; Selu's is Elu's times gamma in place.
 * oneDNN's derivatives at the kinks are the ones internal_ops.md fixes (PyTorch's): relu's is alpha
 * at 0 (0 for Relu), clip_v2's is 0 at both bounds. HardSwish is declined: oneDNN's derivative is 0
 * at -3 and 1 at 3, PyTorch's -0.5 and 1.5. HardSigmoid is declined: oneDNN 2.6 has no algorithm
 * for it, and composing one from linear and clip steps would round alpha * X + beta in float before
 * the bound test, where the reference decides in double. */
#include <math.h>
#include <string.h>

#include "ir/elementwise_values.h"
#include "onednn_internal.h"

/* Appends one eltwise step over `count` elements, from input 0 (or, in place, from output 0). */
static ipro_status eltwise_step(ipro_onednn_kernel *kernel, int64_t count,
                                dnnl_alg_kind_t algorithm, float alpha, float beta, bool in_place,
                                ipro_error *err) {
  dnnl_memory_desc_t md;
  if (ipro_onednn_plain_md(&md, 1, &count, err)) return IPRO_ERROR;
  dnnl_eltwise_desc_t desc;
  IPRO_ONEDNN_CHECK(
      dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, algorithm, &md, alpha, beta));
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC, in_place ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INPUT, 0},
      {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0},
  };
  return ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, arguments, 2, err);
fail:
  return IPRO_ERROR;
}

/* One side of a Clip: Y = max(source, input `bound`) for the lower bound, min(...) for the
 * upper one, the bound's single value broadcast over `count` elements. The source is input 0, or
 * Y itself in place. */
static ipro_status clip_bound_step(ipro_onednn_kernel *kernel, int64_t count, int bound,
                                   bool in_place, ipro_error *err) {
  int64_t one = 1;
  dnnl_memory_desc_t md, bound_md;
  if (ipro_onednn_plain_md(&md, 1, &count, err) || ipro_onednn_plain_md(&bound_md, 1, &one, err))
    return IPRO_ERROR;
  dnnl_binary_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_binary_desc_init(&desc, bound == 1 ? dnnl_binary_max : dnnl_binary_min,
                                          &md, &bound_md, &md));
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC_0, in_place ? IPRO_ONEDNN_OUTPUT : IPRO_ONEDNN_INPUT, 0},
      {DNNL_ARG_SRC_1, IPRO_ONEDNN_INPUT, (size_t)bound},
      {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0},
  };
  return ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, arguments, 3, err);
fail:
  return IPRO_ERROR;
}

/* Clip with at least one bound given as an input: the lower bound, then the upper one. */
static ipro_status clip_with_input_bounds(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, int64_t count, ipro_error *err) {
  for (int bound = 1; bound <= 2; bound++) {
    bool in_place = bound == 2;
    if (ipro_node_input(graph, node, bound)) {
      if (clip_bound_step(kernel, count, bound, in_place, err)) return IPRO_ERROR;
    } else {
      float low = bound == 1 ? ipro_node_attr_float(node, "min", -INFINITY) : -INFINITY;
      float high = bound == 2 ? ipro_node_attr_float(node, "max", INFINITY) : INFINITY;
      if (eltwise_step(kernel, count, dnnl_eltwise_clip_v2, low, high, in_place, err))
        return IPRO_ERROR;
    }
  }
  return IPRO_OK;
}

/* Gelu's oneDNN algorithm: the error function's form, or its tanh approximation (the forward's
 * "approximate", which its ipro.UnaryGrad carries too). */
static dnnl_alg_kind_t gelu_algorithm(const ipro_node *node) {
  return strcmp(ipro_node_attr_string(node, "approximate", "none"), "tanh") == 0
             ? dnnl_eltwise_gelu_tanh
             : dnnl_eltwise_gelu_erf;
}

ipro_status ipro_onednn_build_eltwise(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                      const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&x);
  if (count != ipro_shape_elements(&y))
    return ipro_onednn_unsupported(err, "X and Y differ in size");
  /* a carried Y's padded blocks (X lies, or is staged, in the same layout) */
  if (ipro_onednn_flat_elements(kernel, node->outputs[0], &y, &count, err)) return IPRO_ERROR;
  switch (node->op) {
  case IPRO_OP_RELU: return eltwise_step(kernel, count, dnnl_eltwise_relu, 0.0f, 0.0f, false, err);
  case IPRO_OP_LEAKY_RELU:
    return eltwise_step(kernel, count, dnnl_eltwise_relu,
                        ipro_node_attr_float(node, "alpha", 0.01f), 0.0f, false, err);
  case IPRO_OP_SIGMOID: /* with times_input a SiLU (codegen/fusion.h): oneDNN's swish, α = 1 */
    if (ipro_node_attr_int(node, "times_input", 0))
      return eltwise_step(kernel, count, dnnl_eltwise_swish, 1.0f, 0.0f, false, err);
    return eltwise_step(kernel, count, dnnl_eltwise_logistic, 0.0f, 0.0f, false, err);
  case IPRO_OP_TANH: return eltwise_step(kernel, count, dnnl_eltwise_tanh, 0.0f, 0.0f, false, err);
  case IPRO_OP_HARD_SWISH:
    return eltwise_step(kernel, count, dnnl_eltwise_hardswish, 0.0f, 0.0f, false, err);
  case IPRO_OP_GELU:
    return eltwise_step(kernel, count, gelu_algorithm(node), 0.0f, 0.0f, false, err);
  case IPRO_OP_SQRT: return eltwise_step(kernel, count, dnnl_eltwise_sqrt, 0.0f, 0.0f, false, err);
  case IPRO_OP_ABS: return eltwise_step(kernel, count, dnnl_eltwise_abs, 0.0f, 0.0f, false, err);
  case IPRO_OP_NEG: /* -1 · X + 0 */
    return eltwise_step(kernel, count, dnnl_eltwise_linear, -1.0f, 0.0f, false, err);
  case IPRO_OP_EXP: return eltwise_step(kernel, count, dnnl_eltwise_exp, 0.0f, 0.0f, false, err);
  case IPRO_OP_LOG: return eltwise_step(kernel, count, dnnl_eltwise_log, 0.0f, 0.0f, false, err);
  case IPRO_OP_SOFTPLUS:
    return eltwise_step(kernel, count, dnnl_eltwise_soft_relu, 0.0f, 0.0f, false, err);
  case IPRO_OP_MISH: return eltwise_step(kernel, count, dnnl_eltwise_mish, 0.0f, 0.0f, false, err);
  case IPRO_OP_ELU:
    return eltwise_step(kernel, count, dnnl_eltwise_elu, ipro_node_attr_float(node, "alpha", 1.0f),
                        0.0f, false, err);
  case IPRO_OP_CELU: /* Elu when alpha is 1; otherwise on the reference kernel */
    if (ipro_node_attr_float(node, "alpha", 1.0f) != 1.0f)
      return ipro_onednn_unsupported(err, "Celu with alpha other than 1");
    return eltwise_step(kernel, count, dnnl_eltwise_elu, 1.0f, 0.0f, false, err);
  case IPRO_OP_SELU: /* gamma · Elu(alpha), the scale in place on Y */
    if (eltwise_step(kernel, count, dnnl_eltwise_elu,
                     ipro_node_attr_float(node, "alpha", IPRO_SELU_ALPHA), 0.0f, false, err))
      return IPRO_ERROR;
    return eltwise_step(kernel, count, dnnl_eltwise_linear,
                        ipro_node_attr_float(node, "gamma", IPRO_SELU_GAMMA), 0.0f, true, err);
  case IPRO_OP_RECIPROCAL: /* α·X^β */
    return eltwise_step(kernel, count, dnnl_eltwise_pow, 1.0f, -1.0f, false, err);
  case IPRO_OP_CLIP: {
    if (ipro_node_input(graph, node, 1) || ipro_node_input(graph, node, 2))
      return clip_with_input_bounds(kernel, graph, node, count, err);
    float low = ipro_node_attr_float(node, "min", -INFINITY);
    float high = ipro_node_attr_float(node, "max", INFINITY);
    if (!(low <= high))
      return ipro_onednn_unsupported(err, "min %g > max %g", (double)low, (double)high);
    return eltwise_step(kernel, count, dnnl_eltwise_clip_v2, low, high, false, err);
  }
  case IPRO_OP_HARD_SIGMOID:
    if (eltwise_step(kernel, count, dnnl_eltwise_linear, ipro_node_attr_float(node, "alpha", 0.2f),
                     ipro_node_attr_float(node, "beta", 0.5f), false, err))
      return IPRO_ERROR;
    return eltwise_step(kernel, count, dnnl_eltwise_clip_v2, 0.0f, 1.0f, true, err);
  default: return ipro_onednn_unsupported(err, "not an activation");
  }
}

/* Right-aligns shape into rank dimensions, padding with leading 1s. */
static void pad_shape(const ipro_shape *shape, int rank, int64_t *dims) {
  int shift = rank - shape->rank;
  for (int d = 0; d < rank; d++)
    dims[d] = d < shift ? 1 : shape->dims[d - shift];
}

static bool same_dims(const int64_t *a, const int64_t *b, int rank) {
  for (int d = 0; d < rank; d++)
    if (a[d] != b[d]) return false;
  return true;
}

/* Merges neighbouring dimensions along which each operand is either whole or broadcast alike
 * (and drops Y's dimensions of 1), so that oneDNN sees the fewest: attention's bias,
 * [32,4,1,16,16] + [1,4,1,16,16], becomes [32,1024] + [1,1024], a broadcast oneDNN 2.6's jit
 * kernels take, where it ran the 5-D form on its reference kernel (3 ms a run in the tiny Swin's
 * step). Row-major plain operands only: the same elements meet. Returns the new rank. */
static int merge_alike_dims(int rank, int64_t *a, int64_t *b, int64_t *y) {
  int merged = 0;
  for (int d = 0; d < rank; d++) {
    if (y[d] == 1) continue; /* then a[d] = b[d] = 1 */
    bool a_whole = a[d] == y[d], b_whole = b[d] == y[d];
    if (merged > 0 && (a[merged - 1] == y[merged - 1]) == a_whole &&
        (b[merged - 1] == y[merged - 1]) == b_whole) {
      a[merged - 1] *= a[d], b[merged - 1] *= b[d], y[merged - 1] *= y[d];
      continue;
    }
    a[merged] = a[d], b[merged] = b[d], y[merged] = y[d];
    merged++;
  }
  if (merged == 0) a[0] = b[0] = y[0] = 1, merged = 1;
  return merged;
}

ipro_status ipro_onednn_build_binary(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                     const ipro_node *node, ipro_error *err) {
  ipro_shape a, b, y;
  if (ipro_onednn_input_shape(graph, node, 0, &a, err) ||
      ipro_onednn_input_shape(graph, node, 1, &b, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  int rank = y.rank > 0 ? y.rank : 1;
  int64_t a_dims[IPRO_MAX_RANK], b_dims[IPRO_MAX_RANK], y_dims[IPRO_MAX_RANK];
  if (a.rank > rank || b.rank > rank) return ipro_onednn_unsupported(err, "operand rank above Y's");
  pad_shape(&a, rank, a_dims);
  pad_shape(&b, rank, b_dims);
  pad_shape(&y, rank, y_dims);
  for (int d = 0; d < rank; d++)
    if ((a_dims[d] != y_dims[d] && a_dims[d] != 1) || (b_dims[d] != y_dims[d] && b_dims[d] != 1))
      return ipro_onednn_unsupported(err, "operands do not broadcast to Y");
  if (node->n_inputs != 2) return ipro_onednn_unsupported(err, "%d operands", node->n_inputs);
  dnnl_alg_kind_t algorithm = node->op == IPRO_OP_ADD   ? dnnl_binary_add
                              : node->op == IPRO_OP_SUB ? dnnl_binary_sub
                              : node->op == IPRO_OP_MUL ? dnnl_binary_mul
                              : node->op == IPRO_OP_MAX ? dnnl_binary_max
                              : node->op == IPRO_OP_MIN ? dnnl_binary_min
                                                        : dnnl_binary_div;
  int first = 0; /* the ONNX operand that becomes oneDNN's src0 (Y's shape) */
  bool negate = false;
  if (!same_dims(a_dims, y_dims, rank)) {
    if (!same_dims(b_dims, y_dims, rank))
      return ipro_onednn_unsupported(err, "both operands are broadcast");
    if (node->op == IPRO_OP_DIV)
      return ipro_onednn_unsupported(err, "Div with a broadcast dividend");
    first = 1;
    negate = node->op == IPRO_OP_SUB;
  }
  ipro_status scaled;
  if (!ipro_onednn_carried(kernel, node->outputs[0]) &&
      ipro_onednn_prefix_scale(kernel, node, a_dims, b_dims, y_dims, rank, &scaled, err))
    return scaled;
  if (ipro_onednn_carried(kernel, node->outputs[0])) {
    /* operands alike (onednn_layouts.c), all in Y's layout: one flat vector of its blocks */
    int64_t count;
    if (ipro_onednn_flat_elements(kernel, node->outputs[0], &y, &count, err)) return IPRO_ERROR;
    rank = 1;
    a_dims[0] = b_dims[0] = y_dims[0] = count;
  } else {
    rank = merge_alike_dims(rank, a_dims, b_dims, y_dims);
  }
  dnnl_memory_desc_t src0_md, src1_md, y_md;
  if (ipro_onednn_plain_md(&src0_md, rank, first == 0 ? a_dims : b_dims, err) ||
      ipro_onednn_plain_md(&src1_md, rank, first == 0 ? b_dims : a_dims, err) ||
      ipro_onednn_plain_md(&y_md, rank, y_dims, err))
    return IPRO_ERROR;
  /* an Add fused with the ReLU after it (codegen/fusion.h): the ReLU as a post-op */
  bool relu = ipro_node_attr_int(node, "fused_relu", 0) != 0;
  if (relu && node->op != IPRO_OP_ADD)
    return ipro_onednn_unsupported(err, "fused_relu on %s", node->op_type);
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC_0, IPRO_ONEDNN_INPUT, (size_t)first},
      {DNNL_ARG_SRC_1, IPRO_ONEDNN_INPUT, (size_t)(1 - first)},
      {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0},
  };
  return ipro_onednn_binary_step(kernel, algorithm, &src0_md, &src1_md, &y_md, negate, relu,
                                 arguments, err);
}

/* PRelu: oneDNN's prelu primitive, the slope as its weights (right-aligned against X, each
 * dimension 1 or X's). */
ipro_status ipro_onednn_build_prelu(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                    const ipro_node *node, ipro_error *err) {
  ipro_shape x, slope;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_input_shape(graph, node, 1, &slope, err))
    return IPRO_ERROR;
  if (x.rank < 1 || slope.rank > x.rank)
    return ipro_onednn_unsupported(err, "slope of rank %d for X of rank %d", slope.rank, x.rank);
  int64_t slope_dims[IPRO_MAX_RANK];
  pad_shape(&slope, x.rank, slope_dims);
  dnnl_memory_desc_t x_md, slope_md;
  if (ipro_onednn_plain_md(&x_md, x.rank, x.dims, err) ||
      ipro_onednn_plain_md(&slope_md, x.rank, slope_dims, err))
    return IPRO_ERROR;
  dnnl_prelu_desc_t desc;
  IPRO_ONEDNN_CHECK(dnnl_prelu_forward_desc_init(&desc, dnnl_forward_inference, &x_md, &slope_md));
  return ipro_onednn_primitive_step(kernel, &desc, NULL, NULL, ipro_onednn_weighted_arguments, 3,
                                    err);
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_binary_step(ipro_onednn_kernel *kernel, dnnl_alg_kind_t algorithm,
                                    const dnnl_memory_desc_t *src0, const dnnl_memory_desc_t *src1,
                                    const dnnl_memory_desc_t *dst, bool negate, bool relu,
                                    const ipro_onednn_argument arguments[3], ipro_error *err) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t post_ops = NULL;
  dnnl_binary_desc_t desc;
  if (ipro_onednn_attr_create(&attr, err)) return IPRO_ERROR;
  if (negate || relu) {
    IPRO_ONEDNN_CHECK(dnnl_post_ops_create(&post_ops));
    if (negate)
      IPRO_ONEDNN_CHECK(
          dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_linear, -1.0f, 0.0f));
    if (relu)
      IPRO_ONEDNN_CHECK(
          dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
    IPRO_ONEDNN_CHECK(dnnl_primitive_attr_set_post_ops(attr, post_ops));
  }
  IPRO_ONEDNN_CHECK(dnnl_binary_desc_init(&desc, algorithm, src0, src1, dst));
  if (ipro_onednn_primitive_step(kernel, &desc, attr, NULL, arguments, 3, err)) goto fail;
  if (post_ops) dnnl_post_ops_destroy(post_ops);
  dnnl_primitive_attr_destroy(attr);
  return IPRO_OK;
fail:
  if (post_ops) dnnl_post_ops_destroy(post_ops);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return IPRO_ERROR;
}

/* dY (input 0), T (input 1) → dX (output 0), all seen as flat vectors. */
static ipro_status eltwise_grad_step(ipro_onednn_kernel *kernel, int64_t count,
                                     dnnl_alg_kind_t algorithm, float alpha, float beta,
                                     ipro_error *err) {
  dnnl_memory_desc_t md;
  if (ipro_onednn_plain_md(&md, 1, &count, err)) return IPRO_ERROR;
  bool use_dst = algorithm == dnnl_eltwise_relu_use_dst_for_bwd ||
                 algorithm == dnnl_eltwise_logistic_use_dst_for_bwd ||
                 algorithm == dnnl_eltwise_tanh_use_dst_for_bwd ||
                 algorithm == dnnl_eltwise_sqrt_use_dst_for_bwd ||
                 algorithm == dnnl_eltwise_exp_use_dst_for_bwd;
  dnnl_eltwise_desc_t forward, desc;
  IPRO_ONEDNN_CHECK(
      dnnl_eltwise_forward_desc_init(&forward, dnnl_forward_training, algorithm, &md, alpha, beta));
  IPRO_ONEDNN_CHECK(dnnl_eltwise_backward_desc_init(&desc, algorithm, &md, &md, alpha, beta));
  const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_DIFF_DST, IPRO_ONEDNN_INPUT, 0},
      {use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 1},
      {DNNL_ARG_DIFF_SRC, IPRO_ONEDNN_OUTPUT, 0},
  };
  return ipro_onednn_backward_step(kernel, &forward, &desc, arguments, 3, err);
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_build_unary_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                         const ipro_node *node, ipro_error *err) {
  ipro_shape dy, t, dx;
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &t, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err))
    return IPRO_ERROR;
  int64_t count = ipro_shape_elements(&dy);
  if (ipro_shape_elements(&t) != count || ipro_shape_elements(&dx) != count)
    return ipro_onednn_unsupported(err, "dY, T and dX differ in size");
  if (ipro_onednn_flat_elements(kernel, node->outputs[0], &dx, &count, err)) return IPRO_ERROR;
  int64_t forward = ipro_node_attr_int(node, "forward_op", -1);
  /* a ReLU's gradient fused with the Sum before it (codegen/fusion.h): a generated kernel */
  if (node->n_inputs == 3 && forward == IPRO_OP_RELU)
    return ipro_onednn_build_relu_grad_sum(kernel, count, err);
  if (node->n_inputs != 2)
    return ipro_onednn_unsupported(err, "%d inputs to the gradient of op %lld", node->n_inputs,
                                   (long long)forward);
  switch (forward) {
  case IPRO_OP_RELU:
    return eltwise_grad_step(kernel, count, dnnl_eltwise_relu_use_dst_for_bwd, 0.0f, 0.0f, err);
  case IPRO_OP_SIGMOID: /* a SiLU's through X */
    if (ipro_node_attr_int(node, "times_input", 0))
      return eltwise_grad_step(kernel, count, dnnl_eltwise_swish, 1.0f, 0.0f, err);
    return eltwise_grad_step(kernel, count, dnnl_eltwise_logistic_use_dst_for_bwd, 0.0f, 0.0f, err);
  case IPRO_OP_TANH:
    return eltwise_grad_step(kernel, count, dnnl_eltwise_tanh_use_dst_for_bwd, 0.0f, 0.0f, err);
  case IPRO_OP_LEAKY_RELU:
    return eltwise_grad_step(kernel, count, dnnl_eltwise_relu,
                             ipro_node_attr_float(node, "alpha", 0.01f), 0.0f, err);
  case IPRO_OP_CLIP: {
    float low = ipro_node_attr_float(node, "min", -INFINITY);
    float high = ipro_node_attr_float(node, "max", INFINITY);
    if (!(low <= high))
      return ipro_onednn_unsupported(err, "min %g > max %g", (double)low, (double)high);
    return eltwise_grad_step(kernel, count, dnnl_eltwise_clip_v2, low, high, err);
  }
  case IPRO_OP_HARD_SWISH: /* oneDNN's derivative at -3 and 3 differs: cpu_hard_activation_grad.c */
  case IPRO_OP_HARD_SIGMOID: /* no HardSigmoid algorithm in oneDNN 2.6 */
    return ipro_onednn_build_hard_activation_grad(kernel, node, count, err);
  case IPRO_OP_GELU: /* the node carries the forward's attributes */
    return eltwise_grad_step(kernel, count, gelu_algorithm(node), 0.0f, 0.0f, err);
  case IPRO_OP_SQRT: /* through Y, as the op table saves it */
    return eltwise_grad_step(kernel, count, dnnl_eltwise_sqrt_use_dst_for_bwd, 0.0f, 0.0f, err);
  case IPRO_OP_RECIPROCAL: /* through X */
    return eltwise_grad_step(kernel, count, dnnl_eltwise_pow, 1.0f, -1.0f, err);
  case IPRO_OP_EXP: /* through Y, as the op table saves it */
    return eltwise_grad_step(kernel, count, dnnl_eltwise_exp_use_dst_for_bwd, 0.0f, 0.0f, err);
  case IPRO_OP_LOG: /* through X, as the rest */
    return eltwise_grad_step(kernel, count, dnnl_eltwise_log, 0.0f, 0.0f, err);
  case IPRO_OP_SOFTPLUS:
    return eltwise_grad_step(kernel, count, dnnl_eltwise_soft_relu, 0.0f, 0.0f, err);
  case IPRO_OP_MISH: return eltwise_grad_step(kernel, count, dnnl_eltwise_mish, 0.0f, 0.0f, err);
  case IPRO_OP_ELU:
    return eltwise_grad_step(kernel, count, dnnl_eltwise_elu,
                             ipro_node_attr_float(node, "alpha", 1.0f), 0.0f, err);
  case IPRO_OP_CELU:
    if (ipro_node_attr_float(node, "alpha", 1.0f) != 1.0f)
      return ipro_onednn_unsupported(err, "Celu with alpha other than 1");
    return eltwise_grad_step(kernel, count, dnnl_eltwise_elu, 1.0f, 0.0f, err);
  case IPRO_OP_SELU: /* Elu's gradient, then gamma in place on dX */
    if (eltwise_grad_step(kernel, count, dnnl_eltwise_elu,
                          ipro_node_attr_float(node, "alpha", IPRO_SELU_ALPHA), 0.0f, err))
      return IPRO_ERROR;
    return eltwise_step(kernel, count, dnnl_eltwise_linear,
                        ipro_node_attr_float(node, "gamma", IPRO_SELU_GAMMA), 0.0f, true, err);
  default:
    return ipro_onednn_unsupported(err, "forward_op %lld is not an activation", (long long)forward);
  }
}

ipro_status ipro_onednn_build_sum(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                  const ipro_node *node, ipro_error *err) {
  enum { MAX_SOURCES = 64 };
  ipro_shape y, x;
  if (ipro_onednn_output_shape(graph, node, 0, &y, err)) return IPRO_ERROR;
  if (node->n_inputs < 1 || node->n_inputs > MAX_SOURCES)
    return ipro_onednn_unsupported(err, "Sum of %d operands", node->n_inputs);
  for (int i = 0; i < node->n_inputs; i++) {
    if (ipro_onednn_input_shape(graph, node, i, &x, err)) return IPRO_ERROR;
    if (!ipro_shape_equal(&x, &y))
      return ipro_onednn_unsupported(err, "operand %d is broadcast", i);
  }
  int64_t count;
  if (ipro_onednn_flat_elements(kernel, node->outputs[0], &y, &count, err)) return IPRO_ERROR;
  dnnl_memory_desc_t md;
  float scales[MAX_SOURCES];
  ipro_onednn_argument arguments[MAX_SOURCES + 1];
  if (ipro_onednn_plain_md(&md, 1, &count, err)) return IPRO_ERROR;
  for (int i = 0; i < node->n_inputs; i++) {
    scales[i] = 1.0f;
    arguments[i] = (ipro_onednn_argument){DNNL_ARG_MULTIPLE_SRC + i, IPRO_ONEDNN_INPUT, (size_t)i};
  }
  arguments[node->n_inputs] = (ipro_onednn_argument){DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0};
  return ipro_onednn_sum_step(kernel, &md, node->n_inputs, scales, arguments, err);
}
