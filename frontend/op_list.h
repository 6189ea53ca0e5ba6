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
  X(CONSTANT, "Constant")

#endif
