/* The table of reference kernels, indexed by ipro_op (see reference_kernels.h): the ONNX ops, then
 * the compiler's internal ops of the training program. The ops that only give the same data a new
 * shape share one copying kernel. */
#include "reference_ops.h"

static const ipro_reference_forward_fn reference_forward[] = {
    [IPRO_OP_CONV] = ipro_reference_conv,
    [IPRO_OP_CONV_TRANSPOSE] = ipro_reference_conv_transpose,
    [IPRO_OP_BATCH_NORMALIZATION] = ipro_reference_batch_normalization,
    [IPRO_OP_RELU] = ipro_reference_relu,
    [IPRO_OP_LEAKY_RELU] = ipro_reference_leaky_relu,
    [IPRO_OP_SIGMOID] = ipro_reference_sigmoid,
    [IPRO_OP_TANH] = ipro_reference_tanh,
    [IPRO_OP_CLIP] = ipro_reference_clip,
    [IPRO_OP_HARD_SIGMOID] = ipro_reference_hard_sigmoid,
    [IPRO_OP_HARD_SWISH] = ipro_reference_hard_swish,
    [IPRO_OP_SOFTMAX] = ipro_reference_softmax,
    [IPRO_OP_LOG_SOFTMAX] = ipro_reference_log_softmax,
    [IPRO_OP_ADD] = ipro_reference_add,
    [IPRO_OP_SUB] = ipro_reference_sub,
    [IPRO_OP_MUL] = ipro_reference_mul,
    [IPRO_OP_DIV] = ipro_reference_div,
    [IPRO_OP_SUM] = ipro_reference_sum,
    [IPRO_OP_MAX_POOL] = ipro_reference_max_pool,
    [IPRO_OP_AVERAGE_POOL] = ipro_reference_average_pool,
    [IPRO_OP_GLOBAL_AVERAGE_POOL] = ipro_reference_global_average_pool,
    [IPRO_OP_GLOBAL_MAX_POOL] = ipro_reference_global_max_pool,
    [IPRO_OP_GEMM] = ipro_reference_gemm,
    [IPRO_OP_MAT_MUL] = ipro_reference_mat_mul,
    [IPRO_OP_FLATTEN] = ipro_reference_copy,
    [IPRO_OP_RESHAPE] = ipro_reference_copy,
    [IPRO_OP_TRANSPOSE] = ipro_reference_transpose,
    [IPRO_OP_CONCAT] = ipro_reference_concat,
    [IPRO_OP_IDENTITY] = ipro_reference_copy,
    [IPRO_OP_DROPOUT] = ipro_reference_dropout,
    [IPRO_OP_PAD] = ipro_reference_pad,
    [IPRO_OP_RESIZE] = ipro_reference_resize,
    [IPRO_OP_REDUCE_MEAN] = ipro_reference_reduce_mean,
    [IPRO_OP_SQUEEZE] = ipro_reference_copy,
    [IPRO_OP_UNSQUEEZE] = ipro_reference_copy,
    [IPRO_OP_SHAPE] = ipro_reference_shape,
    [IPRO_OP_GATHER] = ipro_reference_gather,
    [IPRO_OP_CONSTANT] = ipro_reference_constant,
    [IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS] = ipro_reference_softmax_cross_entropy_loss,
    /* The internal ops of the training program (codegen/internal_ops.md). ConvGradInput is a
     * transposed convolution of dY with the same weight (conv_backward.c). */
    [IPRO_OP_CONV_GRAD_INPUT] = ipro_reference_conv_grad_input,
    [IPRO_OP_CONV_GRAD_WEIGHT] = ipro_reference_conv_grad_weight,
    [IPRO_OP_BATCH_NORM_GRAD] = ipro_reference_batch_norm_grad,
    [IPRO_OP_UNARY_GRAD] = ipro_reference_unary_grad,
    [IPRO_OP_REDUCE_TO_SHAPE] = ipro_reference_reduce_to_shape,
    [IPRO_OP_MAX_POOL_GRAD] = ipro_reference_max_pool_grad,
    [IPRO_OP_AVERAGE_POOL_GRAD] = ipro_reference_average_pool_grad,
    [IPRO_OP_GLOBAL_POOL_GRAD] = ipro_reference_global_pool_grad,
    [IPRO_OP_SLICE] = ipro_reference_slice,
    [IPRO_OP_DROPOUT_GRAD] = ipro_reference_dropout_grad,
    [IPRO_OP_RESIZE_GRAD] = ipro_reference_resize_grad,
    [IPRO_OP_REDUCE_MEAN_GRAD] = ipro_reference_reduce_mean_grad,
    [IPRO_OP_SOFTMAX_GRAD] = ipro_reference_softmax_grad,
    [IPRO_OP_SOFTMAX_CROSS_ENTROPY_GRAD] = ipro_reference_softmax_cross_entropy_grad,
    [IPRO_OP_SGD_UPDATE] = ipro_reference_sgd_update,
    [IPRO_OP_ADAM_UPDATE] = ipro_reference_adam_update,
    /* The InfoPro local losses (infopro_losses.c). */
    [IPRO_OP_BINARY_CROSS_ENTROPY] = ipro_reference_binary_cross_entropy,
    [IPRO_OP_BINARY_CROSS_ENTROPY_GRAD] = ipro_reference_binary_cross_entropy_grad,
    [IPRO_OP_SUP_CON_LOSS] = ipro_reference_sup_con_loss,
    [IPRO_OP_SUP_CON_GRAD] = ipro_reference_sup_con_grad,
};

/* Catches an op appended to op_list.h without a kernel; the table test catches a gap elsewhere. */
_Static_assert(sizeof reference_forward / sizeof reference_forward[0] == IPRO_OP_COUNT,
               "every op in op_list.h needs a reference kernel");

const ipro_reference_forward_fn *ipro_reference_forward_table(void) { return reference_forward; }
