/* The reference kernels behind the backend interface (the reference backend, and the fallback of
 * the oneDNN and CUDA backends) keep their double temporaries in the workspace the executor plans
 * into the arena, not in memory allocated behind the plan (issue 11: "fallback kernels draw their
 * temporaries from the planned arena"). Checked on float32 nodes whose kernels need no other
 * temporary (Relu, Add, Sigmoid), with the process's counting allocator as the oracle:
 * - called directly (no workspace), each node allocates at least 8 bytes per element of each
 *   float32 operand: the temporaries exist and are that large;
 * - run through the reference backend with a workspace of exactly the size it asked for, the
 *   same node allocates nothing (the allocator's high-water mark does not move), and its output
 *   is bit for bit the direct call's (AddressSanitizer catches a temporary that overruns the
 *   workspace);
 * - a workspace one byte short is refused with a message naming the node;
 * - a node that only moves data (Identity) asks for no workspace. */
#include <stdlib.h>
#include <string.h>

#include "runtime/backend.h"
#include "runtime/counting_allocator.h"
#include "runtime/reference/reference_kernels.h"
#include "support/check.h"
#include "tests/frontend/hand_graph.h"

static const int64_t dims[4] = {2, 3, 8, 8};
#define ELEMENTS (2 * 3 * 8 * 8)

static float *filled(uint32_t seed) {
  float *values = malloc(sizeof(float) * ELEMENTS);
  hand_require(values != NULL);
  for (int i = 0; i < ELEMENTS; i++) {
    seed = seed * 1664525u + 1013904223u;
    values[i] = (float)((int)(seed >> 9) % 2001 - 1000) / 250.0f;
  }
  return values;
}

/* Runs node n, whose operands include float_operands float32 tensors, directly and through the
 * backend. */
static void check_node(ipro_backend *backend, const ipro_graph *graph, int n, void **inputs,
                       int float_operands) {
  const ipro_node *node = &graph->nodes[n];
  ipro_error err = {{0}};
  float *direct = calloc(ELEMENTS, sizeof(float)), *through = calloc(ELEMENTS, sizeof(float));
  hand_require(direct && through);
  void *direct_out[1] = {direct}, *through_out[1] = {through};

  int64_t before = ipro_counting_allocator_in_use();
  ipro_counting_allocator_reset_peak();
  ipro_status status =
      ipro_reference_forward_table()[node->op](graph, node, inputs, direct_out, NULL, &err);
  CHECK_OK(status, &err);
  int64_t direct_rise = ipro_counting_allocator_peak() - before;
  CHECK_MSG(direct_rise >= (int64_t)(8 * ELEMENTS * float_operands),
            "%s called directly allocated %lld bytes, fewer than the %d double temporaries of "
            "%d elements",
            node->name, (long long)direct_rise, float_operands, ELEMENTS);

  ipro_kernel *kernel = NULL;
  status = backend->prepare_forward(backend, graph, node, &kernel, &err);
  CHECK_OK(status, &err);
  if (status != IPRO_OK) return;
  size_t bytes = kernel->workspace_bytes;
  CHECK_MSG(bytes >= (size_t)(8 * ELEMENTS * float_operands),
            "%s asks for a workspace of %zu bytes, fewer than its temporaries", node->name, bytes);
  void *workspace = aligned_alloc(64, (bytes + 63) / 64 * 64);
  hand_require(workspace != NULL);
  before = ipro_counting_allocator_in_use();
  ipro_counting_allocator_reset_peak();
  status = kernel->run(kernel, inputs, through_out, workspace, 0, &err);
  CHECK_OK(status, &err);
  int64_t through_rise = ipro_counting_allocator_peak() - before;
  CHECK_MSG(through_rise == 0, "%s through the backend allocated %lld bytes beside its workspace",
            node->name, (long long)through_rise);
  CHECK_MSG(memcmp(direct, through, sizeof(float) * ELEMENTS) == 0,
            "%s: the output through the workspace differs from the direct call's", node->name);

  /* One byte short: refused, naming the node. */
  kernel->workspace_bytes = bytes - 1;
  err.message[0] = '\0';
  status = kernel->run(kernel, inputs, through_out, workspace, 0, &err);
  CHECK_MSG(status != IPRO_OK && strstr(err.message, node->name) &&
                strstr(err.message, "workspace"),
            "%s with a workspace one byte short: status %d, message '%s'", node->name, status,
            err.message);
  kernel->destroy(kernel);
  free(workspace);
  free(direct);
  free(through);
}

int main(void) {
  if (!ipro_counting_allocator_start())
    return ipro_test_skip("this build cannot count the allocator's bytes");
  ipro_graph *graph = hand_graph(17);
  hand_input(graph, "x", 4, dims);
  hand_input(graph, "y", 4, dims);
  hand_node(graph, "relu", "Relu", "x", "a");
  hand_node(graph, "add", "Add", "x,y", "b");
  hand_node(graph, "sigmoid", "Sigmoid", "y", "c");
  hand_node(graph, "identity", "Identity", "x", "d");
  hand_output(graph, "a");
  hand_output(graph, "b");
  hand_output(graph, "c");
  hand_output(graph, "d");
  ipro_error err = {{0}};
  ipro_status status = ipro_graph_normalize(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, 0, &err);
  CHECK_OK(status, &err);
  ipro_backend *backend = NULL;
  if (status == IPRO_OK) status = ipro_backend_create_reference(&backend, &err);
  CHECK_OK(status, &err);
  if (status != IPRO_OK) return ipro_test_finish();

  float *x = filled(1), *y = filled(2);
  void *unary[1] = {x}, *binary[2] = {x, y}, *of_y[1] = {y};
  check_node(backend, graph, 0, unary, 2);
  check_node(backend, graph, 1, binary, 3);
  check_node(backend, graph, 2, of_y, 2);

  ipro_kernel *copy = NULL;
  status = backend->prepare_forward(backend, graph, &graph->nodes[3], &copy, &err);
  CHECK_OK(status, &err);
  if (copy) {
    CHECK_MSG(copy->workspace_bytes == 0, "Identity asks for a workspace of %zu bytes",
              copy->workspace_bytes);
    copy->destroy(copy);
  }
  free(x);
  free(y);
  backend->destroy(backend);
  ipro_graph_free(graph);
  return ipro_test_finish();
}
