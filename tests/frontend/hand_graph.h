/* Builds small graphs by hand for the frontend tests, without going through an ONNX file, so a
 * test can state exactly which nodes, shapes and constants it feeds to normalisation and shape
 * inference. Header-only: each test program includes it once. Any allocation failure aborts the
 * test, which is fine for test code. */
#ifndef IPRO_TEST_HAND_GRAPH_H
#define IPRO_TEST_HAND_GRAPH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"

static inline void hand_require(bool ok) {
  if (!ok) abort();
}

static inline ipro_graph *hand_graph(int64_t opset) {
  ipro_graph *graph = ipro_graph_create();
  hand_require(graph != NULL);
  graph->opset = opset;
  graph->inputs = malloc(sizeof(int) * 16);
  graph->outputs = malloc(sizeof(int) * 16);
  hand_require(graph->inputs && graph->outputs);
  return graph;
}

static inline ipro_shape hand_shape(int rank, const int64_t *dims) {
  ipro_shape shape = {.rank = rank};
  for (int d = 0; d < rank; d++)
    shape.dims[d] = dims[d];
  return shape;
}

/* A graph input of the given dtype (IPRO_DIM_BATCH in dims for the symbolic batch). */
static inline int hand_typed_input(ipro_graph *graph, const char *name, ipro_dtype dtype, int rank,
                                   const int64_t *dims) {
  int index = ipro_graph_tensor(graph, name);
  hand_require(index >= 0);
  ipro_tensor *tensor = &graph->tensors[index];
  tensor->dtype = dtype;
  tensor->shape = hand_shape(rank, dims);
  ipro_tensor_declare_shape(tensor, &tensor->shape);
  tensor->is_graph_input = true;
  if (graph->n_inputs >= 16) { /* beyond hand_graph's room */
    int *grown = realloc(graph->inputs, sizeof(int) * (size_t)(graph->n_inputs + 1));
    hand_require(grown != NULL);
    graph->inputs = grown;
  }
  graph->inputs[graph->n_inputs++] = index;
  return index;
}

/* A graph input of float32 data. */
static inline int hand_input(ipro_graph *graph, const char *name, int rank, const int64_t *dims) {
  return hand_typed_input(graph, name, IPRO_DTYPE_FLOAT, rank, dims);
}

/* An initializer; data may be NULL for float weights whose values do not matter (zeros). */
static inline int hand_initializer(ipro_graph *graph, const char *name, ipro_dtype dtype, int rank,
                                   const int64_t *dims, const void *data) {
  int index = ipro_graph_tensor(graph, name);
  hand_require(index >= 0);
  ipro_tensor *tensor = &graph->tensors[index];
  tensor->dtype = dtype;
  tensor->shape = hand_shape(rank, dims);
  tensor->kind = IPRO_TENSOR_INITIALIZER;
  size_t bytes = (size_t)ipro_shape_elements(&tensor->shape) * ipro_dtype_size(dtype);
  void *zeros = calloc(1, bytes ? bytes : 1);
  hand_require(zeros != NULL);
  hand_require(ipro_tensor_set_data(tensor, data ? data : zeros, bytes, NULL) == IPRO_OK);
  free(zeros);
  return index;
}

static inline int hand_int64_initializer(ipro_graph *graph, const char *name, int count,
                                         const int64_t *values) {
  int64_t dims[1] = {count};
  return hand_initializer(graph, name, IPRO_DTYPE_INT64, 1, dims, values);
}

/* Appends a node: inputs and outputs are tensor names separated by commas, "" = omitted. */
static inline ipro_node *hand_node(ipro_graph *graph, const char *name, const char *op_type,
                                   const char *inputs, const char *outputs) {
  char names[2][512];
  int counts[2] = {0, 0};
  const char *lists[2] = {inputs, outputs};
  for (int l = 0; l < 2; l++) {
    snprintf(names[l], sizeof names[l], "%s", lists[l]);
    if (names[l][0] || strchr(lists[l], ',')) {
      counts[l] = 1;
      for (const char *c = names[l]; *c; c++)
        counts[l] += *c == ',';
    }
  }
  int index = ipro_graph_add_node(graph, name, op_type, counts[0], counts[1]);
  hand_require(index >= 0);
  for (int l = 0; l < 2; l++) {
    char *cursor = names[l];
    for (int k = 0; k < counts[l]; k++) {
      char *comma = strchr(cursor, ',');
      if (comma) *comma = '\0';
      if (*cursor) {
        int tensor = ipro_graph_tensor(graph, cursor);
        hand_require(tensor >= 0);
        if (l == 0) {
          graph->nodes[index].inputs[k] = tensor;
        } else {
          graph->nodes[index].outputs[k] = tensor;
          graph->tensors[tensor].producer = index;
        }
      }
      if (comma) cursor = comma + 1;
    }
  }
  return &graph->nodes[index];
}

static inline void hand_output(ipro_graph *graph, const char *name) {
  int index = ipro_graph_find_tensor(graph, name);
  hand_require(index >= 0);
  graph->tensors[index].is_graph_output = true;
  graph->outputs[graph->n_outputs++] = index;
}

static inline const ipro_tensor *hand_tensor(const ipro_graph *graph, const char *name) {
  int index = ipro_graph_find_tensor(graph, name);
  hand_require(index >= 0);
  return &graph->tensors[index];
}

static inline const ipro_node *hand_find_node(const ipro_graph *graph, const char *name) {
  for (int i = 0; i < graph->n_nodes; i++)
    if (strcmp(graph->nodes[i].name, name) == 0) return &graph->nodes[i];
  hand_require(false);
  return NULL;
}

/* True when the node's INTS attribute equals expected[0..count). */
static inline bool hand_ints_are(const ipro_node *node, const char *name, int count,
                                 const int64_t *expected) {
  int given;
  const int64_t *values = ipro_node_attr_ints(node, name, &given);
  if (!values || given != count) return false;
  return count == 0 || memcmp(values, expected, sizeof(int64_t) * (size_t)count) == 0;
}

#endif
