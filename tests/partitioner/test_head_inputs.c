/* What the heads read at a cut that is not [N, C, H, W]:
 * - a feature map laid out [N, H, W, C]: the Swin Transformer's stages (models/
 *   swin_tiny_fmnist.onnx, torchvision's SwinTransformer with 16 features on 7 × 7 tokens after
 *   its patch embedding, export_dynamo.py) keep their features on the last axis. At the cut after
 *   the first stage's second block the heads read the map transposed to [N, C, H, W]: their first
 *   convolutions take the 16 features as channels, not the 7 rows. ResNet-8's feature maps are
 *   [N, C, H, W] and are read as they are;
 * - a token sequence [N, T, D]: the tiny ViT's encoder layer (models/vit_tiny_fmnist.onnx, 17
 *   tokens of 16 features) is a cut point now, and its heads read the mean of the tokens, a
 *   feature vector of 16: the classifier's and the decoder's first linear layers take 16 inputs,
 *   not 17. */
#include <stdio.h>
#include <string.h>

#include "codegen/training_graph.h"
#include "partitioner/infopro_heads.h"
#include "support/bundled_models.h"
#include "support/check.h"

#define BATCH 4

/* The second dimension (input channels) of the weight named name, or -1. */
static int64_t input_channels(const ipro_graph *graph, const char *name) {
  int t = ipro_graph_find_tensor(graph, name);
  return t < 0 || graph->tensors[t].shape.rank != 4 ? -1 : graph->tensors[t].shape.dims[1];
}

static void check_cut(const char *model, const char *cut_name, bool channels_last,
                      int64_t channels) {
  char path[1024];
  ipro_test_path(path, sizeof path, model);
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(path, BATCH, &network, &err), &err);
  if (!network) return;
  int cut = ipro_graph_find_tensor(network, cut_name);
  CHECK_MSG(cut >= 0, "%s: no tensor '%s'", model, cut_name);
  if (cut < 0) {
    ipro_graph_free(network);
    return;
  }
  CHECK_MSG(ipro_heads_cut_is_channels_last(network, cut) == channels_last,
            "%s: '%s' should %sbe channels-last", model, cut_name, channels_last ? "" : "not ");
  ipro_local_settings settings = ipro_test_local_settings(network, BATCH);
  settings.K = 2;
  ipro_graph *module = NULL;
  ipro_training_graph training;
  CHECK_OK(ipro_module_program_build(network, -1, cut, 0, &settings, &module, &training, &err),
           &err);
  if (module) {
    CHECK_MSG(input_channels(module, "infopro1/head/conv1.weight") == channels &&
                  input_channels(module, "infopro1/decoder/conv1.weight") == channels,
              "%s: the heads' first convolutions take %lld and %lld channels, not %lld", model,
              (long long)input_channels(module, "infopro1/head/conv1.weight"),
              (long long)input_channels(module, "infopro1/decoder/conv1.weight"),
              (long long)channels);
    bool transposed = false;
    for (int n = 0; n < module->n_nodes; n++)
      transposed =
          transposed || strcmp(module->nodes[n].name, "infopro1/channels_first/Transpose") == 0;
    CHECK(transposed == channels_last);
    printf("%s at '%s': %s, heads on %lld channels\n", model, cut_name,
           channels_last ? "[N, H, W, C]" : "[N, C, H, W]", (long long)channels);
    ipro_training_graph_release(&training);
    ipro_graph_free(module);
  }
  ipro_graph_free(network);
}

/* The second dimension (inputs) of the linear layer's weight named name, or -1. */
static int64_t linear_inputs(const ipro_graph *graph, const char *name) {
  int t = ipro_graph_find_tensor(graph, name);
  return t < 0 || graph->tensors[t].shape.rank != 2 ? -1 : graph->tensors[t].shape.dims[1];
}

