/* The list of operators infopro understands, as an X-macro so that the enum, the name table and
 * the op table (op_table.c) are generated from one place and cannot drift apart.
 * Adding an op: add a line here, a row in op_table.c, its functions in frontend/ops/, and tests. */
#ifndef IPRO_OP_LIST_H
#define IPRO_OP_LIST_H

#define IPRO_OP_LIST(X)                                                                            \
  X(CONV, "Conv")                                                                                  \
  X(CONV_TRANSPOSE, "ConvTranspose")                                                               \
  X(BATCH_NORMALIZATION, "BatchNormalization")                                                     \
  X(RELU, "Relu")                                                                                  \
  X(LEAKY_RELU, "LeakyRelu")                                                                       \
  X(SIGMOID, "Sigmoid")                                                                            \
  X(TANH, "Tanh")                                                                                  \
  X(CLIP, "Clip")                                                                                  \
  X(HARD_SIGMOID, "HardSigmoid")                                                                   \
  X(HARD_SWISH, "HardSwish")                                                                       \
  X(SOFTMAX, "Softmax")                                                                            \
  X(LOG_SOFTMAX, "LogSoftmax")                                                                     \
  X(ADD, "Add")                                                                                    \
  X(SUB, "Sub")                                                                                    \
  X(MUL, "Mul")                                                                                    \
  X(DIV, "Div")                                                                                    \
  X(SUM, "Sum")                                                                                    \
  X(MAX_POOL, "MaxPool")                                                                           \
  X(AVERAGE_POOL, "AveragePool")                                                                   \
  X(GLOBAL_AVERAGE_POOL, "GlobalAveragePool")                                                      \
  X(GLOBAL_MAX_POOL, "GlobalMaxPool")                                                              \
  X(GEMM, "Gemm")                                                                                  \
  X(MAT_MUL, "MatMul")                                                                             \
  X(FLATTEN, "Flatten")                                                                            \
  X(RESHAPE, "Reshape")                                                                            \
  X(TRANSPOSE, "Transpose")                                                                        \
  X(CONCAT, "Concat")                                                                              \
  X(IDENTITY, "Identity")                                                                          \
  X(DROPOUT, "Dropout")                                                                            \
  X(PAD, "Pad")                                                                                    \
  X(RESIZE, "Resize")                                                                              \
  X(REDUCE_MEAN, "ReduceMean")                                                                     \
  X(SQUEEZE, "Squeeze")                                                                            \
  X(UNSQUEEZE, "Unsqueeze")                                                                        \
  X(SHAPE, "Shape")                                                                                \
  X(GATHER, "Gather")                                                                              \
  X(CONSTANT, "Constant")                                                                          \
  X(SOFTMAX_CROSS_ENTROPY_LOSS, "SoftmaxCrossEntropyLoss")                                         \
  X(NEGATIVE_LOG_LIKELIHOOD_LOSS, "NegativeLogLikelihoodLoss")                                     \
  X(EXPAND, "Expand")                                                                              \
  X(CAST_LIKE, "CastLike")                                                                         \
  X(CAST, "Cast")                                                                                  \
  X(GELU, "Gelu")                                                                                  \
  X(LAYER_NORMALIZATION, "LayerNormalization")                                                     \
  X(SQRT, "Sqrt")                                                                                  \
  X(SLICE_ONNX, "Slice")                                                                           \
  X(CONSTANT_OF_SHAPE, "ConstantOfShape")                                                          \
  X(RANDOM_UNIFORM_LIKE, "RandomUniformLike")                                                      \
  X(LESS, "Less")                                                                                  \
  X(GREATER, "Greater")                                                                            \
  X(SPLIT, "Split")                                                                                \
  X(INSTANCE_NORMALIZATION, "InstanceNormalization")                                               \
  X(RANGE, "Range")                                                                                \
  X(EQUAL, "Equal")                                                                                \
  X(WHERE, "Where")                                                                                \
  X(MOD, "Mod")                                                                                    \
  X(POW, "Pow")                                                                                    \
  X(SCATTER_ND, "ScatterND")                                                                       \
  X(NOT, "Not")                                                                                    \
  X(MAX, "Max")                                                                                    \
  X(MIN, "Min")                                                                                    \
  X(GATHER_ND, "GatherND")                                                                         \
  X(ERF, "Erf")                                                                                    \
  X(RECIPROCAL, "Reciprocal")                                                                      \
  X(ABS, "Abs")                                                                                    \
  X(NEG, "Neg")                                                                                    \
  X(FLOOR, "Floor")                                                                                \
  X(CEIL, "Ceil")                                                                                  \
  X(SIGN, "Sign")                                                                                  \
  X(GREATER_OR_EQUAL, "GreaterOrEqual")                                                            \
  X(LESS_OR_EQUAL, "LessOrEqual")                                                                  \
  X(CUM_SUM, "CumSum")                                                                             \
  X(SIN, "Sin")                                                                                    \
  X(COS, "Cos")                                                                                    \
  X(REDUCE_SUM, "ReduceSum")                                                                       \
  X(REDUCE_L2, "ReduceL2")                                                                         \
  X(REDUCE_MAX, "ReduceMax")                                                                       \
  X(REDUCE_MIN, "ReduceMin")                                                                       \
  X(REDUCE_L1, "ReduceL1")                                                                         \
  X(REDUCE_SUM_SQUARE, "ReduceSumSquare")                                                          \
  X(REDUCE_LOG_SUM, "ReduceLogSum")                                                                \
  X(REDUCE_LOG_SUM_EXP, "ReduceLogSumExp")                                                         \
  X(REDUCE_PROD, "ReduceProd")                                                                     \
  X(EXP, "Exp")                                                                                    \
  X(LOG, "Log")                                                                                    \
  X(SOFTPLUS, "Softplus")                                                                          \
  X(ELU, "Elu")                                                                                    \
  X(SELU, "Selu")                                                                                  \
  X(CELU, "Celu")                                                                                  \
  X(MISH, "Mish")                                                                                  \
  X(SOFTSIGN, "Softsign")                                                                          \
  X(PRELU, "PRelu")                                                                                \
  X(TILE, "Tile")                                                                                  \
  X(SCATTER_ELEMENTS, "ScatterElements")                                                           \
  X(GATHER_ELEMENTS, "GatherElements")                                                             \
  X(EINSUM, "Einsum")                                                                              \
  X(LSTM, "LSTM")                                                                                  \
  X(GRU, "GRU")                                                                                    \
  X(RNN, "RNN")                                                                                    \
  X(COL2IM, "Col2Im")

