/* The copy through which a local module hands its output on (partitioner/module_program.c,
 * copy_output), on a small network (a 1×12×12 image, a convolution to 16 channels, a ReLU: the cut
 * H at 16×12×12; then a global average pool and a linear layer), module 1 of K = 2 at batch 2:
 * - with copy_output, output 0 is a new tensor written by an Identity of H, H is no longer an
 *   output, and the Identity runs after the backward pass and before every optimizer update
 *   (the updates stay the program's last nodes: runtime/mpi/replicas.c averages there);
 * - without it, output 0 is H itself;
 * - when the network already has a tensor of the copy's name before the cut (here the
 *   convolution's output is called "H:handed_on"), that tensor is left as it is and the module
 *   hands H on itself, rather than the copy taking over the network's tensor. */
#include <stdio.h>
#include <string.h>

#include "partitioner/module_program.h"
#include "support/check.h"
#include "tests/frontend/hand_graph.h"

#define BATCH 2

static ipro_graph *open_network(const char *conv_output, ipro_error *err) {
  ipro_graph *g = hand_graph(29);
  static float w1[16 * 9], w2[10 * 16], b2[10];
  for (int i = 0; i < 16 * 9; i++)
    w1[i] = (float)(i % 7) * 0.1f - 0.3f;
  hand_input(g, "X", 4, (int64_t[]){BATCH, 1, 12, 12});
  hand_initializer(g, "conv1.weight", IPRO_DTYPE_FLOAT, 4, (int64_t[]){16, 1, 3, 3}, w1);
  hand_initializer(g, "fc.weight", IPRO_DTYPE_FLOAT, 2, (int64_t[]){10, 16}, w2);
  hand_initializer(g, "fc.bias", IPRO_DTYPE_FLOAT, 1, (int64_t[]){10}, b2);
  ipro_node *conv = hand_node(g, "conv", "Conv", "X,conv1.weight", conv_output);
  ipro_node_set_ints(conv, "pads", (int64_t[]){1, 1, 1, 1}, 4);
  hand_node(g, "relu", "Relu", conv_output, "H");
  hand_node(g, "pool", "GlobalAveragePool", "H", "P");
  ipro_node_set_int(hand_node(g, "flatten", "Flatten", "P", "F"), "axis", 1);
  ipro_node_set_int(hand_node(g, "fc", "Gemm", "F,fc.weight,fc.bias", "logits"), "transB", 1);
  hand_output(g, "logits");
  CHECK_OK(ipro_graph_normalize(g, err), err);
  CHECK_OK(ipro_graph_infer_shapes(g, BATCH, err), err);
  return g;
}

/* Module 1 of the network at cut H, built with copy_output as given; NULL after a failed check. */
static ipro_graph *first_module(const ipro_graph *network, bool copy_output) {
  ipro_local_settings s;
  ipro_local_settings_defaults(&s);
  s.batch = BATCH;
  s.K = 2;
  s.choose_heads = false;
  s.copy_output = copy_output;
  ipro_error err = {{0}};
  ipro_graph *module = NULL;
  ipro_training_graph training;
  CHECK_OK(ipro_module_program_build(network, -1, ipro_graph_find_tensor(network, "H"), 0, &s,
                                     &module, &training, &err),
           &err);
  if (module) ipro_training_graph_release(&training);
  return module;
}

static bool is_update(const ipro_node *node) {
  return node->op == IPRO_OP_SGD_UPDATE || node->op == IPRO_OP_ADAM_UPDATE;
}

int main(void) {
  ipro_error err = {{0}};
  ipro_graph *network = open_network("C", &err);
  if (!network) return ipro_test_finish();

  ipro_graph *copied = first_module(network, true);
  if (copied) {
    const ipro_tensor *out = &copied->tensors[copied->outputs[0]];
    int h = ipro_graph_find_tensor(copied, "H");
    CHECK_MSG(strcmp(out->name, "H:handed_on") == 0 && out->producer >= 0, "output 0 is '%s'",
              out->name);
    const ipro_node *copy = out->producer >= 0 ? &copied->nodes[out->producer] : NULL;
    CHECK_MSG(copy && copy->op == IPRO_OP_IDENTITY && copy->inputs[0] == h,
              "output 0 is not an Identity of H");
    CHECK_MSG(h >= 0 && !copied->tensors[h].is_graph_output, "H is still a graph output");
    int updates_before = 0, updates_after = 0, others_after = 0;
    for (int n = 0; n < copied->n_nodes; n++) {
      if (n < out->producer) updates_before += is_update(&copied->nodes[n]);
      if (n > out->producer) is_update(&copied->nodes[n]) ? updates_after++ : others_after++;
    }
    CHECK_MSG(updates_before == 0 && updates_after > 0 && others_after == 0,
              "the copy should run after the backward pass, right before the %d updates "
              "(%d updates before it, %d other nodes after it)",
              updates_after, updates_before, others_after);
  }
  ipro_graph_free(copied);

  ipro_graph *plain = first_module(network, false);
  if (plain)
    CHECK_MSG(strcmp(plain->tensors[plain->outputs[0]].name, "H") == 0,
              "without copy_output, output 0 is '%s'", plain->tensors[plain->outputs[0]].name);
  ipro_graph_free(plain);
  ipro_graph_free(network);

  network = open_network("H:handed_on", &err);
  if (!network) return ipro_test_finish();
  ipro_graph *taken = first_module(network, true);
  if (taken) {
    int own = ipro_graph_find_tensor(taken, "H:handed_on");
    CHECK_MSG(strcmp(taken->tensors[taken->outputs[0]].name, "H") == 0,
              "with the copy's name taken, output 0 is '%s'",
              taken->tensors[taken->outputs[0]].name);
    CHECK_MSG(own >= 0 && taken->tensors[own].producer >= 0 &&
                  taken->nodes[taken->tensors[own].producer].op == IPRO_OP_CONV,
              "the network's tensor 'H:handed_on' is no longer the convolution's output");
  }
  ipro_graph_free(taken);
  ipro_graph_free(network);
  return ipro_test_finish();
}
