/* The forward executor of executor.h. */
#include "executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The most inputs or outputs a node may have when it runs (a kernel gets them in arrays of
 * this size); larger nodes are refused when the program is built. */
#define IPRO_EXECUTOR_MAX_OPERANDS 64

struct ipro_executor {
  const ipro_graph *graph;
  ipro_backend *backend;
  ipro_forward_program program;
  ipro_kernel **kernels; /* one per step; NULL for views */
  int primary_steps;
  /* With the frugal kernels chosen and the blocks deferred (ipro_executor_allocate_within): the
   * faster kernels and their program, until the caller says how much room the arena has. */
  ipro_kernel **fast;
  ipro_forward_program fast_program;
  int fast_steps;
  bool allocated; /* the blocks (or, planning only, the kernels) settled */
  uint8_t *parameters, *persistent, *input_block, *arena;
  void **bound_inputs;  /* per tensor, with external inputs, and parameters with external ones */
  void **bound_outputs; /* per graph output: device memory it is copied into, or NULL */
  ipro_executor_options options;
  uint64_t runs;
  int pause_step; /* ipro_executor_set_pause */
  ipro_executor_pause pause;
  void *pause_context;
  double *node_seconds; /* ipro_executor_time_nodes */
  uint8_t *layouts;     /* per tensor: the layout its kernels carry it in (0 plain) */
};

static void *slot_pointer(const ipro_executor *e, int tensor) {
  const ipro_tensor_slot *slot = &e->program.slots[tensor];
  switch (slot->kind) {
  case IPRO_SLOT_ARENA: return e->arena + slot->offset;
  case IPRO_SLOT_PARAMETER:
    return e->options.external_parameters ? e->bound_inputs[tensor] : e->parameters + slot->offset;
  case IPRO_SLOT_PERSISTENT: return e->persistent ? e->persistent + slot->offset : NULL;
  case IPRO_SLOT_INPUT:
    return e->options.external_inputs ? e->bound_inputs[tensor] : e->input_block + slot->offset;
  case IPRO_SLOT_OUTPUT: return e->bound_outputs[slot->offset];
  default: return NULL;
  }
}

/* Prepares every computed node's kernel on the backend, or on the fallback (noted in
 * on_fallback) where the backend cannot run it. */
static ipro_status prepare_kernels(ipro_executor *e, ipro_backend *fallback, size_t *workspace,
                                   bool *on_fallback, ipro_error *err) {
  const ipro_graph *graph = e->graph;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (!ipro_node_is_computed(graph, node) || ipro_node_is_view(graph, node)) continue;
    if (node->n_inputs > IPRO_EXECUTOR_MAX_OPERANDS || node->n_outputs > IPRO_EXECUTOR_MAX_OPERANDS)
      return ipro_error_set(err, "node '%s' (%s) has more than %d inputs or outputs", node->name,
                            node->op_type, IPRO_EXECUTOR_MAX_OPERANDS);
    ipro_backend *chosen = e->backend;
    if (!chosen->supports_forward(chosen, graph, node)) {
      /* Without a fallback, preparing on the backend says why it cannot (naming the node). */
      if (!fallback && chosen->prepare_forward(chosen, graph, node, &e->kernels[n], err) != IPRO_OK)
        return IPRO_ERROR;
      if (!fallback && e->kernels[n]) {
        e->primary_steps++;
        workspace[n] = e->kernels[n]->workspace_bytes;
        continue;
      }
      if (!fallback || !fallback->supports_forward(fallback, graph, node))
        return ipro_error_set(err, "node '%s' (%s): the %s backend cannot run it", node->name,
                              node->op_type, e->backend->name);
      chosen = fallback;
      on_fallback[n] = true;
    } else {
      e->primary_steps++;
    }
    if (chosen->prepare_forward(chosen, graph, node, &e->kernels[n], err) != IPRO_OK)
      return IPRO_ERROR;
    workspace[n] = e->kernels[n]->workspace_bytes;
  }
  return IPRO_OK;
}

static void release_kernels(ipro_executor *e) {
  for (int n = 0; n < e->graph->n_nodes; n++) {
    if (e->kernels[n]) e->kernels[n]->destroy(e->kernels[n]);
    e->kernels[n] = NULL;
  }
  e->primary_steps = 0;
}

