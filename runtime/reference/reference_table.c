/* The table of reference kernels, indexed by ipro_op (see reference_kernels.h): the ONNX ops, then
 * the compiler's internal ops of the training program. The ops that only give the same data a new
 * shape share one copying kernel.
 *
 * The arithmetic kernels are written over double and enter the table through IN_DOUBLE, which
 * runs them on float32 data by widening (reference_widening.c); the second argument is the mask
 * of inputs the kernel updates in place. The kernels that only move data (the copies, Transpose,
 * Concat, Split, Gather, Shape, Constant, Pad, Slice, ConstantOfShape) copy elements of any fixed
 * size and enter as they are, so a float32 tensor stays float32 through them. */
#include "reference_ops.h"

#define IN_DOUBLE(name, written_inputs)                                                            \
  static IPRO_REFERENCE_KERNEL(in_double_##name) {                                                 \
    return ipro_reference_run_in_double(ipro_reference_##name, written_inputs, graph, node,        \
                                        inputs, outputs, context, err);                            \
  }
IN_DOUBLE(conv, 0)
IN_DOUBLE(conv_transpose, 0)
IN_DOUBLE(batch_normalization, (1u << 3) | (1u << 4))
IN_DOUBLE(relu, 0)
IN_DOUBLE(less, 0)
IN_DOUBLE(greater, 0)
IN_DOUBLE(less_or_equal, 0)
IN_DOUBLE(greater_or_equal, 0)
IN_DOUBLE(equal, 0)
IN_DOUBLE(random_uniform_like, 0)
IN_DOUBLE(leaky_relu, 0)
IN_DOUBLE(sigmoid, 0)
IN_DOUBLE(tanh, 0)
IN_DOUBLE(clip, 0)
IN_DOUBLE(hard_sigmoid, 0)
IN_DOUBLE(hard_swish, 0)
IN_DOUBLE(gelu, 0)
IN_DOUBLE(real_unary, 0)
IN_DOUBLE(cum_sum, 0)
IN_DOUBLE(erf, 0)
IN_DOUBLE(smooth_activation, 0)
IN_DOUBLE(prelu, 0)
IN_DOUBLE(layer_normalization, 0)
IN_DOUBLE(layer_norm_grad, 0)
IN_DOUBLE(instance_normalization, 0)
IN_DOUBLE(softmax, 0)
IN_DOUBLE(log_softmax, 0)
IN_DOUBLE(add, 0)
IN_DOUBLE(sub, 0)
IN_DOUBLE(mul, 0)
IN_DOUBLE(pow, 0)
IN_DOUBLE(extremum, 0)
IN_DOUBLE(div, 0)
IN_DOUBLE(sum, 0)
IN_DOUBLE(max_pool, 0)
IN_DOUBLE(average_pool, 0)
IN_DOUBLE(global_average_pool, 0)
IN_DOUBLE(global_max_pool, 0)
IN_DOUBLE(gemm, 0)
IN_DOUBLE(mat_mul, 0)
IN_DOUBLE(dropout, 0)
IN_DOUBLE(resize, 0)
IN_DOUBLE(reduce, 0)
IN_DOUBLE(softmax_cross_entropy_loss, 0)
IN_DOUBLE(negative_log_likelihood_loss, 0)
IN_DOUBLE(conv_grad_input, 0)
IN_DOUBLE(conv_grad_weight, 0)
IN_DOUBLE(batch_norm_grad, 0)
IN_DOUBLE(unary_grad, 0)
IN_DOUBLE(reduce_to_shape, 0)
IN_DOUBLE(max_pool_grad, 0)
IN_DOUBLE(average_pool_grad, 0)
IN_DOUBLE(global_pool_grad, 0)
IN_DOUBLE(dropout_grad, 0)
IN_DOUBLE(resize_grad, 0)
IN_DOUBLE(reduce_mean_grad, 0)
IN_DOUBLE(reduce_extremum_grad, 0)
IN_DOUBLE(reduce_prod_grad, 0)
IN_DOUBLE(gather_elements_grad, 0)
IN_DOUBLE(recurrent, 0)
IN_DOUBLE(col2im, 0)
IN_DOUBLE(col2im_grad, 0)
IN_DOUBLE(recurrent_grad, 0)
IN_DOUBLE(einsum, 0)
IN_DOUBLE(softmax_grad, 0)
IN_DOUBLE(softmax_cross_entropy_grad, 0)
IN_DOUBLE(sgd_update, (1u << 0) | (1u << 2))
IN_DOUBLE(adam_update, (1u << 0) | (1u << 2) | (1u << 3))
IN_DOUBLE(binary_cross_entropy, 0)
IN_DOUBLE(binary_cross_entropy_grad, 0)
IN_DOUBLE(sup_con_loss, 0)
IN_DOUBLE(sup_con_grad, 0)

