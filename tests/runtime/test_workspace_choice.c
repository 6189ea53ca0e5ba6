/* The executor's choice between a kernel with a large workspace and its frugal variant
 * (runtime/executor.c, choose_frugal and keep_fast_where_room), on every machine: a test backend
 * wraps the reference kernels and gives each convolution (forward, input and weight gradient) a
 * "fast" variant whose workspace is `fast_bytes` larger than the frugal one's. The fast kernel
 * fills its whole workspace with NaN bytes before running the reference kernel and after it, so
 * a workspace placed over a tensor that is live at its step (an input, its output, one read
 * later) changes the step's results.
 *
 * On ResNet-8's training program at batch 8:
 * - a small workspace (64 bytes): the fast kernels are kept at every convolution;
 * - one larger than the frugal program's arena: no step has room, every kernel is frugal and the
 *   arena is the frugal program's to the byte;
 * - a quarter of that arena: the program is the frugal one, its arena to the byte, and the fast
 *   kernel is kept at the steps (some, not all) where that arena has room for its workspace.
 * In each case one training step gives bit for bit the losses, gradients and optimizer state of
 * the reference kernels alone, and the fast kernels that run are those of the steps planned with
 * their workspace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/executor.h"
#include "support/bundled_models.h"
#include "support/check.h"

#define BATCH 8

typedef struct {
  ipro_backend base;
  ipro_backend *inner;
  size_t fast_bytes;
} test_backend;

typedef struct {
  ipro_kernel base;
  ipro_kernel *inner;
} test_kernel;

static bool has_variant(const ipro_node *node) {
  return node->op == IPRO_OP_CONV || node->op == IPRO_OP_CONV_GRAD_INPUT ||
         node->op == IPRO_OP_CONV_GRAD_WEIGHT;
}

/* How many times a fast kernel (one with more workspace than its reference kernel) ran. */
static int fast_runs;

static ipro_status run_poisoned(ipro_kernel *self, void *const *inputs, void *const *outputs,
                                void *workspace, uint64_t step, ipro_error *err) {
  test_kernel *k = (test_kernel *)self;
  if (self->workspace_bytes > k->inner->workspace_bytes) fast_runs++;
  if (self->workspace_bytes) memset(workspace, 0xFF, self->workspace_bytes); /* NaN floats */
  ipro_status status = k->inner->run(k->inner, inputs, outputs, workspace, step, err);
  if (self->workspace_bytes) memset(workspace, 0xFF, self->workspace_bytes); /* left as garbage */
  return status;
}

static void destroy_kernel(ipro_kernel *self) {
  test_kernel *k = (test_kernel *)self;
  k->inner->destroy(k->inner);
  free(k);
}

static bool supports(const ipro_backend *self, const ipro_graph *graph, const ipro_node *node) {
  const test_backend *b = (const test_backend *)self;
  return b->inner->supports_forward(b->inner, graph, node);
}

static ipro_status prepare(ipro_backend *self, const ipro_graph *graph, const ipro_node *node,
                           ipro_kernel **out, ipro_error *err) {
  test_backend *b = (test_backend *)self;
  *out = NULL;
  ipro_kernel *inner = NULL;
  if (b->inner->prepare_forward(b->inner, graph, node, &inner, err) != IPRO_OK) return IPRO_ERROR;
  if (!has_variant(node)) {
    *out = inner;
    return IPRO_OK;
  }
  test_kernel *k = calloc(1, sizeof *k);
  if (!k) {
    inner->destroy(inner);
    return ipro_error_set(err, "out of memory");
  }
  k->inner = inner;
  k->base.workspace_bytes = inner->workspace_bytes + (self->frugal ? 0 : b->fast_bytes);
  k->base.has_frugal_variant = b->fast_bytes > 0;
  k->base.run = run_poisoned;
  k->base.destroy = destroy_kernel;
  *out = &k->base;
  return IPRO_OK;
}

static ipro_status allocate(ipro_backend *self, size_t bytes, void **out, ipro_error *err) {
  test_backend *b = (test_backend *)self;
  return b->inner->allocate(b->inner, bytes, out, err);
}