/* Whether node reads or writes a tensor that layouts puts in a backend's own layout. */
static bool touches_own_layout(const ipro_node *node, const uint8_t *layouts) {
  for (int i = 0; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0 && layouts[node->inputs[i]]) return true;
  for (int o = 0; o < node->n_outputs; o++)
    if (node->outputs[o] >= 0 && layouts[node->outputs[o]]) return true;
  return false;
}

/* The options' requests for the handoff's layouts (executor.h) in layouts, as choose_layouts
 * takes them (backend.h); all plain for a backend that chooses none. A module that hands its
 * input straight on asks for neither: its two ends are one tensor. */
static void request_layouts(const ipro_executor *e, uint8_t *layouts) {
  const ipro_graph *graph = e->graph;
  memset(layouts, 0, (size_t)graph->n_tensors);
  if (!e->backend->choose_layouts) return;
  int input = graph->n_inputs > 0 ? graph->inputs[0] : -1;
  int output = graph->n_outputs > 0 ? graph->outputs[0] : -1;
  if (input >= 0 && input == output) return;
  if (input >= 0 && e->options.input0_layout_open) layouts[input] = IPRO_LAYOUT_OPEN;
  if (output >= 0) layouts[output] = e->options.output0_layout;
}

/* prepare_kernels in the layouts the backend chooses for the graph (all plain when it chooses
 * none). A fallback kernel reads and writes plain memory, so a node left to the fallback that
 * touches a tensor carried in the backend's layout is excluded, and the layouts chosen and the
 * kernels prepared again, until no such node remains. tensor_bytes[t]: the bytes of a tensor in
 * the layout it ends up in (0: its shape's). */
static ipro_status prepare_in_layouts(ipro_executor *e, ipro_backend *fallback, size_t *workspace,
                                      size_t *tensor_bytes, ipro_error *err) {
  const ipro_graph *graph = e->graph;
  ipro_backend *b = e->backend;
  bool *on_fallback = calloc((size_t)graph->n_nodes + 1, sizeof(bool));
  bool *excluded = calloc((size_t)graph->n_nodes + 1, sizeof(bool));
  uint8_t *layouts = calloc((size_t)graph->n_tensors + 1, 1);
  ipro_status status = IPRO_OK;
  if (!on_fallback || !excluded || !layouts) status = ipro_error_set(err, "out of memory");
  for (bool again = true; status == IPRO_OK && again;) {
    request_layouts(e, layouts);
    if (b->choose_layouts) b->choose_layouts(b, graph, excluded, layouts);
    b->layouts = b->choose_layouts ? layouts : NULL;
    status = prepare_kernels(e, fallback, workspace, on_fallback, err);
    b->layouts = NULL;
    again = false;
    for (int n = 0; status == IPRO_OK && n < graph->n_nodes; n++)
      if (on_fallback[n] && !excluded[n] && touches_own_layout(&graph->nodes[n], layouts))
        excluded[n] = again = true;
    if (again) {
      release_kernels(e);
      memset(on_fallback, 0, (size_t)graph->n_nodes * sizeof(bool));
    }
  }
  for (int t = 0; status == IPRO_OK && t < graph->n_tensors; t++)
    tensor_bytes[t] = layouts[t] && b->layout_bytes ? b->layout_bytes(b, graph, t, layouts[t]) : 0;
  free(on_fallback);
  free(excluded);
  if (status == IPRO_OK) {
    free(e->layouts);
    e->layouts = layouts;
  } else {
    free(layouts);
  }
  return status;
}

static void destroy_kernels(ipro_kernel **kernels, int n) {
  for (int k = 0; k < n; k++)
    if (kernels[k]) kernels[k]->destroy(kernels[k]);
  free(kernels);
}

/* The faster kernels are kept while the program's arena is at most 1/FRUGAL_SLACK larger with
 * their workspaces than with the frugal kernels' (ResNet-32 at batch 128 on AVX-512: Winograd's
 * convolutions, 17% off the step for 2.4% more arena; ResNet-8 at batch 128 on an AMD Zen 4: 2%
 * off for 4.9%, which goes frugal, while on an Intel Xeon with a larger cache oneDNN's
 * scratchpads add 2.8% and it keeps them: the outcome depends on the CPU). */
#define FRUGAL_SLACK 32

/* With the frugal kernels' program chosen: the fast kernel of each step where that program's
 * arena has room for its workspace, the arena growing to arena_limit at most (its own size: not
 * at all), is kept instead (most of Winograd's convolutions run where few activations are live).
 * fast: the fast kernels, freed here. */