static const ipro_reference_forward_fn reference_forward[] = {
    [IPRO_OP_CONV] = in_double_conv,
    [IPRO_OP_CONV_TRANSPOSE] = in_double_conv_transpose,
    [IPRO_OP_BATCH_NORMALIZATION] = in_double_batch_normalization,
    [IPRO_OP_RELU] = in_double_relu,
    [IPRO_OP_LEAKY_RELU] = in_double_leaky_relu,
    [IPRO_OP_SIGMOID] = in_double_sigmoid,
    [IPRO_OP_TANH] = in_double_tanh,
    [IPRO_OP_CLIP] = in_double_clip,
    [IPRO_OP_HARD_SIGMOID] = in_double_hard_sigmoid,
    [IPRO_OP_HARD_SWISH] = in_double_hard_swish,
    [IPRO_OP_SOFTMAX] = in_double_softmax,
    [IPRO_OP_LOG_SOFTMAX] = in_double_log_softmax,
    [IPRO_OP_ADD] = in_double_add,
    [IPRO_OP_SUB] = in_double_sub,
    [IPRO_OP_MUL] = in_double_mul,
    [IPRO_OP_DIV] = in_double_div,
    [IPRO_OP_SUM] = in_double_sum,
    [IPRO_OP_MAX_POOL] = in_double_max_pool,
    [IPRO_OP_AVERAGE_POOL] = in_double_average_pool,
    [IPRO_OP_GLOBAL_AVERAGE_POOL] = in_double_global_average_pool,
    [IPRO_OP_GLOBAL_MAX_POOL] = in_double_global_max_pool,
    [IPRO_OP_GEMM] = in_double_gemm,
    [IPRO_OP_MAT_MUL] = in_double_mat_mul,
    [IPRO_OP_FLATTEN] = ipro_reference_copy,
    [IPRO_OP_RESHAPE] = ipro_reference_copy,
    [IPRO_OP_TRANSPOSE] = ipro_reference_transpose,
    [IPRO_OP_CONCAT] = ipro_reference_concat,
    [IPRO_OP_IDENTITY] = ipro_reference_copy,
    [IPRO_OP_DROPOUT] = in_double_dropout,
    [IPRO_OP_PAD] = ipro_reference_pad,
    [IPRO_OP_RESIZE] = in_double_resize,
    [IPRO_OP_REDUCE_MEAN] = in_double_reduce,
    [IPRO_OP_REDUCE_SUM] = in_double_reduce,
    [IPRO_OP_REDUCE_L2] = in_double_reduce,
    [IPRO_OP_REDUCE_MAX] = in_double_reduce,
    [IPRO_OP_REDUCE_MIN] = in_double_reduce,
    [IPRO_OP_REDUCE_L1] = in_double_reduce,
    [IPRO_OP_REDUCE_SUM_SQUARE] = in_double_reduce,
    [IPRO_OP_REDUCE_LOG_SUM] = in_double_reduce,
    [IPRO_OP_REDUCE_LOG_SUM_EXP] = in_double_reduce,
    [IPRO_OP_REDUCE_PROD] = in_double_reduce,
    [IPRO_OP_SQUEEZE] = ipro_reference_copy,
    [IPRO_OP_UNSQUEEZE] = ipro_reference_copy,
    [IPRO_OP_SHAPE] = ipro_reference_shape,
    [IPRO_OP_GATHER] = ipro_reference_gather,
    [IPRO_OP_CONSTANT] = ipro_reference_constant,
    [IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS] = in_double_softmax_cross_entropy_loss,
    [IPRO_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS] = in_double_negative_log_likelihood_loss,
    [IPRO_OP_EXPAND] = ipro_reference_expand,
    [IPRO_OP_TILE] = ipro_reference_expand,
    [IPRO_OP_GATHER_ELEMENTS] = ipro_reference_gather_elements,
    [IPRO_OP_LSTM] = in_double_recurrent,
    [IPRO_OP_GRU] = in_double_recurrent,
    [IPRO_OP_RNN] = in_double_recurrent,
    [IPRO_OP_COL2IM] = in_double_col2im,
    [IPRO_OP_EINSUM] = in_double_einsum,
    [IPRO_OP_SCATTER_ELEMENTS] = ipro_reference_scatter_elements,
    [IPRO_OP_CAST_LIKE] = ipro_reference_cast_like,
    [IPRO_OP_CAST] = ipro_reference_cast_like, /* the output's dtype says which */
    [IPRO_OP_GELU] = in_double_gelu,
    [IPRO_OP_SQRT] = in_double_real_unary,
    [IPRO_OP_SLICE_ONNX] = ipro_reference_slice_onnx,
    [IPRO_OP_LAYER_NORMALIZATION] = in_double_layer_normalization,
    [IPRO_OP_CONSTANT_OF_SHAPE] = ipro_reference_constant_of_shape,
    [IPRO_OP_RANGE] = ipro_reference_range,
    [IPRO_OP_EQUAL] = in_double_equal,
    [IPRO_OP_WHERE] = ipro_reference_where,
    [IPRO_OP_MOD] = ipro_reference_mod,
    [IPRO_OP_POW] = in_double_pow,
    [IPRO_OP_NOT] = ipro_reference_not,
    [IPRO_OP_ERF] = in_double_erf,
    [IPRO_OP_RECIPROCAL] = in_double_real_unary,
    [IPRO_OP_ABS] = in_double_real_unary,
    [IPRO_OP_NEG] = in_double_real_unary,
    [IPRO_OP_FLOOR] = in_double_real_unary,
    [IPRO_OP_CEIL] = in_double_real_unary,
    [IPRO_OP_SIGN] = in_double_real_unary,
    [IPRO_OP_SIN] = in_double_real_unary,
    [IPRO_OP_COS] = in_double_real_unary,
    [IPRO_OP_EXP] = in_double_real_unary,
    [IPRO_OP_LOG] = in_double_real_unary,
    [IPRO_OP_SOFTPLUS] = in_double_smooth_activation,
    [IPRO_OP_ELU] = in_double_smooth_activation,
    [IPRO_OP_SELU] = in_double_smooth_activation,
    [IPRO_OP_CELU] = in_double_smooth_activation,
    [IPRO_OP_MISH] = in_double_smooth_activation,
    [IPRO_OP_SOFTSIGN] = in_double_smooth_activation,
    [IPRO_OP_PRELU] = in_double_prelu,
    [IPRO_OP_CUM_SUM] = in_double_cum_sum,
    [IPRO_OP_LESS_OR_EQUAL] = in_double_less_or_equal,
    [IPRO_OP_GREATER_OR_EQUAL] = in_double_greater_or_equal,
    [IPRO_OP_GATHER_ND] = ipro_reference_gather_nd,
    [IPRO_OP_MAX] = in_double_extremum,
    [IPRO_OP_MIN] = in_double_extremum,
    [IPRO_OP_SCATTER_ND] = ipro_reference_scatter_nd,
    [IPRO_OP_RANDOM_UNIFORM_LIKE] = in_double_random_uniform_like,
    [IPRO_OP_LESS] = in_double_less,
    [IPRO_OP_GREATER] = in_double_greater,
    [IPRO_OP_SPLIT] = ipro_reference_split,
    [IPRO_OP_INSTANCE_NORMALIZATION] = in_double_instance_normalization,
    /* The internal ops of the training program (codegen/internal_ops.md). ConvGradInput is a
     * transposed convolution of dY with the same weight (conv_backward.c). */
    [IPRO_OP_CONV_GRAD_INPUT] = in_double_conv_grad_input,
    [IPRO_OP_CONV_GRAD_WEIGHT] = in_double_conv_grad_weight,
    [IPRO_OP_BATCH_NORM_GRAD] = in_double_batch_norm_grad,
    [IPRO_OP_UNARY_GRAD] = in_double_unary_grad,
    [IPRO_OP_REDUCE_TO_SHAPE] = in_double_reduce_to_shape,
    [IPRO_OP_MAX_POOL_GRAD] = in_double_max_pool_grad,
    [IPRO_OP_AVERAGE_POOL_GRAD] = in_double_average_pool_grad,
    [IPRO_OP_GLOBAL_POOL_GRAD] = in_double_global_pool_grad,
    [IPRO_OP_SLICE] = ipro_reference_slice,
    [IPRO_OP_DROPOUT_GRAD] = in_double_dropout_grad,
    [IPRO_OP_RESIZE_GRAD] = in_double_resize_grad,
    [IPRO_OP_REDUCE_MEAN_GRAD] = in_double_reduce_mean_grad,
    [IPRO_OP_REDUCE_EXTREMUM_GRAD] = in_double_reduce_extremum_grad,
    [IPRO_OP_REDUCE_PROD_GRAD] = in_double_reduce_prod_grad,
    [IPRO_OP_GATHER_ELEMENTS_GRAD] = in_double_gather_elements_grad,
    [IPRO_OP_RECURRENT_GRAD] = in_double_recurrent_grad,
    [IPRO_OP_COL2IM_GRAD] = in_double_col2im_grad,
    [IPRO_OP_SOFTMAX_GRAD] = in_double_softmax_grad,
    [IPRO_OP_SOFTMAX_CROSS_ENTROPY_GRAD] = in_double_softmax_cross_entropy_grad,
    [IPRO_OP_SGD_UPDATE] = in_double_sgd_update,
    [IPRO_OP_ADAM_UPDATE] = in_double_adam_update,
    /* The InfoPro local losses (infopro_losses.c). */
    [IPRO_OP_BINARY_CROSS_ENTROPY] = in_double_binary_cross_entropy,
    [IPRO_OP_BINARY_CROSS_ENTROPY_GRAD] = in_double_binary_cross_entropy_grad,
    [IPRO_OP_SUP_CON_LOSS] = in_double_sup_con_loss,
    [IPRO_OP_SUP_CON_GRAD] = in_double_sup_con_grad,
    [IPRO_OP_LAYER_NORM_GRAD] = in_double_layer_norm_grad,
};

/* Catches an op appended to op_list.h without a kernel; the table test catches a gap elsewhere. */
_Static_assert(sizeof reference_forward / sizeof reference_forward[0] == IPRO_OP_COUNT,
               "every op in op_list.h needs a reference kernel");

const ipro_reference_forward_fn *ipro_reference_forward_table(void) { return reference_forward; }

bool ipro_reference_widens(ipro_op op) {
  static const ipro_reference_forward_fn moving[] = {
      ipro_reference_copy,  ipro_reference_transpose, ipro_reference_concat,
      ipro_reference_pad,   ipro_reference_shape,     ipro_reference_gather,
      ipro_reference_slice, ipro_reference_constant,  ipro_reference_constant_of_shape,
      ipro_reference_split};
  if (op >= IPRO_OP_COUNT) return false;
  for (size_t i = 0; i < sizeof moving / sizeof moving[0]; i++)
    if (reference_forward[op] == moving[i]) return false;
  return true;
}
