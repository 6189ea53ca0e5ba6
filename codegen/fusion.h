/* Fusion of a training program's BatchNormalization, and of its Add, with the ReLU after it
 * (codegen/fusion.c).
 *
 * In a ResNet every convolution but the block's last is followed by BatchNormalization and ReLU;
 * run apart, the forward writes the normalised tensor and reads it back to clip it, and the
 * backward reads the ReLU's output and gradient to write the masked gradient the normalisation's
 * gradient then reads: two passes over the tensor each way that a fused kernel (oneDNN's
 * normalisation with dnnl_fuse_norm_relu) does not make. The pass rewrites, in a training
 * program built by codegen/training_graph.h:
 *
 *   Y = BatchNormalization(X, ...)  Z = Relu(Y)   ...   dY = ipro.UnaryGrad(dZ, Z)
 *   dX, dScale, dBias = ipro.BatchNormGrad(dY, X, scale, mean, inv_std)
 *
 * into one BatchNormalization with fused_relu = 1 whose output 0 is Z and whose output 5 is the
 * ReLU's mask (bool, X's shape: where Z is positive, or the backend's own form of that,
 * codegen/internal_ops.md), and one ipro.BatchNormGrad with fused_relu = 1 that takes dZ and the
 * mask (input 5) instead of dY. The ReLU and its gradient are removed; Y and dY are no longer
 * written by anything. Only where the whole pattern is present: Y read by that ReLU alone, dY by
 * that gradient alone, neither a graph output.
 *
 * A residual block ends in Y = Add(A, B), Z = Relu(Y): the Add becomes one with fused_relu = 1
 * whose output is Z (a post-op in oneDNN's binary primitive), and the Relu is removed, where Y is
 * read by that ReLU alone and is no graph output. The backward is unchanged: the ReLU's
 * gradient reads Z, and an Add's gradient reads only its output's gradient.
 *
 * Where a normalisation's Y is read only by such a fused Add, Z = Relu(Y + R), the normalisation
 * takes R as input 6 (index 5) and writes Z itself (fused_add_relu = 1): the normalised tensor is
 * never written, and its kernel reads X and R and writes Z in one pass. The fused node stays in
 * the normalisation's place where R is computed before it, and takes the Add's otherwise (in a
 * ResNet block with a downsampling shortcut R is computed after the normalisation); the Add is
 * removed. The backward is unchanged (it reads Z and the saved
 * statistics, never Y). Only where R has Y's shape and type.
 *
 * In the backward, the gradient of a tensor two nodes read is the Sum of two terms, and where a
 * ReLU wrote that tensor its gradient reads the Sum alone: dS = Sum(G1, G2), dX =
 * ipro.UnaryGrad(dS, Z) becomes dX = ipro.UnaryGrad(G1, Z, G2), whose dY is G1 + G2 (one
 * generated kernel on the CPU), and the Sum is removed; only for two terms of dS's shape. */
#ifndef IPRO_FUSION_H
#define IPRO_FUSION_H

#include "ir/graph.h"

/* Fuses every BatchNormalization + Relu, Add + Relu and Sum + ReLU gradient pair of graph as
 * above; *fused (may be NULL) receives how many of each. Shapes must be inferred; the caller infers
 * them again afterwards (the masks are new). */
typedef struct {
  int batch_norm_relu, add_relu, sum_relu_grad, batch_norm_add_relu;
} ipro_fused_counts;
ipro_status ipro_fuse_relu(ipro_graph *graph, ipro_fused_counts *fused, ipro_error *err);

/* SiLU (Swish), Y = X · Sigmoid(X) as exporters write it: S = Sigmoid(X), Y = Mul(X, S) or
 * Mul(S, X), S read by that Mul alone and no graph output. In a forward graph, before autodiff:
 * the Sigmoid takes the Mul's place and output, with times_input = 1 (codegen/internal_ops.md),
 * and the Mul goes, so that the backward is one ipro.UnaryGrad through X (σ + X·σ·(1 − σ))
 * instead of the Mul's two products, the Sigmoid's gradient and their Sum: oneDNN runs both as
 * its swish. Shapes are unchanged. */
ipro_status ipro_fuse_silu(ipro_graph *graph, ipro_error *err);

/* GELU as exporters before opset 20 spell it out: Y = Mul(Mul(X, Add(Erf(Div(X, √2)), 1)), 0.5)
 * (each product and the sum in either order, Div(X, √2) also as Mul(X, 1/√2)), every
 * intermediate read by the next node alone and no graph output. In a forward graph, before
 * autodiff: the Div becomes one Gelu (approximate "none") writing Y, and the other four nodes go,
 * so that oneDNN runs the forward and the backward (gelu_erf) instead of Erf and its gradient
 * on the reference kernels and four element-wise products with their gradients. The number
 * fused into *fused (may be NULL). */
ipro_status ipro_fuse_gelu(ipro_graph *graph, int *fused, ipro_error *err);

/* A linear layer as the TorchScript exporter writes it without constant folding: Y = MatMul(A,
 * T), T = Transpose(W) of a 2-D W [M, K] (PyTorch's weight layout; perm absent or [1, 0]), T read
 * by that MatMul alone and no graph output. Run as written, each step copies W transposed
 * (ViT-B/16: 9.4 MB for each MLP layer, 1.8 ms) and the backward transposes T's gradient back.
 * In a forward graph, before autodiff: the MatMul becomes Y = Gemm(A, W, transB = 1) where A is a
 * matrix, and Reshape(Gemm(Reshape(A, [rows, K]), W, transB = 1), Y's shape) where A has more
 * axes (the Reshapes are views of the arena, ir/forward_program.h), and the Transpose goes: W is
 * read through strides, and Gemm's gradient gives dW itself. Shapes of the new tensors are set;
 * *fused (may be NULL) receives how many. */
ipro_status ipro_fuse_transposed_weights(ipro_graph *graph, int *fused, ipro_error *err);

#endif
