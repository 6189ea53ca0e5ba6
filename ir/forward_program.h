/* The forward program of a graph: the ordered steps that compute its outputs, and where every
 * tensor lives — in the arena at a planned offset (activations and kernel workspaces), in the
 * parameter block (initializers and constants), or in the input block (the graph inputs).
 *
 * Shape ops that only reinterpret bytes (Reshape, Flatten, Squeeze, Unsqueeze, Identity) become
 * views: their output shares its input's buffer and the step does nothing. Nodes folded into
 * constants by shape inference have no step. */
#ifndef IPRO_FORWARD_PROGRAM_H
#define IPRO_FORWARD_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/graph.h"
#include "ir/memory_plan.h"

typedef enum {
  IPRO_SLOT_NONE = 0, /* not used by the program */
  IPRO_SLOT_ARENA,
  IPRO_SLOT_PARAMETER,  /* initializers and constants, copied in once */
  IPRO_SLOT_PERSISTENT, /* STATE tensors: gradients, optimizer moments, zero at the start */
  IPRO_SLOT_INPUT,
  /* graph output 0, built where the caller puts it (a local-training module's handed-on
   * activation, written straight into the next module's input): not in the arena */
  IPRO_SLOT_OUTPUT
} ipro_slot_kind;

typedef struct {
  ipro_slot_kind kind;
  size_t offset; /* within its block */
  size_t bytes;
  /* Arena slots: the tensor whose buffer it is (itself unless it is a view of another), and the
   * steps that buffer is live, first to last. */
  int owner, first_step, last_step;
} ipro_tensor_slot;

typedef struct {
  int node; /* index in graph->nodes */
  bool is_view;
  size_t workspace_bytes, workspace_offset;
} ipro_program_step;

typedef struct {
  int n_steps;
  ipro_program_step *steps;
  ipro_tensor_slot *slots; /* one per graph tensor */
  size_t arena_bytes, arena_lower_bound_bytes;
  size_t parameter_bytes;
  size_t persistent_bytes;
  size_t input_bytes;
  /* What every slot's offset and every block's size is a multiple of: IPRO_ARENA_ALIGNMENT, or
   * the backend's larger arena_alignment (CUDA: 256). */
  size_t alignment;
} ipro_forward_program;

/* workspace_bytes[i] is what node i's kernel needs (0 for none); graph must have concrete
 * shapes. */
ipro_status ipro_forward_program_build(const ipro_graph *graph, const size_t *workspace_bytes,
                                       ipro_forward_program *out, ipro_error *err);
/* The same with every offset and block size a multiple of alignment (a multiple of
 * IPRO_ARENA_ALIGNMENT; 0 means IPRO_ARENA_ALIGNMENT), and tensor_bytes[t], when tensor_bytes is
 * given and that is not 0, the bytes of arena tensor t instead of its shape's (a backend's own
 * layout of it, padded: runtime/backend.h, layout_bytes). output0_outside: graph output 0 (an
 * activation the graph computes, in plain layout) gets IPRO_SLOT_OUTPUT instead of arena room. */
ipro_status ipro_forward_program_build_aligned(const ipro_graph *graph,
                                               const size_t *workspace_bytes, size_t alignment,
                                               const size_t *tensor_bytes, bool output0_outside,
                                               ipro_forward_program *out, ipro_error *err);
/* Gives each step of graph's program whose node n wants more workspace than it has (wanted[n]) that
 * much where the arena has room for it at that step without moving anything else
 * (ipro_memory_plan_refit), ending at or below arena_limit; widened[n] says which got it. The arena
 * grows to the end of the highest, and the lower bound is counted again. */
ipro_status ipro_forward_program_widen_workspaces(const ipro_graph *graph,
                                                  ipro_forward_program *program,
                                                  const size_t *wanted, size_t arena_limit,
                                                  bool *widened, ipro_error *err);
void ipro_forward_program_release(ipro_forward_program *program);
/* Whether node runs at all: false for nodes folded into constants; true for nodes without
 * outputs, which update their inputs in place (optimizer steps). */
bool ipro_node_is_computed(const ipro_graph *graph, const ipro_node *node);
/* Whether node's output 0 can share input 0's bytes. */
bool ipro_node_is_view(const ipro_graph *graph, const ipro_node *node);

#endif
