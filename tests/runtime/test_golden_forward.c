/* The forward pass of every bundled model matches PyTorch: the logits that models/export_models.py
 * (and export_dynamo.py) computed with PyTorch in eval mode (BatchNorm on running statistics,
 * Dropout off) for a fixed input are reproduced within 1e-4 relative, on the oneDNN backend
 * (reference kernels where oneDNN has no primitive) and on the reference kernels alone. A logit
 * that is NaN or infinite fails (the comparison is checked on a copy of PyTorch's logits with one
 * NaN put in). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/executor.h"
#include "support/bundled_models.h"
#include "support/check.h"
#include "support/golden.h"

/* Three from PyTorch's torch.export-based exporter (models/export_dynamo.py): the
 * normalisations folded into the convolutions, kept in inference form, and LayerNormalization
 * with Gelu; the last two from its TorchScript exporter in inference mode, equal parameters
 * deduplicated into Identity copies, and the same with the copies restored; and the
 * torch.export-based exporter's default deduplication, two layers reading one weight; and a
 * tiny torchvision EfficientNet from both exporters in training form, whose stochastic depth and
 * dropout (RandomUniformLike, Less, Cast, Div) must keep every branch whole here; and torch.split
 * and torch.chunk from both exporters (Split, Slice of activations, and SplitToSequence read by
 * SequenceAt, which the loader makes a Split); and GroupNorm with InstanceNorm2d
 * (InstanceNormalization) from both (torch.export's unsqueezes the norms' scales along a Range,
 * which inference folds); and ConvNeXt's head from torch.export, whose as_strided is a Gather at
 * indices computed from Ranges; and a tiny torchvision ViT encoder from the TorchScript exporter,
 * whose shapes are computed with Equal, Where and Mod; and a causal attention head whose mask is a
 * buffer holding -inf above the diagonal (masked_attention_dynamo_fmnist); and a convolution's
 * features through Abs, Neg, Sign, Floor, Ceil and masks from GreaterOrEqual and LessOrEqual
 * (rounding_cnn_dynamo_fmnist); and an adaptive average pooling whose windows do not divide the
 * map, a GatherND at indices addressing 2 axes (adaptive_pool_cnn_dynamo_fmnist); and a Fourier
 * positional encoding from CumSum, Sin and Cos of a mask (fourier_position_cnn_dynamo_fmnist); and
 * F.normalize and torch.sum (ReduceL2, ReduceSum: normalized_cnn_dynamo_fmnist); and CBAM's
 * channel and spatial attention with torch.amax and torch.amin (ReduceMax, ReduceMin:
 * cbam_cnn_dynamo_fmnist); and the smooth activations (Elu, Selu, Celu, Softplus, Mish), Exp, Log
 * and the reductions ReduceLogSumExp, ReduceL1 and ReduceProd
 * (smooth_activations_cnn_dynamo_fmnist); and a bidirectional nn.LSTM, an nn.GRU and an nn.RNN
 * over rows of features, from both exporters (recurrent_cnn_fmnist: ONNX's LSTM, GRU and RNN with
 * activations ["Relu"]; recurrent_cnn_dynamo_fmnist: LSTM and GRU, the RNN unrolled). */
