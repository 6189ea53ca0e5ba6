/* The programs built for costing (ipro_local_settings' plan_only; runtime/module_costing.c):
 * ResNet-32's first module of K = 2 (cut after layer1.3) at batch 4, once to run (the heads'
 * weights drawn, the network's copied) and once plan-only:
 * - the two graphs have the same tensors with the same shapes and the same data sizes, and the
 *   same start values (what is drawn, in order, with its bound), so what the planner counts is
 *   the same; a plan-only executor gives both the same arena and parameter block;
 * - plan-only, no drawn weight and no trainable weight of the network holds values, and the
 *   counting allocator sees the graph take less memory by at least their bytes: the split search
 *   no longer copies the network's weights into every candidate, nor draws and copies a decoder of
 *   512 × 150,528 weights (308 MB) for every candidate cut at a 224×224 network's pooled
 *   features (torchvision's ResNet-18: `infopro plan --batch 8 -K 2` peaked at 773 MB RSS,
 *   now 181 MB). */
#include <stdio.h>
#include <string.h>

#include "codegen/training_graph.h"
#include "runtime/backend.h"
#include "runtime/counting_allocator.h"
#include "runtime/executor.h"
#include "support/bundled_models.h"
#include "support/check.h"

#define BATCH 4

typedef struct {
  ipro_graph *graph;
  ipro_training_graph training;
  int64_t held; /* the allocator's bytes in use after building, less before */
} built_module;

static built_module build(const ipro_graph *network, int cut, bool undrawn) {
  built_module b = {0};
  ipro_local_settings settings = ipro_test_local_settings(network, BATCH);
  settings.K = 2;
  settings.plan_only = undrawn;
  ipro_error err = {{0}};
  int64_t before = ipro_counting_allocator_in_use();
  CHECK_OK(ipro_module_program_build(network, -1, cut, 0, &settings, &b.graph, &b.training, &err),
           &err);
  b.held = ipro_counting_allocator_in_use() - before;
  return b;
}

static void planned(const ipro_graph *graph, size_t *arena, size_t *parameters) {
  ipro_error err = {{0}};
  ipro_backend *onednn = NULL;
  ipro_executor *executor = NULL;
  *arena = *parameters = 0;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  ipro_executor_options plan_only = {
      .external_arena = true, .external_inputs = true, .plan_only = true};
  if (onednn)
    CHECK_OK(ipro_executor_create_with(graph, onednn, NULL, &plan_only, &executor, &err), &err);
  if (executor) {
    *arena = ipro_executor_program(executor)->arena_bytes;
    *parameters = ipro_executor_program(executor)->parameter_bytes;
  }
  ipro_executor_free(executor);
  if (onednn) onednn->destroy(onednn);
}

int main(void) {
  if (!ipro_counting_allocator_start())
    return ipro_test_skip("the counting allocator cannot start in this build");
  char path[1024];
  ipro_test_path(path, sizeof path, "models/resnet32.onnx");
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  CHECK_OK(ipro_graph_open(path, BATCH, &network, &err), &err);
  if (!network) return ipro_test_finish();
  int cut = ipro_graph_find_tensor(network, "/layer1/layer1.3/Relu_1_output_0");
  CHECK(cut >= 0);
  built_module drawn = build(network, cut, false), undrawn = build(network, cut, true);
  if (!drawn.graph || !undrawn.graph) return ipro_test_finish();

  CHECK_EQ_INT(drawn.graph->n_tensors, undrawn.graph->n_tensors);
  for (int t = 0; t < drawn.graph->n_tensors && t < undrawn.graph->n_tensors; t++) {
    const ipro_tensor *a = &drawn.graph->tensors[t], *b = &undrawn.graph->tensors[t];
    CHECK_MSG(strcmp(a->name, b->name) == 0 && a->kind == b->kind &&
                  ipro_shape_equal(&a->shape, &b->shape) && a->data_bytes == b->data_bytes,
              "tensor %d: '%s' drawn, '%s' undrawn differ", t, a->name, b->name);
  }
  const ipro_start_values *sa = &drawn.training.start, *sb = &undrawn.training.start;
  CHECK_EQ_INT(sa->n_drawn, sb->n_drawn);
  CHECK(sa->n_drawn > 0);
  size_t drawn_bytes = 0;
  for (int i = 0; i < sa->n_drawn && i < sb->n_drawn; i++) {
    CHECK(sa->drawn[i] == sb->drawn[i] && sa->bounds[i] == sb->bounds[i]);
    CHECK_MSG(drawn.graph->tensors[sa->drawn[i]].data && !undrawn.graph->tensors[sb->drawn[i]].data,
              "'%s': values drawn %p, undrawn %p", drawn.graph->tensors[sa->drawn[i]].name,
              drawn.graph->tensors[sa->drawn[i]].data, undrawn.graph->tensors[sb->drawn[i]].data);
    drawn_bytes += drawn.graph->tensors[sa->drawn[i]].data_bytes;
  }
  size_t network_bytes = 0;
  int network_weights = 0;
  for (int t = 0; t < drawn.graph->n_tensors && t < undrawn.graph->n_tensors; t++) {
    const ipro_tensor *a = &drawn.graph->tensors[t], *b = &undrawn.graph->tensors[t];
    if (strncmp(a->name, "infopro", 7) == 0 || !ipro_tensor_is_trainable(drawn.graph, t)) continue;
    CHECK_MSG(a->data && !b->data, "'%s': the network's values %p to run, %p plan-only", a->name,
              a->data, b->data);
    network_bytes += a->data_bytes;
    network_weights++;
  }
  CHECK(network_weights > 0);
  CHECK_MSG(drawn.held - undrawn.held >= (int64_t)(drawn_bytes + network_bytes),
            "the allocator saw the module to run take %lld bytes, the plan-only one %lld: the "
            "drawn weights are %zu and the network's %zu",
            (long long)drawn.held, (long long)undrawn.held, drawn_bytes, network_bytes);
  printf("module 1: %zu bytes of drawn head weights, %zu of the network's; the allocator saw "
         "%lld bytes to run, %lld plan-only\n",
         drawn_bytes, network_bytes, (long long)drawn.held, (long long)undrawn.held);

  size_t arena_a, parameters_a, arena_b, parameters_b;
  planned(drawn.graph, &arena_a, &parameters_a);
  planned(undrawn.graph, &arena_b, &parameters_b);
  CHECK_EQ_INT(arena_a, arena_b);
  CHECK_EQ_INT(parameters_a, parameters_b);
  CHECK(arena_a > 0 && parameters_a > 0);

  ipro_training_graph_release(&drawn.training);
  ipro_training_graph_release(&undrawn.training);
  ipro_graph_free(drawn.graph);
  ipro_graph_free(undrawn.graph);
  ipro_graph_free(network);
  return ipro_test_finish();
}
