/* The bundled CIFAR-style ResNets: parameters, FLOPs and saved bytes from the frontend equal
 * figures computed here by formula from the architecture alone (stem conv3x3-BN-ReLU, three
 * stages of n BasicBlocks with widths 16/32/64 and strides 1/2/2, 1x1-conv+BN projection
 * shortcuts, global average pool, FC), and the cut points are the stem output and every block
 * output, never a tensor inside a block. */
#include <stdlib.h>
#include <string.h>

#include "frontend/cost.h"
#include "support/check.h"

typedef struct {
  int64_t params, bn_running, flops, saved_bytes;
} resnet_figures;

/* Activation tensors saved for the backward pass (op table facts, restated as architecture):
 * every conv output (read by its BN), every ReLU output (read by the ReLU's backward and the next
 * conv), the flattened features (read by the FC), and each BN's batch mean and inverse std. */
static resnet_figures resnet_by_formula(int64_t batch, int64_t in_channels, int64_t size,
                                        int blocks_per_stage, int64_t classes) {
  resnet_figures f = {0, 0, 0, 0};
  const int64_t widths[3] = {16, 32, 64};
  int64_t hw = size * size, c_in = in_channels;
  /* stem */
  int64_t stem_out = batch * 16 * hw;
  f.params += 9 * c_in * 16 + 2 * 16;
  f.bn_running += 2 * 16;
  f.flops += 2 * stem_out * c_in * 9 + 2 * stem_out + stem_out;
  f.saved_bytes += 4 * (stem_out + stem_out) + 8 * 16;
  c_in = 16;
  for (int stage = 0; stage < 3; stage++) {
    int64_t c = widths[stage];
    for (int block = 0; block < blocks_per_stage; block++) {
      int stride = (stage > 0 && block == 0) ? 2 : 1;
      if (stride == 2) size /= 2;
      hw = size * size;
      int64_t out = batch * c * hw;
      bool projection = stride != 1 || c_in != c;
      /* conv1-BN-ReLU, conv2-BN, shortcut, add, ReLU */
      f.params += 9 * c_in * c + 2 * c + 9 * c * c + 2 * c;
      f.bn_running += 4 * c;
      f.flops += 2 * out * c_in * 9 + 2 * out + out;
      f.flops += 2 * out * c * 9 + 2 * out;
      f.saved_bytes += 4 * (out + out + out) + 2 * 8 * c; /* conv1, relu1, conv2 outputs */
      if (projection) {
        f.params += c_in * c + 2 * c;
        f.bn_running += 2 * c;
        f.flops += 2 * out * c_in + 2 * out;
        f.saved_bytes += 4 * out + 8 * c;
      }
      f.flops += out + out;     /* add, relu */
      f.saved_bytes += 4 * out; /* block output relu */
      c_in = c;
    }
  }
  /* global average pool, flatten, FC */
  f.flops += batch * 64 * hw;
  f.params += 64 * classes + classes;
  f.flops += 2 * batch * classes * 64 + batch * classes;
  f.saved_bytes += 4 * batch * 64;
  return f;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void check_resnet(const char *file, int64_t batch, int64_t in_channels, int64_t size,
                         int blocks) {
  char path[1024];
  ipro_test_path(path, sizeof path, file);
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  CHECK_OK(ipro_graph_open(path, batch, &graph, &err), &err);
  if (!graph) return;
  ipro_graph_cost cost;
  CHECK_OK(ipro_graph_cost_compute(graph, &cost, &err), &err);
  resnet_figures expected = resnet_by_formula(batch, in_channels, size, blocks, 10);
  CHECK_EQ_INT(cost.params, expected.params);
  CHECK_EQ_INT(cost.bn_running_values, expected.bn_running);
  CHECK_EQ_INT(cost.flops, expected.flops);
  CHECK_EQ_INT(cost.saved_bytes, expected.saved_bytes);
  CHECK_EQ_INT(cost.input_bytes, 4 * batch * in_channels * size * size);

  /* Cut points: the stem's ReLU output and every block's final ReLU output (a Relu reading an
   * Add) are cuts; no other tensor produced by a node inside a block is. */
  bool *is_cut = calloc((size_t)graph->n_tensors, sizeof(bool));
  for (int i = 0; i < cost.n_cut_points; i++)
    is_cut[cost.cut_points[i]] = true;
  int block_outputs = 0, stem_found = 0;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    int out = node->outputs[0];
    bool in_block = strncmp(node->name, "/layer", 6) == 0;
    const ipro_tensor *input = ipro_node_input(graph, node, 0);
    bool block_output = in_block && node->op == IPRO_OP_RELU && input && input->producer >= 0 &&
                        graph->nodes[input->producer].op == IPRO_OP_ADD;
    if (block_output) {
      block_outputs++;
      CHECK_MSG(is_cut[out], "block output %s is not a cut point", graph->tensors[out].name);
    } else if (in_block) {
      CHECK_MSG(!is_cut[out], "%s inside a block is a cut point", graph->tensors[out].name);
    }
    if (!in_block && node->op == IPRO_OP_RELU && ends_with(node->name, "/Relu")) {
      stem_found++;
      CHECK_MSG(is_cut[out], "stem output %s is not a cut point", graph->tensors[out].name);
    }
  }
  CHECK_EQ_INT(block_outputs, 3 * blocks);
  CHECK_EQ_INT(stem_found, 1);
  /* Cut points come in topological order. */
  for (int i = 1; i < cost.n_cut_points; i++)
    CHECK(graph->tensors[cost.cut_points[i - 1]].producer <
          graph->tensors[cost.cut_points[i]].producer);
  free(is_cut);
  ipro_graph_cost_release(&cost);
  ipro_graph_free(graph);
}

int main(void) {
  check_resnet("models/resnet8_fmnist.onnx", 1, 1, 28, 1);
  check_resnet("models/resnet8_fmnist.onnx", 32, 1, 28, 1);
  check_resnet("models/resnet32.onnx", 128, 3, 32, 5);
  check_resnet("models/resnet110.onnx", 1024, 3, 32, 18);
  return ipro_test_finish();
}