static ipro_status keep_fast_where_room(ipro_executor *e, ipro_kernel **fast, size_t arena_limit,
                                        ipro_error *err) {
  const ipro_graph *graph = e->graph;
  size_t *wanted = calloc((size_t)graph->n_nodes + 1, sizeof(size_t));
  bool *widened = calloc((size_t)graph->n_nodes + 1, sizeof(bool));
  ipro_status status = IPRO_OK;
  if (!wanted || !widened) status = ipro_error_set(err, "out of memory creating an executor");
  for (int n = 0; status == IPRO_OK && n < graph->n_nodes; n++)
    if (fast[n] && fast[n]->has_frugal_variant) wanted[n] = fast[n]->workspace_bytes;
  if (status == IPRO_OK)
    status = ipro_forward_program_widen_workspaces(graph, &e->program, wanted, arena_limit, widened,
                                                   err);
  for (int n = 0; status == IPRO_OK && n < graph->n_nodes; n++)
    if (widened[n]) {
      e->kernels[n]->destroy(e->kernels[n]);
      e->kernels[n] = fast[n];
      fast[n] = NULL;
    }
  destroy_kernels(fast, graph->n_nodes);
  free(wanted);
  free(widened);
  return status;
}

/* When a kernel has a variant with less workspace: the graph's kernels prepared frugal too,
 * and the set kept whose program is the better trade (FRUGAL_SLACK). The frugal program is not
 * built when it cannot win: at every step its live bytes are at least the fast program's less
 * the largest workspace of a kernel with a variant, so its arena is at least the fast lower
 * bound less that; a fast arena within the slack of that floor is kept as it is (ResNet-110 at
 * batch 1024, whose 11 MB scratchpads are nothing beside GBs: planning K = 4 would otherwise
 * take twice as long). */
static ipro_status choose_frugal(ipro_executor *e, ipro_backend *fallback, size_t *workspace,
                                 size_t *tensor_bytes, ipro_error *err) {
  const ipro_graph *graph = e->graph;
  size_t largest = 0;
  bool any = false;
  for (int n = 0; n < graph->n_nodes; n++)
    if (e->kernels[n] && e->kernels[n]->has_frugal_variant) {
      any = true;
      if (e->kernels[n]->workspace_bytes > largest) largest = e->kernels[n]->workspace_bytes;
    }
  if (!any) return IPRO_OK;
  size_t bound = e->program.arena_lower_bound_bytes;
  size_t floor = bound > largest ? bound - largest : 0;
  if (e->program.arena_bytes <= floor + floor / FRUGAL_SLACK) return IPRO_OK;
  ipro_kernel **fast = e->kernels;
  int fast_steps = e->primary_steps;
  ipro_forward_program fast_program = e->program;
  e->kernels = calloc((size_t)graph->n_nodes + 1, sizeof(ipro_kernel *));
  if (!e->kernels) {
    e->kernels = fast;
    return ipro_error_set(err, "out of memory creating an executor");
  }
  e->primary_steps = 0;
  e->backend->frugal = true;
  ipro_status status = prepare_in_layouts(e, fallback, workspace, tensor_bytes, err);
  e->backend->frugal = false;
  ipro_forward_program frugal_program = {0};
  if (status == IPRO_OK)
    status = ipro_forward_program_build_aligned(graph, workspace, e->backend->arena_alignment,
                                                tensor_bytes, e->options.output0_outside,
                                                &frugal_program, err);
  bool keep_fast = status != IPRO_OK ||
                   fast_program.arena_bytes <=
                       frugal_program.arena_bytes + frugal_program.arena_bytes / FRUGAL_SLACK;
  if (keep_fast) {
    destroy_kernels(e->kernels, graph->n_nodes);
    ipro_forward_program_release(&frugal_program);
    e->kernels = fast;
    e->primary_steps = fast_steps;
    e->program = fast_program;
    return IPRO_OK; /* a frugal build that failed leaves the fast program, which is whole */
  }
  e->program = frugal_program;
  e->fast = fast;
  e->fast_program = fast_program;
  e->fast_steps = fast_steps;
  return IPRO_OK;
}

/* The choice left open by choose_frugal, with `room` bytes the arena may take at no cost: the
 * faster program whole where its arena fits, else the frugal one with each faster kernel whose
 * workspace fits, growing the arena up to room (keep_fast_where_room). */
