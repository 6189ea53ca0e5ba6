/* torch.export's graph signature decides which scalar initializers are parameters
 * (frontend/onnx_graph_signature.c). models/rms_norm_mixer_dynamo_optimized_fmnist.onnx is
 * PyTorch's export of a network whose parameters are its convolution, linear layers and RMSNorm
 * weights (models/export_dynamo.py, RMSNormMixer); the exporter's default optimisation left the
 * norms' epsilons (val_10, val_17) and Pow's exponent 2 (val_6) as rank-0 initializers and the
 * linear layer's weight as a transposed copy (val_12). Loaded:
 *  - the three scalars are constants (not trained), every tensor PyTorch names a parameter and
 *    the transposed copy are initializers (trained);
 *  - the same file with the signature stripped (each value_info's metadata removed with
 *    protobuf-c) keeps every real initializer a parameter, the scalars included: without a
 *    signature nothing tells them apart (the TorchScript exporter writes constants as nodes);
 *  - models/masked_attention_dynamo_fmnist.onnx (MaskedAttention) has two buffers of rank 2
 *    PyTorch does not train, a position table and a causal mask holding -inf: constants; its
 *    parameters, a transposed copy (val_6) among them, initializers;
 *  - the signature also tells which BatchNormalizations the exporter folded away
 *    (folded_batch_norms below). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx_decode.h"
#include "support/bundled_models.h"
#include "support/check.h"
#include "support/command.h"

static const char *const scalars[] = {"val_6", "val_10", "val_17"};
static const char *const parameters[] = {"proj.weight", "norm.weight", "norm2.weight",
                                         "mix.bias",    "fc.weight",   "val_12"};

static ipro_tensor_kind kind_of(const ipro_graph *graph, const char *name) {
  int t = ipro_graph_find_tensor(graph, name);
  CHECK_MSG(t >= 0, "no tensor '%s'", name);
  return t >= 0 ? graph->tensors[t].kind : IPRO_TENSOR_ACTIVATION;
}

static ipro_graph *load_bundled(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/models/%s.onnx", ipro_test_source_dir(), name);
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  CHECK_OK(ipro_graph_load(path, &graph, &err), &err);
  return graph;
}

/* Each of names (count of them) is a tensor of graph of the kind given. */
static void check_kinds(const ipro_graph *graph, const char *const *names, size_t count,
                        ipro_tensor_kind kind, const char *what) {
  for (size_t i = 0; i < count; i++)
    CHECK_MSG(kind_of(graph, names[i]) == kind, "'%s' is not %s", names[i], what);
}

/* The model's bytes with every value_info's and input's unknown fields (the metadata) left out. */
static uint8_t *without_signature(const uint8_t *bytes, size_t size, size_t *packed_size) {
  Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, size, bytes);
  if (!proto) return NULL;
  Onnx__GraphProto *graph = proto->graph;
  size_t entries = graph->n_value_info + graph->n_input;
  unsigned *kept = calloc(entries + 1, sizeof *kept);
  uint8_t *packed = NULL;
  if (kept) {
    for (size_t i = 0; i < entries; i++) {
      Onnx__ValueInfoProto *info =
          i < graph->n_value_info ? graph->value_info[i] : graph->input[i - graph->n_value_info];
      kept[i] = info->base.n_unknown_fields;
      info->base.n_unknown_fields = 0;
    }
    *packed_size = onnx__model_proto__get_packed_size(proto);
    packed = malloc(*packed_size);
    if (packed) onnx__model_proto__pack(proto, packed);
    for (size_t i = 0; i < entries; i++) {
      Onnx__ValueInfoProto *info =
          i < graph->n_value_info ? graph->value_info[i] : graph->input[i - graph->n_value_info];
      info->base.n_unknown_fields = kept[i];
    }
  }
  free(kept);
  onnx__model_proto__free_unpacked(proto, NULL);
  return packed;
}

