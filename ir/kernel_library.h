/* The generated kernels the training programs use, each described once for both targets
 * (kernel_generator.h). Inputs, outputs and params are listed per kernel in kernel_library.c; each
 * matches the reference kernel (runtime/reference/) or the chain of reference ops it replaces,
 * with the same operation order where the reference computes in double. */
#ifndef IPRO_KERNEL_LIBRARY_H
#define IPRO_KERNEL_LIBRARY_H

#include "ir/kernel_generator.h"

typedef enum {
  IPRO_GENERATED_RELU_FORWARD,
  IPRO_GENERATED_RELU_BACKWARD,
  IPRO_GENERATED_SIGMOID_FORWARD,
  IPRO_GENERATED_SIGMOID_BACKWARD,
  IPRO_GENERATED_ADD_RELU,
  IPRO_GENERATED_BN_APPLY_RELU,
  IPRO_GENERATED_BN_APPLY_RELU_CHANNEL,
  IPRO_GENERATED_BCE_GRAD,
  IPRO_GENERATED_BCE_LOSS_TERMS,
  IPRO_GENERATED_DROPOUT_GRAD,
  IPRO_GENERATED_SGD_UPDATE,
  IPRO_GENERATED_ADAM_UPDATE,
  /* building blocks of the CUDA backend (runtime/cuda/) */
  IPRO_GENERATED_CLIP_FORWARD,
  IPRO_GENERATED_CLIP_BACKWARD,
  IPRO_GENERATED_LABELS_TO_FLOAT,
  IPRO_GENERATED_EQUAL_MASK,
  IPRO_GENERATED_NORMALIZE_ROWS,
  IPRO_GENERATED_RATIO_FLOOR_ONE,
  IPRO_GENERATED_SUP_CON_SIMILARITY_GRAD,
  IPRO_GENERATED_SUP_CON_FEATURES_GRAD,
  IPRO_GENERATED_ADAM_BIAS_CORRECTIONS,
  /* Dropout in training form (the CUDA backend and the oneDNN backend's Dropout) */
  IPRO_GENERATED_DROPOUT_FORWARD,
  /* the CUDA backend's element-wise ops beyond cuDNN's */
  IPRO_GENERATED_LEAKY_RELU_FORWARD,
  IPRO_GENERATED_LEAKY_RELU_BACKWARD,
  IPRO_GENERATED_HARD_SIGMOID_FORWARD,
  IPRO_GENERATED_HARD_SIGMOID_BACKWARD,
  IPRO_GENERATED_HARD_SWISH_FORWARD,
  IPRO_GENERATED_HARD_SWISH_BACKWARD,
  IPRO_GENERATED_TANH_BACKWARD,
  IPRO_GENERATED_DIV,
  IPRO_GENERATED_DIV_CHANNEL_DIVISOR,
  IPRO_GENERATED_DIV_CHANNEL_DIVIDEND,
  /* a ReLU's gradient fused with the Sum of the two gradients before it */
  IPRO_GENERATED_RELU_BACKWARD_SUM,
  /* the CUDA backend's Sqrt and Reciprocal (RMSNorm as torch.export writes it) */
  IPRO_GENERATED_SQRT_FORWARD,
  IPRO_GENERATED_SQRT_BACKWARD,
  IPRO_GENERATED_RECIPROCAL_FORWARD,
  IPRO_GENERATED_RECIPROCAL_BACKWARD,
  IPRO_GENERATED_COUNT
} ipro_generated_kernel;

/* Fills desc with the kernel's description; its name is the kernel's PTX entry. */
void ipro_kernel_library_describe(ipro_generated_kernel which, ipro_kernel_desc *desc);
/* Every kernel of the library, in ipro_generated_kernel order: what is compiled ahead of time
 * (`infopro compile`) and what the CUDA backend loads as one PTX module. */
void ipro_kernel_library_describe_all(ipro_kernel_desc descs[IPRO_GENERATED_COUNT]);

#endif
