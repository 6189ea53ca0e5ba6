/* The op table: one row per op of op_list.h, indexed by ipro_op (see op_table.h for what a row
 * holds). The row functions live in frontend/ops/, grouped by kind of op; this file only puts
 * them together, so adding an op means one line in op_list.h and one row here. */
#include <string.h>

#include "op_table.h"
#include "ops/op_helpers.h"
#include "ops/op_rows.h"

/* The names come from op_list.h alone: name_CONV = "Conv", ... */
#define IPRO_OP_NAME_(id, name) static const char name_##id[] = name;
IPRO_OP_LIST(IPRO_OP_NAME_)
IPRO_INTERNAL_OP_LIST(IPRO_OP_NAME_)
#undef IPRO_OP_NAME_

/* Bit masks of the inputs / outputs a backward pass reads. */
#define IN(i) (1u << (i))
#define OUT(i) (1u << (i))

#define NO_ATTRIBUTES ipro_op_normalize_no_attributes
#define ZERO ipro_op_zero_flops

static const ipro_op_info rows[] = {
    [IPRO_OP_CONV] = {name_CONV, ipro_conv_normalize, ipro_conv_infer, ipro_conv_flops, IN(0), 0,
                      NULL, false},
    [IPRO_OP_CONV_TRANSPOSE] = {name_CONV_TRANSPOSE, ipro_conv_transpose_normalize,
                                ipro_conv_transpose_infer, ipro_conv_transpose_flops, IN(0), 0,
                                NULL, false},
    [IPRO_OP_BATCH_NORMALIZATION] = {name_BATCH_NORMALIZATION, ipro_batch_normalization_normalize,
                                     ipro_batch_normalization_infer, ipro_batch_normalization_flops,
                                     IN(0), 0, ipro_batch_normalization_saved_extra_bytes, false},
    [IPRO_OP_RELU] = {name_RELU, NO_ATTRIBUTES, ipro_unary_infer, ipro_unary_flops, 0, OUT(0), NULL,
                      true},
    [IPRO_OP_LEAKY_RELU] = {name_LEAKY_RELU, ipro_leaky_relu_normalize, ipro_unary_infer,
                            ipro_unary_flops, IN(0), 0, NULL, true},
    [IPRO_OP_SIGMOID] = {name_SIGMOID, NO_ATTRIBUTES, ipro_unary_infer, ipro_unary_flops, 0, OUT(0),
                         NULL, true},
    [IPRO_OP_TANH] = {name_TANH, NO_ATTRIBUTES, ipro_unary_infer, ipro_unary_flops, 0, OUT(0), NULL,
                      true},
    [IPRO_OP_CLIP] = {name_CLIP, ipro_clip_normalize, ipro_unary_infer, ipro_unary_flops, IN(0), 0,
                      NULL, true},
    [IPRO_OP_HARD_SIGMOID] = {name_HARD_SIGMOID, ipro_hard_sigmoid_normalize, ipro_unary_infer,
                              ipro_unary_flops, IN(0), 0, NULL, true},
    [IPRO_OP_HARD_SWISH] = {name_HARD_SWISH, NO_ATTRIBUTES, ipro_unary_infer, ipro_unary_flops,
                            IN(0), 0, NULL, true},
    [IPRO_OP_SOFTMAX] = {name_SOFTMAX, ipro_softmax_normalize, ipro_softmax_infer,
                         ipro_softmax_flops, 0, OUT(0), NULL, false},
    [IPRO_OP_LOG_SOFTMAX] = {name_LOG_SOFTMAX, ipro_softmax_normalize, ipro_softmax_infer,
                             ipro_softmax_flops, 0, OUT(0), NULL, false},
    [IPRO_OP_ADD] = {name_ADD, NO_ATTRIBUTES, ipro_binary_infer, ipro_binary_flops, 0, 0, NULL,
                     false},
    [IPRO_OP_SUB] = {name_SUB, NO_ATTRIBUTES, ipro_binary_infer, ipro_binary_flops, 0, 0, NULL,
                     false},
    [IPRO_OP_MUL] = {name_MUL, NO_ATTRIBUTES, ipro_binary_infer, ipro_binary_flops, IN(0) | IN(1),
                     0, NULL, false},
    [IPRO_OP_DIV] = {name_DIV, NO_ATTRIBUTES, ipro_binary_infer, ipro_binary_flops, IN(0) | IN(1),
                     0, NULL, false},
    [IPRO_OP_SUM] = {name_SUM, NO_ATTRIBUTES, ipro_sum_infer, ipro_sum_flops, 0, 0, NULL, false},
    [IPRO_OP_MAX_POOL] = {name_MAX_POOL, ipro_pool_normalize, ipro_pool_infer, ipro_pool_flops,
                          IN(0), 0, NULL, false},
    [IPRO_OP_AVERAGE_POOL] = {name_AVERAGE_POOL, ipro_pool_normalize, ipro_pool_infer,
                              ipro_pool_flops, 0, 0, NULL, false},
    [IPRO_OP_GLOBAL_AVERAGE_POOL] = {name_GLOBAL_AVERAGE_POOL, NO_ATTRIBUTES,
                                     ipro_global_pool_infer, ipro_global_pool_flops, 0, 0, NULL,
                                     false},
    [IPRO_OP_GLOBAL_MAX_POOL] = {name_GLOBAL_MAX_POOL, NO_ATTRIBUTES, ipro_global_pool_infer,
                                 ipro_global_pool_flops, IN(0), 0, NULL, false},
    [IPRO_OP_GEMM] = {name_GEMM, ipro_gemm_normalize, ipro_gemm_infer, ipro_gemm_flops,
                      IN(0) | IN(1), 0, NULL, false},
    [IPRO_OP_MAT_MUL] = {name_MAT_MUL, NO_ATTRIBUTES, ipro_mat_mul_infer, ipro_mat_mul_flops,
                         IN(0) | IN(1), 0, NULL, false},
    [IPRO_OP_FLATTEN] = {name_FLATTEN, ipro_flatten_normalize, ipro_flatten_infer, ZERO, 0, 0, NULL,
                         false},
    [IPRO_OP_RESHAPE] = {name_RESHAPE, ipro_reshape_normalize, ipro_reshape_infer, ZERO, 0, 0, NULL,
                         false},
    [IPRO_OP_TRANSPOSE] = {name_TRANSPOSE, ipro_transpose_normalize, ipro_transpose_infer, ZERO, 0,
                           0, NULL, false},
    [IPRO_OP_CONCAT] = {name_CONCAT, ipro_concat_normalize, ipro_concat_infer, ZERO, 0, 0, NULL,
                        false},
    [IPRO_OP_IDENTITY] = {name_IDENTITY, NO_ATTRIBUTES, ipro_identity_infer, ZERO, 0, 0, NULL,
                          false},
    [IPRO_OP_DROPOUT] = {name_DROPOUT, ipro_dropout_normalize, ipro_dropout_infer,
                         ipro_dropout_flops, 0, 0, ipro_dropout_saved_extra_bytes, false},
    [IPRO_OP_PAD] = {name_PAD, ipro_pad_normalize, ipro_pad_infer, ZERO, 0, 0, NULL, false},
    [IPRO_OP_RESIZE] = {name_RESIZE, ipro_resize_normalize, ipro_resize_infer, ipro_resize_flops, 0,
                        0, NULL, false},
    [IPRO_OP_REDUCE_MEAN] = {name_REDUCE_MEAN, ipro_reduce_mean_normalize, ipro_reduce_mean_infer,
                             ipro_reduce_mean_flops, 0, 0, NULL, false},
    [IPRO_OP_SQUEEZE] = {name_SQUEEZE, ipro_squeeze_normalize, ipro_squeeze_infer, ZERO, 0, 0, NULL,
                         false},
    [IPRO_OP_UNSQUEEZE] = {name_UNSQUEEZE, ipro_squeeze_normalize, ipro_unsqueeze_infer, ZERO, 0, 0,
                           NULL, false},
    [IPRO_OP_SHAPE] = {name_SHAPE, ipro_shape_normalize, ipro_shape_infer, ZERO, 0, 0, NULL, false},
    [IPRO_OP_GATHER] = {name_GATHER, ipro_gather_normalize, ipro_gather_infer, ZERO, 0, 0, NULL,
                        false},
    [IPRO_OP_CONSTANT] = {name_CONSTANT, ipro_constant_normalize, ipro_constant_infer, ZERO, 0, 0,
                          NULL, false},
    [IPRO_OP_SOFTMAX_CROSS_ENTROPY_LOSS] = {name_SOFTMAX_CROSS_ENTROPY_LOSS,
                                            ipro_softmax_cross_entropy_normalize,
                                            ipro_softmax_cross_entropy_infer,
                                            ipro_softmax_cross_entropy_flops, 0, OUT(1), NULL,
                                            false},
    [IPRO_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS] = {name_NEGATIVE_LOG_LIKELIHOOD_LOSS,
                                              ipro_softmax_cross_entropy_normalize,
                                              ipro_softmax_cross_entropy_infer,
                                              ipro_softmax_cross_entropy_flops, 0, 0, NULL, false},
    [IPRO_OP_EXPAND] = {name_EXPAND, NO_ATTRIBUTES, ipro_expand_infer, ZERO, 0, 0, NULL, false},
    [IPRO_OP_CAST_LIKE] = {name_CAST_LIKE, ipro_cast_like_normalize, ipro_cast_like_infer, ZERO, 0,
                           0, NULL, false},
    [IPRO_OP_CAST] = {name_CAST, ipro_cast_normalize, ipro_cast_infer, ZERO, 0, 0, NULL, false},
    /* internal ops (codegen/internal_ops.md): built by autodiff, never differentiated */
    [IPRO_OP_CONV_GRAD_INPUT] = {name_CONV_GRAD_INPUT, NULL, ipro_shape_from_attribute_infer,
                                 ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_CONV_GRAD_WEIGHT] = {name_CONV_GRAD_WEIGHT, NULL, ipro_conv_grad_weight_infer,
                                  ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_BATCH_NORM_GRAD] = {name_BATCH_NORM_GRAD, NULL, ipro_batch_norm_grad_infer,
                                 ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_UNARY_GRAD] = {name_UNARY_GRAD, NULL, ipro_elementwise_grad_infer,
                            ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_REDUCE_TO_SHAPE] = {name_REDUCE_TO_SHAPE, NULL, ipro_shape_from_attribute_infer,
                                 ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_MAX_POOL_GRAD] = {name_MAX_POOL_GRAD, NULL, ipro_max_pool_grad_infer,
                               ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_AVERAGE_POOL_GRAD] = {name_AVERAGE_POOL_GRAD, NULL, ipro_shape_from_attribute_infer,
                                   ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_GLOBAL_POOL_GRAD] = {name_GLOBAL_POOL_GRAD, NULL, ipro_global_pool_grad_infer,
                                  ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_SLICE] = {name_SLICE, NULL, ipro_shape_from_attribute_infer, ipro_training_op_flops, 0,
                       0, NULL, false},
    [IPRO_OP_DROPOUT_GRAD] = {name_DROPOUT_GRAD, NULL, ipro_elementwise_grad_infer,
                              ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_RESIZE_GRAD] = {name_RESIZE_GRAD, NULL, ipro_shape_from_attribute_infer,
                             ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_REDUCE_MEAN_GRAD] = {name_REDUCE_MEAN_GRAD, NULL, ipro_shape_from_attribute_infer,
                                  ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_SOFTMAX_GRAD] = {name_SOFTMAX_GRAD, NULL, ipro_elementwise_grad_infer,
                              ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_SOFTMAX_CROSS_ENTROPY_GRAD] = {name_SOFTMAX_CROSS_ENTROPY_GRAD, NULL,
                                            ipro_softmax_cross_entropy_grad_infer,
                                            ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_SGD_UPDATE] = {name_SGD_UPDATE, NULL, ipro_optimizer_update_infer,
                            ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_ADAM_UPDATE] = {name_ADAM_UPDATE, NULL, ipro_optimizer_update_infer,
                             ipro_training_op_flops, 0, 0, NULL, false},
    [IPRO_OP_BINARY_CROSS_ENTROPY] = {name_BINARY_CROSS_ENTROPY, NULL,
                                      ipro_binary_cross_entropy_infer, ipro_training_op_flops, 0, 0,
                                      NULL, false},
    [IPRO_OP_BINARY_CROSS_ENTROPY_GRAD] = {name_BINARY_CROSS_ENTROPY_GRAD, NULL,
                                           ipro_binary_cross_entropy_infer, ipro_training_op_flops,
                                           0, 0, NULL, false},
    [IPRO_OP_SUP_CON_LOSS] = {name_SUP_CON_LOSS, NULL, ipro_sup_con_infer, ipro_sup_con_flops, 0, 0,
                              NULL, false},
    [IPRO_OP_SUP_CON_GRAD] = {name_SUP_CON_GRAD, NULL, ipro_sup_con_infer, ipro_sup_con_flops, 0, 0,
                              NULL, false},
};

_Static_assert(sizeof rows / sizeof rows[0] == IPRO_OP_COUNT,
               "op_table.c needs exactly one row per op of op_list.h");

const ipro_op_info *ipro_op_info_of(ipro_op op) {
  if ((int)op < 0 || op >= IPRO_OP_COUNT) return NULL;
  return &rows[op];
}
