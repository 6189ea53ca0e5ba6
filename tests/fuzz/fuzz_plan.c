/* libFuzzer target for shape inference and planning over hostile batch sizes and split options.
 *
 * An input is a 24-byte header followed by an ONNX model: the batch (8 bytes, any int64, so
 * zero, negative and 2^31-scale values come up), K (1 byte), a memory budget (8 bytes), and
 * a byte of split choices, then padding. The model is loaded, normalised, its batch checked
 * against ipro_graph_check_batch, inferred at that batch, costed, and split: balanced into K
 * modules and for the budget, costed per module from the graph's own costs (parameters as
 * persistent bytes, saved activations as transient bytes), which drives the split choice's sums
 * with the sizes the model implies. The inference program is built too, so the arena planner
 * sees the model's tensors. Any outcome but a clean result or a message is a finding. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frontend/cost.h"
#include "ir/forward_program.h"
#include "ir/graph.h"
#include "partitioner/split_choice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HEADER_BYTES = 24 };

typedef struct {
  const ipro_graph *graph;
  const ipro_graph_cost *cost;
} plan_context;

/* The last node of the module that ends at boundary b (0: none yet; n_cuts + 1: the output). */
static int boundary_node(const plan_context *c, int b) {
  if (b == 0) return -1;
  if (b > c->cost->n_cut_points) return c->cost->n_nodes - 1;
  return c->graph->tensors[c->cost->cut_points[b - 1]].producer;
}

static ipro_status module_cost(void *context, int module, int K, int a, int b,
                               ipro_module_cost *out, ipro_error *err) {
  (void)module, (void)K, (void)err;
  const plan_context *c = context;
  uint64_t persistent = 0, transient = 0;
  for (int n = boundary_node(c, a) + 1; n >= 0 && n <= boundary_node(c, b); n++) {
    persistent += (uint64_t)c->cost->nodes[n].params * 4;
    transient += (uint64_t)c->cost->nodes[n].saved_bytes;
  }
  out->persistent_bytes = persistent;
  out->transient_bytes = transient;
  return IPRO_OK;
}

static uint64_t read_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < HEADER_BYTES) return 0;
  int64_t batch = (int64_t)read_u64(data);
  int K = 1 + data[8] % IPRO_MAX_MODULES;
  uint64_t budget = read_u64(data + 9);
  uint8_t choices = data[17];
  ipro_error err;
  ipro_graph *graph = NULL;
  if (ipro_graph_load_buffer(data + HEADER_BYTES, size - HEADER_BYTES, "fuzz.onnx", &graph, &err) !=
      IPRO_OK)
    return 0;
  if (batch > 0 && ipro_graph_normalize(graph, &err) == IPRO_OK &&
      ipro_graph_check_batch(graph, batch, &err) == IPRO_OK &&
      ipro_graph_infer_shapes(graph, batch, &err) == IPRO_OK) {
    ipro_graph_cost cost;
    if (ipro_graph_cost_compute(graph, &cost, &err) == IPRO_OK) {
      plan_context context = {graph, &cost};
      ipro_split split;
      uint64_t fixed = (uint64_t)cost.input_bytes;
      if (K - 1 <= cost.n_cut_points)
        (void)ipro_split_smallest_peak(cost.n_cut_points, K, fixed, module_cost, &context, &split,
                                       &err);
      if (choices & 1)
        (void)ipro_split_for_budget(cost.n_cut_points, K, fixed, budget, module_cost, &context,
                                    &split, &err);
      ipro_graph_cost_release(&cost);
    }
    if (choices & 2 && ipro_graph_set_inference_mode(graph, &err) == IPRO_OK &&
        ipro_graph_infer_shapes(graph, batch, &err) == IPRO_OK) {
      ipro_forward_program program;
      if (ipro_forward_program_build(graph, NULL, &program, &err) == IPRO_OK)
        ipro_forward_program_release(&program);
    }
  }
  ipro_graph_free(graph);
  return 0;
}