static ipro_status settle_kernels(ipro_executor *e, size_t room, ipro_error *err) {
  ipro_kernel **fast = e->fast;
  if (!fast) return IPRO_OK;
  e->fast = NULL;
  if (e->fast_program.arena_bytes <= room) {
    destroy_kernels(e->kernels, e->graph->n_nodes);
    ipro_forward_program_release(&e->program);
    e->kernels = fast;
    e->program = e->fast_program;
    e->primary_steps = e->fast_steps;
    e->fast_program = (ipro_forward_program){0};
    return IPRO_OK;
  }
  ipro_forward_program_release(&e->fast_program);
  return keep_fast_where_room(e, fast,
                              room > e->program.arena_bytes ? room : e->program.arena_bytes, err);
}

/* The persistent block (gradients, optimizer state) starts at zero: set in place on host memory;
 * on a device, copied from a zeroed piece of at most ZERO_PIECE bytes, piece by piece (a zeroed
 * copy of the whole block was a transient of twice the parameters' bytes beside the plan, +53%
 * for the bundled MLP at batch 64). */
#define ZERO_PIECE ((size_t)1 << 20)
static ipro_status zero_persistent(ipro_backend *b, void *block, size_t bytes, ipro_error *err) {
  if (bytes == 0) return IPRO_OK;
  if (b->host_memory) {
    memset(block, 0, bytes);
    return IPRO_OK;
  }
  size_t piece = bytes < ZERO_PIECE ? bytes : ZERO_PIECE;
  void *zeros = calloc(1, piece);
  if (!zeros) return ipro_error_set(err, "out of memory");
  ipro_status status = IPRO_OK;
  for (size_t at = 0; at < bytes && status == IPRO_OK; at += piece) {
    size_t n = bytes - at < piece ? bytes - at : piece;
    status = b->copy_to_device(b, (char *)block + at, zeros, n, err);
  }
  free(zeros);
  return status;
}

/* Frees graph's host copies of the initializers the executor copied into its parameter block
 * (options.release_uploaded): nothing reads them again, so the weights are held once. Constants
 * stay, since kernels may read their values while running. */
static void release_uploaded_values(ipro_executor *e, ipro_graph *graph) {
  if (e->options.plan_only || graph != e->graph) return;
  for (int t = 0; t < graph->n_tensors; t++) {
    ipro_tensor *tensor = &graph->tensors[t];
    if (tensor->kind != IPRO_TENSOR_INITIALIZER || e->program.slots[t].kind != IPRO_SLOT_PARAMETER)
      continue;
    free(tensor->data);
    tensor->data = NULL;
    tensor->data_bytes = 0;
  }
}

/* The parameter block first, filled, and the graph's copy of the values released if the options
 * say so; then the persistent block, zeroed, and the input block and arena. */
