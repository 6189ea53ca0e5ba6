/* The row functions of the op table (op_table.c), grouped by the file of frontend/ops/ that
 * defines them. Only op_table.c and those files include this header. Every normalize and infer
 * function has the signature of op_table.h's row fields; so have the cost functions. */
#ifndef IPRO_OP_ROWS_H
#define IPRO_OP_ROWS_H

#include "ir/graph.h"

/* conv.c */
ipro_status ipro_conv_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_conv_transpose_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_conv_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_conv_transpose_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_conv_flops(const ipro_graph *graph, const ipro_node *node);
int64_t ipro_conv_transpose_flops(const ipro_graph *graph, const ipro_node *node);

/* pool.c */
ipro_status ipro_pool_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_pool_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_pool_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_global_pool_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_global_pool_flops(const ipro_graph *graph, const ipro_node *node);

/* normalization.c */
ipro_status ipro_batch_normalization_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_batch_normalization_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_batch_normalization_flops(const ipro_graph *graph, const ipro_node *node);
int64_t ipro_batch_normalization_saved_extra_bytes(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_instance_normalization_normalize(ipro_graph *graph, ipro_node *node,
                                                  ipro_error *err);
ipro_status ipro_instance_normalization_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_dropout_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_dropout_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_dropout_flops(const ipro_graph *graph, const ipro_node *node);
int64_t ipro_dropout_saved_extra_bytes(const ipro_graph *graph, const ipro_node *node);

/* activation.c */
ipro_status ipro_leaky_relu_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_hard_sigmoid_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_elu_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_selu_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_prelu_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_gelu_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_layer_normalization_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_layer_normalization_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_layer_normalization_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_clip_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_unary_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_unary_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_softmax_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_softmax_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_softmax_flops(const ipro_graph *graph, const ipro_node *node);

/* elementwise.c */
ipro_status ipro_binary_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_binary_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_sum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_sum_flops(const ipro_graph *graph, const ipro_node *node);

/* matmul.c */
ipro_status ipro_gemm_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_gemm_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_gemm_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_mat_mul_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_mat_mul_flops(const ipro_graph *graph, const ipro_node *node);

/* layout.c */
ipro_status ipro_flatten_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_flatten_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_reshape_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_reshape_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_transpose_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_transpose_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_squeeze_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_squeeze_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_unsqueeze_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);

/* shape_compute.c */
ipro_status ipro_shape_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_shape_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_gather_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_gather_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_concat_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_concat_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_scatter_elements_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_scatter_elements_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_gather_elements_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_gather_elements_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_einsum_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_einsum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_einsum_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_col2im_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_col2im_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_col2im_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_recurrent_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_recurrent_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_recurrent_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_recurrent_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_tile_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_expand_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_cast_like_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_cast_like_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_cast_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_cast_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);

/* split.c */
ipro_status ipro_split_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_split_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);

/* random_fill.c */
ipro_status ipro_constant_of_shape_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_constant_of_shape_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_range_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_where_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_mod_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_mod_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_random_uniform_like_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_random_uniform_like_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_compare_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_real_unary_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_cum_sum_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_cum_sum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_slice_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_identity_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_constant_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_constant_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);

/* pad_reduce.c */
ipro_status ipro_scatter_nd_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_scatter_nd_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_not_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_extremum_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_gather_nd_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_gather_nd_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_pow_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_pad_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_pad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_reduce_mean_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_reduce_mean_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_reduce_mean_flops(const ipro_graph *graph, const ipro_node *node);

/* resize.c */
ipro_status ipro_resize_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_resize_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_resize_flops(const ipro_graph *graph, const ipro_node *node);

/* training_ops.c */
ipro_status ipro_softmax_cross_entropy_normalize(ipro_graph *graph, ipro_node *node,
                                                 ipro_error *err);
ipro_status ipro_softmax_cross_entropy_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_softmax_cross_entropy_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_shape_from_attribute_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_conv_grad_weight_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_batch_norm_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_layer_norm_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_elementwise_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_max_pool_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_global_pool_grad_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_softmax_cross_entropy_grad_infer(ipro_graph *graph, ipro_node *node,
                                                  ipro_error *err);
ipro_status ipro_optimizer_update_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_training_op_flops(const ipro_graph *graph, const ipro_node *node);
ipro_status ipro_binary_cross_entropy_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
ipro_status ipro_sup_con_infer(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_sup_con_flops(const ipro_graph *graph, const ipro_node *node);

#endif