static const char *const models[] = {"resnet8_fmnist",
                                     "resnet32",
                                     "resnet110",
                                     "densenet_small",
                                     "mobilenetv2_small",
                                     "mlp_fmnist",
                                     "twin_linear_fmnist",
                                     "cnn_dynamo_fmnist",
                                     "cnn_dynamo_bn_fmnist",
                                     "mixer_dynamo_fmnist",
                                     "cnn_eval_fmnist",
                                     "cnn_eval_copies_fmnist",
                                     "mlp_shared_dynamo_fmnist",
                                     "effnet_tiny_fmnist",
                                     "effnet_tiny_dynamo_fmnist",
                                     "split_cnn_fmnist",
                                     "split_cnn_dynamo_fmnist",
                                     "split_cnn_sequence_fmnist",
                                     "group_norm_cnn_fmnist",
                                     "group_norm_cnn_dynamo_fmnist",
                                     "convnext_head_dynamo_fmnist",
                                     "vit_tiny_fmnist",
                                     "vit_tiny_opset14_fmnist",
                                     "swin_tiny_fmnist",
                                     "swin_tiny_dynamo_fmnist",
                                     "rms_norm_mixer_dynamo_fmnist",
                                     "rms_norm_mixer_dynamo_optimized_fmnist",
                                     "masked_attention_dynamo_fmnist",
                                     "rounding_cnn_dynamo_fmnist",
                                     "adaptive_pool_cnn_dynamo_fmnist",
                                     "fourier_position_cnn_dynamo_fmnist",
                                     "normalized_cnn_dynamo_fmnist",
                                     "cbam_cnn_dynamo_fmnist",
                                     "smooth_activations_cnn_dynamo_fmnist",
                                     "recurrent_cnn_fmnist",
                                     "recurrent_cnn_dynamo_fmnist"};

/* How far the worst logit is beyond its tolerance (<= 0: all within), and where; a NaN or
 * infinite logit is infinitely far. */
static double worst_excess(const float *output, const float *expected, int64_t count,
                           int64_t *worst_at) {
  double worst = 0;
  *worst_at = 0;
  for (int64_t i = 0; i < count; i++) {
    double excess =
        fabs((double)output[i] - expected[i]) - (1e-4 * fabs((double)expected[i]) + 1e-6);
    if (!isfinite(excess)) excess = INFINITY;
    if (excess > worst) worst = excess, *worst_at = i;
  }
  return worst;
}

static void check_model(const char *name, bool reference_only) {
  char model_path[1024];
  ipro_golden_file golden;
  const ipro_golden_tensor *input, *logits;
  if (!ipro_golden_load_forward(name, model_path, sizeof model_path, &golden, &input, &logits))
    return;
  ipro_error err = {{0}};

  ipro_graph *graph = ipro_test_open_inference_graph(model_path, input->dims[0]);
  if (!graph) return;

  ipro_backend *backend = NULL, *fallback = NULL;
  CHECK_OK(ipro_backend_create_reference(&fallback, &err), &err);
  if (reference_only) {
    backend = fallback;
    fallback = NULL;
  } else {
    CHECK_OK(ipro_backend_create_onednn(&backend, &err), &err);
  }
  ipro_executor *executor = NULL;
  CHECK_OK(ipro_executor_create(graph, backend, fallback, &executor, &err), &err);
  float *output = calloc((size_t)logits->count, sizeof(float));
  const void *inputs[1] = {input->data};
  void *outputs[1] = {output};
  if (executor) CHECK_OK(ipro_executor_run(executor, inputs, outputs, &err), &err);
  int64_t worst_at = 0;
  double worst = worst_excess(output, logits->data, logits->count, &worst_at);
  CHECK_MSG(worst <= 0, "%s (%s): logit %lld is %g, PyTorch says %g", name,
            reference_only ? "reference" : "onednn", (long long)worst_at, output[worst_at],
            logits->data[worst_at]);
  if (executor && !reference_only)
    CHECK_MSG(ipro_executor_primary_steps(executor) > 0, "%s: nothing ran on oneDNN", name);
  /* The comparison itself: PyTorch's logits pass it, and fail it with one NaN or infinity. */
  memcpy(output, logits->data, sizeof(float) * (size_t)logits->count);
  CHECK(worst_excess(output, logits->data, logits->count, &worst_at) <= 0);
  output[logits->count / 2] = NAN;
  CHECK(worst_excess(output, logits->data, logits->count, &worst_at) > 0);
  output[logits->count / 2] = INFINITY;
  CHECK(worst_excess(output, logits->data, logits->count, &worst_at) > 0);
  free(output);
  ipro_executor_free(executor);
  if (backend) backend->destroy(backend);
  if (fallback) fallback->destroy(fallback);
  ipro_graph_free(graph);
  ipro_golden_release(&golden);
}

int main(void) {
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    check_model(models[m], false);
    check_model(models[m], true);
  }
  return ipro_test_finish();
}
