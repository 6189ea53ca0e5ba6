/* Where the README says the arena planner reaches its lower bound, it does: the end-to-end
 * training program (forward, loss, backward, SGD update) of every bundled model at batch 128,
 * built and planned on the oneDNN backend as the trainer would (nothing is allocated), has an
 * arena equal to the most bytes live at one step, which no placement can beat. The lower bound
 * is the planner's own report, recomputed independently in codegen/test_memory_plan.c.
 *
 * One stated exception: since each ResNet block's last normalisation was joined with its Add and
 * ReLU (codegen/fusion.h, session 12), best fit in every order leaves ResNet-8's arena 50,176
 * bytes (0.07%) above its bound, one bit-form ReLU mask of [128, 64, 7, 7] that finds no gap (its
 * bound did not move; before the fusion the arena equalled it). ResNet-8 is allowed 64 KiB, and
 * so are the three exports of PyTorch's torch.export-based exporter (models/export_dynamo.py, added
 * in session 13: cnn_dynamo_fmnist, its normalisations folded into the convolutions, 32,768 bytes
 * (0.08%) above its bound; cnn_dynamo_bn_fmnist 3,456 bytes; mixer_dynamo_fmnist 18,432 bytes,
 * with oneDNN's Gelu), and the tiny EfficientNet of both exporters (session 14:
 * effnet_tiny_fmnist and effnet_tiny_dynamo_fmnist, whose stochastic depth's [N, 1, 1, 1]
 * tensors and squeeze-and-excitation vectors, between activations fused into SiLUs, leave best
 * fit 699,264 and 802,304 bytes (0.22%, 0.26%) above their bound) 1 MiB; split_cnn_dynamo_fmnist
 * and split_cnn_sequence_fmnist (torch.split and torch.chunk from torch.export, with and without
 * its optimisation: the same graph once loaded; half-size pieces, their Concat and Slice gradients
 * among full-size tensors, leave holes best fit cannot fill: 3,186,688 bytes, 9.9%, above the
 * bound) and their TorchScript twin split_cnn_fmnist (one Split and two Slices: 8,192 bytes above
 * since its Slices and Pads run on oneDNN) 4 MiB; the GroupNorm CNNs of both exporters (session
 * 15: since InstanceNormalization and its gradient run on oneDNN, the arena is 6,422,528 bytes,
 * 14%, above its bound, exactly one [128, 16, 28, 28] activation that no placement order tried
 * fits; on the reference kernels it was at the bound, for a step 2.9 times as long; not
 * investigated further) 8 MiB; the tiny ViT (session 15: 64 bytes, one alignment step, above)
 * and the tiny Swin Transformer (session 16: 512 bytes, 0.002%, among its windows' many small
 * tensors) 64 KiB; the tiny ViT's opset-14 export (session 16: 69,632 bytes, 1.5%, above,
 * among its spelled-out LayerNorms' [N, T, 1] statistics and its GELU's Erf on the reference
 * kernels) 128 KiB; the masked attention model (session 31, masked_attention_dynamo_fmnist: its
 * arena is 229,376 bytes, 8.3%, above its bound, exactly one [128, 28, 16] token tensor that no
 * placement order tried fits among its [128, 28, 28] scores; not investigated) and the CBAM
 * attention model (session 34, cbam_cnn_dynamo_fmnist: 217,088 bytes, 2.7%, above, among its
 * attention weights' [N, 8, 1, 1] and [N, 1, 14, 14] tensors and the reductions' on the reference
 * kernels; not investigated) 256 KiB; the others nothing.
 * On a CPU with AVX2 and not AVX-512 (a 2-core AMD EPYC, session 18; activations carried in
 * blocks of 8 channels) every model reaches its bound or stays within the allowances above. With
 * every tensor plain there, each convolution reorders its operands in a workspace of its own
 * (12.8 MB single-step buffers between the saved activations): the three orders the planner
 * tried until then left most models 7% to 14% above; its first-step, last-step and
 * greedy-by-breadth orders (ir/memory_plan.c) brought all but the small CNNs within the
 * allowances. Whether they lower the AVX-512 exceptions above has not been measured.
 * (The MLP, once
 * 65,280 bytes above its bound from the reference fallback's temporaries, and DenseNet-small,
 * once 3.3% above from its padded channel blocks, reach theirs.) */
#include <stdio.h>
#include <string.h>

#include "partitioner/module_program.h"
#include "runtime/executor.h"
#include "support/bundled_models.h"
#include "support/check.h"

#define BATCH 128

/* Bytes a model's arena may lie above its lower bound (the exceptions above). */
static size_t allowance(const char *name) {
  if (strncmp(name, "effnet_tiny", 11) == 0) return 1 << 20;
  if (strncmp(name, "split_cnn", 9) == 0) return 4 << 20;
  if (strncmp(name, "group_norm_cnn", 14) == 0) return 8 << 20;
  if (strcmp(name, "vit_tiny_opset14_fmnist") == 0) return 131072;
  if (strcmp(name, "masked_attention_dynamo_fmnist") == 0 ||
      strcmp(name, "cbam_cnn_dynamo_fmnist") == 0)
    return 262144;
  if (strcmp(name, "vit_tiny_fmnist") == 0 || strcmp(name, "swin_tiny_fmnist") == 0) return 65536;
  if (strcmp(name, "resnet8_fmnist") == 0 || strstr(name, "_dynamo_")) return 65536;
  return 0;
}

static void check_model(const char *path, const char *name, void *context) {
  int *checked = context;
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(path, BATCH, &network, &err), &err);
  if (!network) return;
  ipro_local_settings settings = ipro_test_local_settings(network, BATCH);
  settings.K = 1;
  ipro_graph *graph = NULL;
  ipro_training_graph training;
  ipro_backend *backend = NULL, *fallback = NULL;
  CHECK_OK(ipro_backend_create_for(IPRO_DEVICE_CPU, false, &backend, &fallback, &err), &err);
  ipro_status built =
      ipro_module_program_build(network, -1, -1, 0, &settings, &graph, &training, &err);
  CHECK_OK(built, &err);
  ipro_executor_options plan_only = {
      .external_arena = true, .external_inputs = true, .plan_only = true};
  ipro_executor *executor = NULL;
  if (built == IPRO_OK && backend)
    CHECK_OK(ipro_executor_create_with(graph, backend, fallback, &plan_only, &executor, &err),
             &err);
  if (executor) {
    const ipro_forward_program *p = ipro_executor_program(executor);
    printf("%s: arena %zu bytes, lower bound %zu\n", name, p->arena_bytes,
           p->arena_lower_bound_bytes);
    CHECK_MSG(p->arena_bytes >= p->arena_lower_bound_bytes &&
                  p->arena_bytes <= p->arena_lower_bound_bytes + allowance(name),
              "%s at batch %d: arena %zu bytes, lower bound %zu (+%zu allowed)", name, BATCH,
              p->arena_bytes, p->arena_lower_bound_bytes, allowance(name));
    (*checked)++;
  }
  ipro_executor_free(executor);
  if (built == IPRO_OK) ipro_training_graph_release(&training);
  ipro_graph_free(graph);
  if (backend) backend->destroy(backend);
  if (fallback) fallback->destroy(fallback);
  ipro_graph_free(network);
}

int main(void) {
  int checked = 0;
  int models = ipro_test_for_each_model(NULL, check_model, &checked);
  CHECK_MSG(models > 0 && checked == models, "%d of %d bundled models planned", checked, models);
  return ipro_test_finish();
}
