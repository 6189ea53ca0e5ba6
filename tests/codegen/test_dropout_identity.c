/* A Dropout that drops nothing runs as an Identity (ir/graph.h, ipro_dropout_to_identity):
 * - in training form, one of ratio 0 (the tiny ViT's, as torchvision's ViT and Swin Transformer
 *   keep theirs by default) has no mask and no ipro.DropoutGrad: the training program has an
 *   Identity where the network had each Dropout, and no Dropout; a Dropout of ratio 0.1 (the tiny
 *   EfficientNet's classifier) stays, with its gradient;
 * - in inference form every Dropout whose mask nothing reads is an Identity.
 * (ViT-B/16 at 64×64, batch 32: its 37 Dropouts of ratio 0 took 86 ms of a 1.9 s step on the
 * reference kernels.) */
#include <stdio.h>
#include <string.h>

#include "support/bundled_models.h"
#include "support/check.h"

#define BATCH 4

static int count_op(const ipro_graph *graph, ipro_op op) {
  int count = 0;
  for (int n = 0; n < graph->n_nodes; n++)
    count += graph->nodes[n].op == op;
  return count;
}

/* Dropouts of network with ratio 0. */
static int idle_dropouts(const ipro_graph *network) {
  int count = 0;
  for (int n = 0; n < network->n_nodes; n++)
    count += network->nodes[n].op == IPRO_OP_DROPOUT &&
             ipro_node_attr_float(&network->nodes[n], "ratio", 0.5f) == 0.0f;
  return count;
}

static void check(const char *name, bool all_idle) {
  char path[1024], relative[256];
  snprintf(relative, sizeof relative, "models/%s.onnx", name);
  ipro_test_path(path, sizeof path, relative);
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(path, BATCH, &network, &err), &err);
  ipro_graph *program = ipro_test_training_program(name, BATCH, false);
  if (network && program) {
    int dropouts = count_op(network, IPRO_OP_DROPOUT), idle = idle_dropouts(network);
    CHECK_MSG(dropouts > 0 && (idle == dropouts) == all_idle, "%s: %d Dropouts, %d of ratio 0",
              name, dropouts, idle);
    CHECK_MSG(count_op(program, IPRO_OP_DROPOUT) == dropouts - idle &&
                  count_op(program, IPRO_OP_DROPOUT_GRAD) == dropouts - idle &&
                  count_op(program, IPRO_OP_IDENTITY) >= idle,
              "%s: training program with %d Dropouts, %d DropoutGrads, %d Identities; the network "
              "has %d Dropouts, %d of ratio 0",
              name, count_op(program, IPRO_OP_DROPOUT), count_op(program, IPRO_OP_DROPOUT_GRAD),
              count_op(program, IPRO_OP_IDENTITY), dropouts, idle);
    CHECK_OK(ipro_graph_set_inference_mode(network, &err), &err);
    CHECK_MSG(count_op(network, IPRO_OP_DROPOUT) == 0, "%s: %d Dropouts in inference form", name,
              count_op(network, IPRO_OP_DROPOUT));
    printf("%s: %d Dropouts, %d of ratio 0 run as Identities in training\n", name, dropouts, idle);
  }
  ipro_graph_free(network);
  ipro_graph_free(program);
}

int main(void) {
  check("vit_tiny_fmnist", true);
  check("effnet_tiny_fmnist", false);
  return ipro_test_finish();
}