static void release(ipro_backend *self, void *pointer, size_t bytes) {
  test_backend *b = (test_backend *)self;
  b->inner->release(b->inner, pointer, bytes);
}

static ipro_status to_device(ipro_backend *self, void *device, const void *host, size_t bytes,
                             ipro_error *err) {
  test_backend *b = (test_backend *)self;
  return b->inner->copy_to_device(b->inner, device, host, bytes, err);
}

static ipro_status to_host(ipro_backend *self, void *host, const void *device, size_t bytes,
                           ipro_error *err) {
  test_backend *b = (test_backend *)self;
  return b->inner->copy_to_host(b->inner, host, device, bytes, err);
}

static void make_backend(test_backend *b, ipro_backend *inner, size_t fast_bytes) {
  memset(b, 0, sizeof *b);
  b->inner = inner;
  b->fast_bytes = fast_bytes;
  b->base.name = "test";
  b->base.supports_forward = supports;
  b->base.prepare_forward = prepare;
  b->base.allocate = allocate;
  b->base.release = release;
  b->base.copy_to_device = to_device;
  b->base.copy_to_host = to_host;
  b->base.host_memory = true;
}

/* What one training step leaves: every graph output and every STATE tensor, as bytes. */
typedef struct {
  size_t bytes;
  uint8_t *data;
} step_result;

/* The graph inputs: pseudo-random floats in [-1, 1), integer labels cycling over three classes. */
static void **make_inputs(const ipro_graph *graph) {
  void **inputs = calloc((size_t)graph->n_inputs + 1, sizeof(void *));
  uint32_t state = 12345;
  for (int i = 0; inputs && i < graph->n_inputs; i++) {
    const ipro_tensor *t = &graph->tensors[graph->inputs[i]];
    int64_t count = ipro_shape_elements(&t->shape);
    inputs[i] = calloc((size_t)ipro_tensor_bytes(t) + 1, 1);
    for (int64_t e = 0; inputs[i] && e < count; e++) {
      state = state * 1664525u + 1013904223u;
      if (t->dtype == IPRO_DTYPE_FLOAT)
        ((float *)inputs[i])[e] = (float)(state >> 8) / 8388608.0f - 1.0f;
      else if (t->dtype == IPRO_DTYPE_INT64)
        ((int64_t *)inputs[i])[e] = e % 3;
    }
  }
  return inputs;
}

static void free_all(void **pointers, int count) {
  for (int i = 0; pointers && i < count; i++)
    free(pointers[i]);
  free(pointers);
}

/* One step of graph on backend: its result, its arena, and each node's planned workspace. */
static void run_step(const ipro_graph *graph, ipro_backend *backend, size_t *arena,
                     size_t *workspace, step_result *result) {
  ipro_error err = {{0}};
  ipro_executor *executor = NULL;
  CHECK_OK(ipro_executor_create(graph, backend, NULL, &executor, &err), &err);
  if (!executor) return;
  const ipro_forward_program *program = ipro_executor_program(executor);
  *arena = program->arena_bytes;
  for (int s = 0; s < program->n_steps; s++)
    workspace[program->steps[s].node] = program->steps[s].workspace_bytes;
  void **inputs = make_inputs(graph);
  void **outputs = calloc((size_t)graph->n_outputs + 1, sizeof(void *));
  result->bytes = 0;
  for (int o = 0; outputs && o < graph->n_outputs; o++) {
    outputs[o] = calloc((size_t)ipro_tensor_bytes(&graph->tensors[graph->outputs[o]]) + 1, 1);
    result->bytes += (size_t)ipro_tensor_bytes(&graph->tensors[graph->outputs[o]]);
  }
  for (int t = 0; t < graph->n_tensors; t++)
    if (graph->tensors[t].kind == IPRO_TENSOR_STATE)
      result->bytes += (size_t)ipro_tensor_bytes(&graph->tensors[t]);
  result->data = calloc(result->bytes + 1, 1);
  CHECK_MSG(inputs && outputs && result->data, "out of memory");
  if (inputs && outputs && result->data) {
    CHECK_OK(ipro_executor_run(executor, (const void *const *)inputs, outputs, &err), &err);
    size_t at = 0;
    for (int o = 0; o < graph->n_outputs; o++) {
      size_t bytes = (size_t)ipro_tensor_bytes(&graph->tensors[graph->outputs[o]]);
      memcpy(result->data + at, outputs[o], bytes);
      at += bytes;
    }
    for (int t = 0; t < graph->n_tensors; t++) {
      if (graph->tensors[t].kind != IPRO_TENSOR_STATE) continue;
      size_t bytes = (size_t)ipro_tensor_bytes(&graph->tensors[t]);
      CHECK_OK(ipro_executor_read_tensor(executor, t, result->data + at, bytes, &err), &err);
      at += bytes;
    }
  }
  free_all(inputs, graph->n_inputs);
  free_all(outputs, graph->n_outputs);
  ipro_executor_free(executor);
}