/* Ops that only the compiler creates: the backward pass, losses of the training program and
 * optimizer updates (codegen/autodiff.c). Their names carry the "ipro." prefix and the loader
 * never accepts them from a file. Their inputs, outputs and attributes are specified in
 * codegen/internal_ops.md. */
#define IPRO_INTERNAL_OP_LIST(X)                                                                   \
  X(CONV_GRAD_INPUT, "ipro.ConvGradInput")                                                         \
  X(CONV_GRAD_WEIGHT, "ipro.ConvGradWeight")                                                       \
  X(BATCH_NORM_GRAD, "ipro.BatchNormGrad")                                                         \
  X(UNARY_GRAD, "ipro.UnaryGrad")                                                                  \
  X(REDUCE_TO_SHAPE, "ipro.ReduceToShape")                                                         \
  X(MAX_POOL_GRAD, "ipro.MaxPoolGrad")                                                             \
  X(AVERAGE_POOL_GRAD, "ipro.AveragePoolGrad")                                                     \
  X(GLOBAL_POOL_GRAD, "ipro.GlobalPoolGrad")                                                       \
  X(SLICE, "ipro.Slice")                                                                           \
  X(DROPOUT_GRAD, "ipro.DropoutGrad")                                                              \
  X(RESIZE_GRAD, "ipro.ResizeGrad")                                                                \
  X(REDUCE_MEAN_GRAD, "ipro.ReduceMeanGrad")                                                       \
  X(REDUCE_EXTREMUM_GRAD, "ipro.ReduceExtremumGrad")                                               \
  X(REDUCE_PROD_GRAD, "ipro.ReduceProdGrad")                                                       \
  X(GATHER_ELEMENTS_GRAD, "ipro.GatherElementsGrad")                                               \
  X(RECURRENT_GRAD, "ipro.RecurrentGrad")                                                          \
  X(COL2IM_GRAD, "ipro.Col2ImGrad")                                                                \
  X(SOFTMAX_GRAD, "ipro.SoftmaxGrad")                                                              \
  X(SOFTMAX_CROSS_ENTROPY_GRAD, "ipro.SoftmaxCrossEntropyGrad")                                    \
  X(SGD_UPDATE, "ipro.SgdUpdate")                                                                  \
  X(ADAM_UPDATE, "ipro.AdamUpdate")                                                                \
  X(BINARY_CROSS_ENTROPY, "ipro.BinaryCrossEntropy")                                               \
  X(BINARY_CROSS_ENTROPY_GRAD, "ipro.BinaryCrossEntropyGrad")                                      \
  X(SUP_CON_LOSS, "ipro.SupConLoss")                                                               \
  X(SUP_CON_GRAD, "ipro.SupConGrad")                                                               \
  X(LAYER_NORM_GRAD, "ipro.LayerNormGrad")

#endif