static void check_tokens(void) {
  char path[1024];
  ipro_test_path(path, sizeof path, "models/vit_tiny_fmnist.onnx");
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(path, BATCH, &network, &err), &err);
  if (!network) return;
  int cut = ipro_graph_find_tensor(network, "/encoder/layers/encoder_layer_0/Add_output_0");
  CHECK(cut >= 0 && network->tensors[cut].shape.rank == 3);
  int kept = cut < 0 ? 0 : ipro_heads_attachable_cuts(network, &cut, 1);
  CHECK_MSG(kept == 1, "the token sequence is no cut point for the heads");
  ipro_local_settings settings = ipro_test_local_settings(network, BATCH);
  settings.K = 2;
  ipro_graph *module = NULL;
  ipro_training_graph training;
  if (kept == 1)
    CHECK_OK(ipro_module_program_build(network, -1, cut, 0, &settings, &module, &training, &err),
             &err);
  if (module) {
    CHECK_MSG(linear_inputs(module, "infopro1/head/fc1.weight") == 16 &&
                  linear_inputs(module, "infopro1/decoder/fc.weight") == 16,
              "the heads' first linear layers take %lld and %lld inputs, not 16",
              (long long)linear_inputs(module, "infopro1/head/fc1.weight"),
              (long long)linear_inputs(module, "infopro1/decoder/fc.weight"));
    bool pooled = false;
    for (int n = 0; n < module->n_nodes; n++)
      pooled = pooled || strcmp(module->nodes[n].name, "infopro1/tokens/ReduceMean") == 0;
    CHECK(pooled);
    printf("vit_tiny_fmnist at its encoder layer: [N, T, D], heads on the mean of 17 tokens\n");
    ipro_training_graph_release(&training);
    ipro_graph_free(module);
  }
  ipro_graph_free(network);
}

/* A recurrent layer's steps [T, N, D] are no cut for the heads, also at a batch of T, where their
 * first axis has the batch's extent: models/recurrent_cnn_dynamo_fmnist.onnx's LSTM reads the
 * 14 rows as [14, N, 112] (val_19, torch.export's transpose of the batch-first [N, 14, 112],
 * _unsafe_view, which is a cut at any batch). The shapes are the network's own at the batch
 * after the check. */
static void check_steps_at_batch(int64_t batch) {
  char path[1024];
  ipro_test_path(path, sizeof path, "models/recurrent_cnn_dynamo_fmnist.onnx");
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(path, batch, &network, &err), &err);
  if (!network) return;
  int steps = ipro_graph_find_tensor(network, "val_19");
  int rows = ipro_graph_find_tensor(network, "_unsafe_view");
  CHECK(steps >= 0 && rows >= 0);
  if (steps < 0 || rows < 0) {
    ipro_graph_free(network);
    return;
  }
  int64_t want_steps[3] = {14, batch, 112}, want_rows[3] = {batch, 14, 112};
  for (int k = 0; k < 3; k++) {
    CHECK_EQ_INT(network->tensors[steps].shape.dims[k], want_steps[k]);
    CHECK_EQ_INT(network->tensors[rows].shape.dims[k], want_rows[k]);
  }
  int cuts[2] = {steps, rows};
  int kept = ipro_heads_attachable_cuts(network, cuts, 2);
  CHECK_MSG(kept == 1 && cuts[0] == rows,
            "at batch %lld: %d cuts kept (the batch-first rows alone expected)", (long long)batch,
            kept);
  CHECK_EQ_INT(network->batch, batch);
  for (int k = 0; k < 3; k++)
    CHECK_EQ_INT(network->tensors[steps].shape.dims[k], want_steps[k]);
  ipro_graph_free(network);
}

int main(void) {
  check_tokens();
  check_steps_at_batch(14);
  check_steps_at_batch(5);
  check_cut("models/swin_tiny_fmnist.onnx", "/features/features.1/features.1.1/Add_output_0", true,
            16);
  check_cut("models/resnet8_fmnist.onnx", "/layer1/layer1.0/Relu_1_output_0", false, 16);
  return ipro_test_finish();
}
