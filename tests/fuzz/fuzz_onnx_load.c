/* libFuzzer target for the ONNX loader: any byte string must load cleanly or fail with a message,
 * through normalisation, shape inference (symbolic and concrete batch) and the cost pass, without
 * a crash, a sanitizer report or a leak. The suite runs it for a bounded time on a seed corpus
 * taken from the ONNX node tests (tests/CMakeLists.txt). */
#include <stddef.h>
#include <stdint.h>

#include "frontend/cost.h"
#include "ir/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ipro_error err;
  ipro_graph *graph = NULL;
  if (ipro_graph_load_buffer(data, size, "fuzz.onnx", &graph, &err) != IPRO_OK) return 0;
  if (ipro_graph_normalize(graph, &err) == IPRO_OK &&
      ipro_graph_infer_shapes(graph, 0, &err) == IPRO_OK &&
      ipro_graph_infer_shapes(graph, 2, &err) == IPRO_OK) {
    ipro_graph_cost cost;
    if (ipro_graph_cost_compute(graph, &cost, &err) == IPRO_OK) ipro_graph_cost_release(&cost);
  }
  ipro_graph_free(graph);
  return 0;
}