/* The buffers of masked_attention_dynamo_fmnist are constants and its parameters initializers. */
static void buffers_are_constants(void) {
  static const char *const buffers[] = {"embed.position", "attention.mask"};
  static const char *const weights[] = {"embed.proj.bias", "attention.q.bias", "fc.weight",
                                        "val_6"};
  ipro_graph *graph = load_bundled("masked_attention_dynamo_fmnist");
  if (!graph) return;
  check_kinds(graph, buffers, sizeof buffers / sizeof buffers[0], IPRO_TENSOR_CONSTANT,
              "a constant (a buffer in the signature)");
  check_kinds(graph, weights, sizeof weights / sizeof weights[0], IPRO_TENSOR_INITIALIZER,
              "a parameter");
  ipro_graph_free(graph);
}

/* models/cnn_dynamo_fmnist.onnx is the network of cnn_dynamo_bn_fmnist.onnx exported with
 * torch.export's default optimisation, which folded each BatchNormalization into its
 * convolution: the loader counts as many folded as the unfolded file has BatchNormalization
 * nodes, and names first a module whose running mean the unfolded file holds. The unfolded file,
 * a TorchScript export (no signature) and a torch.export file without BatchNormalization count
 * none. */
static void folded_batch_norms(void) {
  ipro_graph *folded = load_bundled("cnn_dynamo_fmnist"),
             *kept = load_bundled("cnn_dynamo_bn_fmnist");
  if (folded && kept) {
    int nodes = ipro_test_batch_norm_nodes("cnn_dynamo_bn_fmnist");
    CHECK_MSG(nodes > 0 && folded->folded_batch_norms == nodes,
              "%d BatchNormalizations counted folded; the unfolded file has %d",
              folded->folded_batch_norms, nodes);
    char mean[300];
    snprintf(mean, sizeof mean, "%s.running_mean", folded->folded_batch_norm);
    CHECK_MSG(ipro_graph_find_tensor(kept, mean) >= 0, "the first folded, '%s', has no '%s'",
              folded->folded_batch_norm, mean);
    CHECK_MSG(kept->folded_batch_norms == 0, "%d counted folded in the unfolded file",
              kept->folded_batch_norms);
  }
  ipro_graph_free(folded);
  ipro_graph_free(kept);
  static const char *const none[] = {"resnet8_fmnist", "masked_attention_dynamo_fmnist"};
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
    ipro_graph *graph = load_bundled(none[i]);
    CHECK_MSG(graph && graph->folded_batch_norms == 0, "%s: %d counted folded", none[i],
              graph ? graph->folded_batch_norms : -1);
    ipro_graph_free(graph);
  }
}

int main(void) {
  buffers_are_constants();
  folded_batch_norms();
  char path[1024];
  snprintf(path, sizeof path, "%s/models/rms_norm_mixer_dynamo_optimized_fmnist.onnx",
           ipro_test_source_dir());
  ipro_error err = {{0}};
  ipro_graph *graph = load_bundled("rms_norm_mixer_dynamo_optimized_fmnist");
  if (!graph) return ipro_test_finish();
  check_kinds(graph, scalars, sizeof scalars / sizeof scalars[0], IPRO_TENSOR_CONSTANT,
              "a constant (a scalar the signature does not list)");
  check_kinds(graph, parameters, sizeof parameters / sizeof parameters[0], IPRO_TENSOR_INITIALIZER,
              "a parameter");
  ipro_graph_free(graph);

  uint8_t *bytes = NULL, *stripped = NULL;
  size_t size = 0, stripped_size = 0;
  CHECK_OK(ipro_onnx_read_file(path, &bytes, &size, &err), &err);
  if (bytes) stripped = without_signature(bytes, size, &stripped_size);
  CHECK_MSG(stripped && stripped_size < size, "stripping the signature: %zu of %zu bytes",
            stripped_size, size);
  graph = NULL;
  if (stripped) CHECK_OK(ipro_graph_load_buffer(stripped, stripped_size, path, &graph, &err), &err);
  if (graph)
    check_kinds(graph, scalars, sizeof scalars / sizeof scalars[0], IPRO_TENSOR_INITIALIZER,
                "a parameter without a signature");
  ipro_graph_free(graph);
  free(stripped);
  free(bytes);
  return ipro_test_finish();
}
