/* What a --freeze pattern names (codegen/frozen_parameters.h): a whole tensor name, a module
 * prefix of it followed by '.' (PyTorch's names) or '/' (the TorchScript exporter's node paths),
 * or a shell glob; a prefix is a whole module, so "layer1" does not name layer10's parameters.
 * Then ipro_graph_freeze on models/resnet8_fmnist.onnx: "layer1" freezes the parameters of its
 * one block, as many and of as many values as PyTorch's module `layer1` holds (the tensors
 * models/golden/resnet8_fmnist_train.ipgd has a gradient of: 6, 4,672 values), which then are not
 * trainable, while its BatchNormalizations' running statistics stay what they were (state, never
 * trainable); and no patterns change nothing. */
#include <string.h>

#include "codegen/frozen_parameters.h"
#include "codegen/training_graph.h"
#include "support/check.h"
#include "support/golden.h"

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

  /* PyTorch's parameters of module layer1 and their values: the golden's gradients of them */
  char golden_path[1024];
  ipro_golden_file golden = {0};
  CHECK_OK(ipro_golden_load(ipro_test_path(golden_path, sizeof golden_path,
                                           "models/golden/resnet8_fmnist_train.ipgd"),
                            &golden, &err),
           &err);
  int torch_parameters = 0;
  int64_t torch_values = 0;
  for (int i = 0; i < golden.count; i++)
    if (strncmp(golden.tensors[i].name, "grad:layer1.", 12) == 0) {
      torch_parameters++;
      torch_values += golden.tensors[i].count;
    }
  ipro_golden_release(&golden);
  CHECK_MSG(torch_parameters > 0, "%s has no gradient of layer1", golden_path);

  const char *const layer1[] = {"layer1"};
  ipro_frozen_count count;
  CHECK_OK(ipro_graph_freeze(graph, 1, layer1, path, &count, &err), &err);
  CHECK_EQ_INT(count.parameters, torch_parameters);
  CHECK_MSG(count.values == torch_values, "froze %lld values, PyTorch's layer1 holds %lld",
            (long long)count.values, (long long)torch_values);
  int trainable_after = 0, frozen = 0;
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    trainable_after += ipro_tensor_is_trainable(graph, t);
    frozen += tensor->frozen;
    bool in_layer1 = strncmp(tensor->name, "layer1.", 7) == 0;
    if (tensor->frozen)
      CHECK_MSG(in_layer1 && !strstr(tensor->name, ".running_"), "'%s' frozen", tensor->name);
  }
  CHECK_EQ_INT(frozen, torch_parameters);
  CHECK_EQ_INT(trainable_after, trainable_before - torch_parameters);
  CHECK_EQ_INT(count.trained, trainable_after);
  ipro_graph_free(graph);
}

int main(void) {
  patterns();
  freezes_layer1();
  return ipro_test_finish();
}