static ipro_status allocate_blocks(ipro_executor *e, ipro_error *err) {
  const ipro_forward_program *p = &e->program;
  ipro_backend *b = e->backend;
  if (!e->options.external_parameters &&
      b->allocate(b, p->parameter_bytes, (void **)&e->parameters, err) != IPRO_OK)
    return IPRO_ERROR;
  for (int t = 0; t < e->graph->n_tensors && !e->options.external_parameters; t++) {
    const ipro_tensor *tensor = &e->graph->tensors[t];
    if (p->slots[t].kind != IPRO_SLOT_PARAMETER || !tensor->data) continue;
    if (b->copy_to_device(b, slot_pointer(e, t), tensor->data, tensor->data_bytes, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  if (e->options.release_uploaded) release_uploaded_values(e, e->options.release_uploaded);
  if (b->allocate(b, p->persistent_bytes, (void **)&e->persistent, err) != IPRO_OK ||
      zero_persistent(b, e->persistent, p->persistent_bytes, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!e->options.external_inputs &&
      b->allocate(b, p->input_bytes, (void **)&e->input_block, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!e->options.external_arena &&
      b->allocate(b, p->arena_bytes, (void **)&e->arena, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_executor_options ipro_executor_module_plan_options(bool first, bool last) {
  return (ipro_executor_options){.external_arena = true,
                                 .external_inputs = true,
                                 .plan_only = true,
                                 .output0_outside = !last,
                                 .input0_layout_open = !first,
                                 .output0_layout = last ? 0 : IPRO_LAYOUT_OPEN};
}

ipro_status ipro_executor_create(const ipro_graph *graph, ipro_backend *backend,
                                 ipro_backend *fallback, ipro_executor **out, ipro_error *err) {
  ipro_executor_options defaults = {.external_arena = false};
  return ipro_executor_create_with(graph, backend, fallback, &defaults, out, err);
}

ipro_status ipro_executor_create_with(const ipro_graph *graph, ipro_backend *backend,
                                      ipro_backend *fallback, const ipro_executor_options *options,
                                      ipro_executor **out, ipro_error *err) {
  *out = NULL;
  if (fallback && (!fallback->host_memory || !backend->host_memory)) fallback = NULL;
  ipro_executor *e = calloc(1, sizeof *e);
  size_t *workspace = calloc((size_t)graph->n_nodes + 1, sizeof(size_t));
  size_t *tensor_bytes = calloc((size_t)graph->n_tensors + 1, sizeof(size_t));
  if (e) e->kernels = calloc((size_t)graph->n_nodes + 1, sizeof(ipro_kernel *));
  if (e) e->bound_inputs = calloc((size_t)graph->n_tensors + 1, sizeof(void *));
  if (e) e->bound_outputs = calloc((size_t)graph->n_outputs + 1, sizeof(void *));
  if (!e || !workspace || !tensor_bytes || !e->kernels || !e->bound_inputs || !e->bound_outputs) {
    free(workspace);
    free(tensor_bytes);
    if (e) free(e->kernels);
    if (e) free(e->bound_inputs);
    if (e) free(e->bound_outputs);
    free(e);
    return ipro_error_set(err, "out of memory creating an executor");
  }
  e->options = *options;
  e->graph = graph;
  e->backend = backend;
  ipro_status status = prepare_in_layouts(e, fallback, workspace, tensor_bytes, err);
  if (status == IPRO_OK)
    status =
        ipro_forward_program_build_aligned(graph, workspace, backend->arena_alignment, tensor_bytes,
                                           options->output0_outside, &e->program, err);
  if (status == IPRO_OK) status = choose_frugal(e, fallback, workspace, tensor_bytes, err);
  if (status == IPRO_OK && !options->defer_blocks) status = settle_kernels(e, 0, err);
  if (status == IPRO_OK && !options->plan_only && !options->defer_blocks)
    status = allocate_blocks(e, err);
  free(workspace);
  free(tensor_bytes);
  if (status != IPRO_OK) {
    ipro_executor_free(e);
    return status;
  }
  *out = e;
  return IPRO_OK;
}

ipro_status ipro_executor_run(ipro_executor *e, const void *const *inputs, void **outputs,
                              ipro_error *err) {
  const ipro_graph *graph = e->graph;
  ipro_backend *b = e->backend;
  if (e->options.plan_only) return ipro_error_set(err, "this executor was built to plan only");
  if (!e->arena && e->program.arena_bytes)
    return ipro_error_set(err, "the executor has no arena bound");
  if (!e->persistent && e->program.persistent_bytes)
    return ipro_error_set(err, "the executor's training state was given back");
  if (graph->n_outputs > 0 && e->program.slots[graph->outputs[0]].kind == IPRO_SLOT_OUTPUT &&
      !e->bound_outputs[0])
    return ipro_error_set(err, "the executor has no memory bound for its output '%s'",
                          graph->tensors[graph->outputs[0]].name);
  for (int t = 0; t < graph->n_tensors && e->options.external_parameters; t++)
    if (e->program.slots[t].kind == IPRO_SLOT_PARAMETER && !e->bound_inputs[t])
      return ipro_error_set(err, "the executor has no memory bound for parameter '%s'",
                            graph->tensors[t].name);
  for (int i = 0; i < graph->n_inputs && !e->options.external_inputs; i++) {
    int t = graph->inputs[i];
    if (b->copy_to_device(b, slot_pointer(e, t), inputs[i], e->program.slots[t].bytes, err) !=
        IPRO_OK)
      return IPRO_ERROR;
  }
  void *input_pointers[IPRO_EXECUTOR_MAX_OPERANDS], *output_pointers[IPRO_EXECUTOR_MAX_OPERANDS];
  for (int s = 0; s < e->program.n_steps; s++) {
    const ipro_program_step *step = &e->program.steps[s];
    if (s == e->pause_step && e->pause && e->pause(e->pause_context, err) != IPRO_OK)
      return IPRO_ERROR;
    if (step->is_view) continue;
    const ipro_node *node = &graph->nodes[step->node];
    /* Kernels may look at optional operands past n_inputs: those must read as absent. */
    memset(input_pointers, 0, sizeof input_pointers);
    memset(output_pointers, 0, sizeof output_pointers);
    for (int i = 0; i < node->n_inputs; i++)
      input_pointers[i] = node->inputs[i] >= 0 ? slot_pointer(e, node->inputs[i]) : NULL;
    for (int o = 0; o < node->n_outputs; o++)
      output_pointers[o] = node->outputs[o] >= 0 ? slot_pointer(e, node->outputs[o]) : NULL;
    ipro_kernel *kernel = e->kernels[step->node];
    void *workspace = step->workspace_bytes ? e->arena + step->workspace_offset : NULL;
    struct timespec started, ended;
    if (e->node_seconds) clock_gettime(CLOCK_MONOTONIC, &started);
    ipro_status ran = kernel->run(kernel, input_pointers, output_pointers, workspace, e->runs, err);
    if (e->node_seconds) {
      clock_gettime(CLOCK_MONOTONIC, &ended);
      e->node_seconds[step->node] += (double)(ended.tv_sec - started.tv_sec) +
                                     1e-9 * (double)(ended.tv_nsec - started.tv_nsec);
    }
    if (ran != IPRO_OK) {
      /* Kernels that name the node themselves (the reference kernels do) are not named twice. */
      char named[sizeof err->message];
      snprintf(named, sizeof named, "node '%s'", node->name);
      if (strncmp(err->message, named, strlen(named)) == 0) return IPRO_ERROR;
      return ipro_error_prefix(err, "node '%s' (%s)", node->name, node->op_type);
    }
  }
  for (int i = 0; i < graph->n_outputs; i++) {
    int t = graph->outputs[i];
    if (e->program.slots[t].kind == IPRO_SLOT_OUTPUT) continue; /* computed where it is bound */
    size_t bytes = e->program.slots[t].bytes;
    void *device = e->bound_outputs[i];
    ipro_status s =
        device && b->copy_on_device
            ? b->copy_on_device(b, device, slot_pointer(e, t), bytes, err)
            : b->copy_to_host(b, device ? device : outputs[i], slot_pointer(e, t), bytes, err);
    if (s != IPRO_OK) return IPRO_ERROR;
  }
  e->runs++;
  return IPRO_OK;
}

const ipro_forward_program *ipro_executor_program(const ipro_executor *e) { return &e->program; }

uint8_t ipro_executor_tensor_layout(const ipro_executor *e, int tensor) {
  return e->layouts && tensor >= 0 && tensor < e->graph->n_tensors ? e->layouts[tensor] : 0;
}

void ipro_executor_time_nodes(ipro_executor *e, double *seconds) { e->node_seconds = seconds; }

static ipro_status check_transfer(const ipro_executor *e, int tensor, size_t bytes,
                                  ipro_error *err) {
  if (tensor < 0 || tensor >= e->graph->n_tensors)
    return ipro_error_set(err, "no tensor %d in the program", tensor);
  const ipro_tensor_slot *slot = &e->program.slots[tensor];
  if (slot->kind == IPRO_SLOT_NONE || slot->kind == IPRO_SLOT_ARENA || slot->bytes != bytes)
    return ipro_error_set(err, "tensor '%s' cannot be transferred (%zu bytes asked, %zu held)",
                          e->graph->tensors[tensor].name, bytes, slot->bytes);
  if (slot->kind == IPRO_SLOT_PERSISTENT && !e->persistent)
    return ipro_error_set(err, "tensor '%s' is training state, which was given back",
                          e->graph->tensors[tensor].name);
  if (!slot_pointer(e, tensor))
    return ipro_error_set(err, "tensor '%s' lives outside this executor and is not bound",
                          e->graph->tensors[tensor].name);
  return IPRO_OK;
}

ipro_status ipro_executor_read_tensor(ipro_executor *e, int tensor, void *host, size_t bytes,
                                      ipro_error *err) {
  if (check_transfer(e, tensor, bytes, err) != IPRO_OK) return IPRO_ERROR;
  return e->backend->copy_to_host(e->backend, host, slot_pointer(e, tensor), bytes, err);
}

ipro_status ipro_executor_read_tensor_part(ipro_executor *e, int tensor, size_t offset, void *host,
                                           size_t bytes, ipro_error *err) {
  size_t whole = tensor >= 0 && tensor < e->graph->n_tensors ? e->program.slots[tensor].bytes : 0;
  if (check_transfer(e, tensor, whole, err) != IPRO_OK) return IPRO_ERROR;
  if (offset > whole || bytes > whole - offset)
    return ipro_error_set(err, "tensor '%s': bytes %zu to %zu asked of its %zu",
                          e->graph->tensors[tensor].name, offset, offset + bytes, whole);
  return e->backend->copy_to_host(e->backend, host, (char *)slot_pointer(e, tensor) + offset, bytes,
                                  err);
}

ipro_status ipro_executor_write_tensor(ipro_executor *e, int tensor, const void *host, size_t bytes,
                                       ipro_error *err) {
  if (check_transfer(e, tensor, bytes, err) != IPRO_OK) return IPRO_ERROR;
  return e->backend->copy_to_device(e->backend, slot_pointer(e, tensor), host, bytes, err);
}

void ipro_executor_set_step(ipro_executor *e, uint64_t step) { e->runs = step; }

void ipro_executor_set_pause(ipro_executor *e, int step, ipro_executor_pause pause, void *context) {
  e->pause_step = step;
  e->pause = pause;
  e->pause_context = context;
}

void ipro_executor_bind_arena(ipro_executor *e, void *arena) { e->arena = arena; }

void ipro_executor_bind_input(ipro_executor *e, int input, void *device) {
  if (input >= 0 && input < e->graph->n_inputs) e->bound_inputs[e->graph->inputs[input]] = device;
}

void ipro_executor_bind_parameter(ipro_executor *e, int tensor, const void *device) {
  if (e->options.external_parameters && tensor >= 0 && tensor < e->graph->n_tensors &&
      e->program.slots[tensor].kind == IPRO_SLOT_PARAMETER)
    e->bound_inputs[tensor] = (void *)device;
}

ipro_status ipro_executor_tensor_memory(ipro_executor *e, int tensor, size_t bytes,
                                        const void **device, ipro_error *err) {
  *device = NULL;
  if (check_transfer(e, tensor, bytes, err) != IPRO_OK) return IPRO_ERROR;
  ipro_slot_kind kind = e->program.slots[tensor].kind;
  if (kind != IPRO_SLOT_PARAMETER && kind != IPRO_SLOT_PERSISTENT)
    return ipro_error_set(err, "tensor '%s' is not a parameter or state the program keeps",
                          e->graph->tensors[tensor].name);
  *device = slot_pointer(e, tensor);
  return IPRO_OK;
}

void ipro_executor_bind_output(ipro_executor *e, int output, void *device) {
  if (output >= 0 && output < e->graph->n_outputs) e->bound_outputs[output] = device;
}

uint64_t ipro_executor_step(const ipro_executor *e) { return e->runs; }

int ipro_executor_primary_steps(const ipro_executor *e) { return e->primary_steps; }

ipro_status ipro_executor_allocate_within(ipro_executor *e, size_t room, ipro_error *err) {
  if (!e->options.defer_blocks || e->allocated)
    return ipro_error_set(err, "this executor's blocks were not deferred, or are allocated");
  e->allocated = true;
  if (settle_kernels(e, room, err) != IPRO_OK) return IPRO_ERROR;
  return e->options.plan_only ? IPRO_OK : allocate_blocks(e, err);
}

void ipro_executor_release_state(ipro_executor *e) {
  if (!e || !e->persistent) return;
  e->backend->release(e->backend, e->persistent, e->program.persistent_bytes);
  e->persistent = NULL;
}

void ipro_executor_free(ipro_executor *e) {
  if (!e) return;
  release_kernels(e);
  free(e->kernels);
  if (e->fast) destroy_kernels(e->fast, e->graph->n_nodes);
  ipro_forward_program_release(&e->fast_program);
  ipro_backend *b = e->backend;
  b->release(b, e->parameters, e->program.parameter_bytes);
  if (e->persistent) b->release(b, e->persistent, e->program.persistent_bytes);
  if (!e->options.external_inputs) b->release(b, e->input_block, e->program.input_bytes);
  if (!e->options.external_arena) b->release(b, e->arena, e->program.arena_bytes);
  free(e->bound_inputs);
  free(e->bound_outputs);
  free(e->layouts);
  ipro_forward_program_release(&e->program);
  free(e);
}