int main(void) {
  ipro_error err = {{0}};
  ipro_backend *reference = NULL;
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  ipro_graph *program = ipro_test_training_program("resnet8_fmnist", BATCH, false);
  if (!reference || !program) return ipro_test_finish();
  int convolutions = 0;
  for (int n = 0; n < program->n_nodes; n++)
    convolutions += has_variant(&program->nodes[n]);

  size_t *frugal_workspace = calloc((size_t)program->n_nodes + 1, sizeof(size_t));
  size_t *workspace = calloc((size_t)program->n_nodes + 1, sizeof(size_t));
  if (!frugal_workspace || !workspace) return ipro_test_finish();
  size_t plain_arena = 0;
  step_result expected = {0};
  run_step(program, reference, &plain_arena, workspace, &expected);
  test_backend frugal_only;
  make_backend(&frugal_only, reference, 0);
  size_t frugal_arena = 0;
  step_result frugal = {0};
  run_step(program, &frugal_only.base, &frugal_arena, frugal_workspace, &frugal);
  CHECK_MSG(frugal_arena > 0 && frugal.bytes == expected.bytes &&
                memcmp(frugal.data, expected.data, expected.bytes) == 0,
            "the test backend without a fast variant should run the reference step");
  free(frugal.data);

  const struct {
    const char *name;
    size_t fast_bytes;
  } cases[] = {{"64 bytes", 64},
               {"more than the arena", 2 * frugal_arena},
               {"a quarter of the arena", frugal_arena / 4}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    test_backend backend;
    make_backend(&backend, reference, cases[c].fast_bytes);
    size_t arena = 0;
    step_result result = {0};
    fast_runs = 0;
    run_step(program, &backend.base, &arena, workspace, &result);
    int fast = 0;
    for (int n = 0; n < program->n_nodes; n++)
      fast += has_variant(&program->nodes[n]) && workspace[n] > frugal_workspace[n];
    printf("fast workspace %s (%zu bytes): %d of %d convolution steps fast, arena %zu (frugal "
           "%zu)\n",
           cases[c].name, cases[c].fast_bytes, fast, convolutions, arena, frugal_arena);
    CHECK_MSG(result.bytes == expected.bytes && result.data &&
                  memcmp(result.data, expected.data, expected.bytes) == 0,
              "%s: a workspace overlapped a live tensor: the step's results differ", cases[c].name);
    /* the steps planned with a fast workspace are the ones whose fast kernel ran (one step) */
    CHECK_MSG(fast_runs == fast, "%s: %d steps planned fast, %d fast kernels ran", cases[c].name,
              fast, fast_runs);
    if (c == 0)
      CHECK_MSG(fast == convolutions && arena <= frugal_arena + frugal_arena / 32,
                "%s: every fast kernel should be kept", cases[c].name);
    else if (c == 1)
      CHECK_MSG(fast == 0 && arena == frugal_arena, "%s: every kernel should be frugal",
                cases[c].name);
    else
      CHECK_MSG(fast > 0 && fast < convolutions && arena == frugal_arena,
                "%s: the fast kernels should be kept where the frugal arena has room, and only "
                "there",
                cases[c].name);
    free(result.data);
  }
  free(expected.data);
  free(frugal_workspace);
  free(workspace);
  ipro_graph_free(program);
  reference->destroy(reference);
  return ipro_test_finish();
}
