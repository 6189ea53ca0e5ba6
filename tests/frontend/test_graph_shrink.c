/* ipro_graph_shrink_to_fit gives back the room the tensor and node arrays grew into while a graph
 * was built, and leaves the graph whole: the counts, names, producers, node operands and lookup by
 * name are unchanged, and the graph can still grow afterwards. The room is checked with the
 * counting allocator (runtime/counting_allocator.h), which sees the arrays' blocks shrink. */
#include <stdio.h>

#include "ir/graph.h"
#include "runtime/counting_allocator.h"
#include "tests/support/check.h"

/* 100 tensors and 100 nodes: the arrays have grown to 128 entries each. */
static ipro_graph *chain(void) {
  ipro_graph *graph = ipro_graph_create();
  char name[32];
  int previous = ipro_graph_tensor(graph, "t0");
  for (int i = 1; i < 100; i++) {
    snprintf(name, sizeof name, "t%d", i);
    int tensor = ipro_graph_tensor(graph, name);
    snprintf(name, sizeof name, "relu%d", i);
    int node = ipro_graph_add_node(graph, name, "Relu", 1, 1);
    graph->nodes[node].inputs[0] = previous;
    graph->nodes[node].outputs[0] = tensor;
    graph->tensors[tensor].producer = node;
    previous = tensor;
  }
  ipro_graph_add_node(graph, "last", "Identity", 1, 0);
  graph->nodes[graph->n_nodes - 1].inputs[0] = previous;
  return graph;
}

static void check_whole(const ipro_graph *graph, int n_tensors) {
  CHECK_EQ_INT(graph->n_tensors, n_tensors);
  CHECK_EQ_INT(graph->n_nodes, 100);
  for (int i = 1; i < 100; i++) {
    char name[32];
    snprintf(name, sizeof name, "t%d", i);
    int tensor = ipro_graph_find_tensor(graph, name);
    CHECK_EQ_INT(tensor, i);
    if (tensor < 0) continue;
    int producer = graph->tensors[tensor].producer;
    CHECK_EQ_INT(producer, i - 1);
    if (producer >= 0) {
      CHECK_EQ_INT(graph->nodes[producer].inputs[0], i - 1);
      CHECK_EQ_INT(graph->nodes[producer].outputs[0], i);
    }
  }
}

int main(void) {
  ipro_counting_allocator_start();
  ipro_graph *graph = chain();
  CHECK(graph->tensor_capacity > graph->n_tensors && graph->node_capacity > graph->n_nodes);
  int64_t before = ipro_counting_allocator_in_use();
  ipro_graph_shrink_to_fit(graph);
  int64_t given_back = before - ipro_counting_allocator_in_use();
  CHECK_EQ_INT(graph->tensor_capacity, graph->n_tensors);
  CHECK_EQ_INT(graph->node_capacity, graph->n_nodes);
  /* 28 of 128 entries of each array, less the allocator's rounding */
  int64_t room = 28 * (int64_t)(sizeof(ipro_tensor) + sizeof(ipro_node));
  CHECK_MSG(given_back >= room - 64, "shrinking gave back %lld bytes; %lld expected",
            (long long)given_back, (long long)room);
  check_whole(graph, 100);
  /* shrinking a graph that has no room changes nothing */
  ipro_graph_shrink_to_fit(graph);
  check_whole(graph, 100);
  CHECK_EQ_INT(ipro_graph_tensor(graph, "t100"), 100);
  check_whole(graph, 101);
  CHECK_EQ_INT(ipro_graph_find_tensor(graph, "t100"), 100);
  ipro_graph_free(graph);
  return ipro_test_finish();
}
