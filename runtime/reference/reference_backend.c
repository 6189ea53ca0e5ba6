/* The reference backend: the plain C kernels of reference_kernels.h behind the backend
 * interface, on counted host memory. It is the oracle the other backends are compared with, and
 * the fallback the oneDNN backend uses for ops oneDNN does not cover. Each kernel's workspace holds
 * its double temporaries (reference_widening.c), so they are planned into the arena. */
#include <stdlib.h>

#include "reference_kernels.h"
#include "runtime/backend.h"

typedef struct {
  ipro_kernel base;
  const ipro_graph *graph;
  const ipro_node *node;
  ipro_reference_forward_fn forward;
} reference_kernel;

static ipro_status run_reference(ipro_kernel *self, void *const *inputs, void *const *outputs,
                                 void *workspace, uint64_t step, ipro_error *err) {
  reference_kernel *k = (reference_kernel *)self;
  ipro_kernel_context context = {
      .seed = 0, .step = step, .scratch = workspace, .scratch_bytes = self->workspace_bytes};
  return k->forward(k->graph, k->node, inputs, outputs, &context, err);
}

static void destroy_reference(ipro_kernel *self) { free(self); }

static bool supports_forward(const ipro_backend *self, const ipro_graph *graph,
                             const ipro_node *node) {
  (void)self;
  (void)graph;
  return node->op < IPRO_OP_COUNT && ipro_reference_forward_table()[node->op] != NULL;
}

static ipro_status prepare_forward(ipro_backend *self, const ipro_graph *graph,
                                   const ipro_node *node, ipro_kernel **out, ipro_error *err) {
  (void)self;
  reference_kernel *k = calloc(1, sizeof *k);
  if (!k) return ipro_error_set(err, "out of memory preparing node '%s'", node->name);
  k->base.run = run_reference;
  k->base.destroy = destroy_reference;
  k->graph = graph;
  k->node = node;
  k->forward = ipro_reference_forward_table()[node->op];
  if (ipro_reference_workspace_bytes(graph, node, &k->base.workspace_bytes, err) != IPRO_OK) {
    free(k);
    return IPRO_ERROR;
  }
  *out = &k->base;
  return IPRO_OK;
}

static void destroy_backend(ipro_backend *self) { free(self); }

ipro_status ipro_backend_create_reference(ipro_backend **out, ipro_error *err) {
  ipro_backend *b = calloc(1, sizeof *b);
  if (!b) return ipro_error_set(err, "out of memory creating the reference backend");
  b->name = "reference";
  b->supports_forward = supports_forward;
  b->prepare_forward = prepare_forward;
  b->allocate = ipro_host_allocate;
  b->release = ipro_host_release;
  b->copy_to_device = ipro_host_copy;
  b->copy_to_host = ipro_host_copy;
  b->host_memory = true;
  b->runs_fused_relu = true;
  b->destroy = destroy_backend;
  *out = b;
  return IPRO_OK;
}
