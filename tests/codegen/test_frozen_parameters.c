/* What a --freeze pattern names (codegen/frozen_parameters.h): a whole tensor name, a module
 * prefix of it followed by '.' (PyTorch's names) or '/' (the TorchScript exporter's node paths),
 * or a shell glob; a prefix is a whole module, so "layer1" does not name layer10's parameters.
 * Then ipro_graph_freeze on models/resnet8_fmnist.onnx: "layer1" freezes the 6 parameters of its
 * one block (2 convolutions, 2 BatchNormalizations' scale and bias, 4,672 values, as PyTorch's
 * module `layer1` holds), which then are not trainable, while its
 * BatchNormalizations' running statistics stay what they were (state, never trainable); and no
 * patterns change nothing. */
#include <string.h>

#include "codegen/frozen_parameters.h"
#include "codegen/training_graph.h"
#include "support/check.h"

static void patterns(void) {
  static const struct {
    const char *pattern, *name;
    bool matches;
  } cases[] = {
      {"conv1.weight", "conv1.weight", true},
      {"conv1", "conv1.weight", true},
      {"conv1.w", "conv1.weight", false},
      {"layer1", "layer1.0.conv1.weight", true},
      {"layer1", "layer10.0.conv1.weight", false},
      {"layer1.0", "layer1.0.bn1.bias", true},
      {"layer1*", "layer10.0.conv1.weight", true},
      {"/layer1", "/layer1/layer1.0/conv1/Conv_W", true},
      {"/layer1", "/layer10/conv1/Conv_W", false},
      {"*.bias", "fc.bias", true},
      {"*.bias", "fc.bias_copy", false},
      {"*", "anything.at/all", true},
      {"fc.[wb]*", "fc.weight", true},
      {"fc.[wb]*", "fc.scale", false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    CHECK_MSG(ipro_frozen_pattern_matches(cases[i].pattern, cases[i].name) == cases[i].matches,
              "'%s' %s '%s'", cases[i].pattern, cases[i].matches ? "should match" : "matches",
              cases[i].name);
}

static void freezes_layer1(void) {
  char path[1024];
  ipro_test_path(path, sizeof path, "models/resnet8_fmnist.onnx");
  ipro_graph *graph = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_open(path, 2, &graph, &err), &err);
  if (!graph) return;
  int trainable_before = 0;
  for (int t = 0; t < graph->n_tensors; t++)
    trainable_before += ipro_tensor_is_trainable(graph, t);
  ipro_frozen_count none = {1, 1, 1};
  CHECK_OK(ipro_graph_freeze(graph, 0, NULL, path, &none, &err), &err);
  CHECK(none.parameters == 0 && none.trained == 0 && none.values == 0);

  const char *const layer1[] = {"layer1"};
  ipro_frozen_count count;
  CHECK_OK(ipro_graph_freeze(graph, 1, layer1, path, &count, &err), &err);
  CHECK_EQ_INT(count.parameters, 6);
  CHECK_MSG(count.values == 2 * 16 * 16 * 3 * 3 + 4 * 16, "froze %lld values",
            (long long)count.values);
  int trainable_after = 0, frozen = 0;
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    trainable_after += ipro_tensor_is_trainable(graph, t);
    frozen += tensor->frozen;
    bool in_layer1 = strncmp(tensor->name, "layer1.", 7) == 0;
    if (tensor->frozen)
      CHECK_MSG(in_layer1 && !strstr(tensor->name, ".running_"), "'%s' frozen", tensor->name);
  }
  CHECK_EQ_INT(frozen, 6);
  CHECK_EQ_INT(trainable_after, trainable_before - 6);
  CHECK_EQ_INT(count.trained, trainable_after);
  ipro_graph_free(graph);
}

int main(void) {
  patterns();
  freezes_layer1();
  return ipro_test_finish();
}
