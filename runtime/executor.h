/* Executes a graph's program on a backend: prepares one kernel per step (on the backend when it
 * supports the node, else on the fallback backend, which must share host memory with it), plans
 * the arena with the kernels' workspaces, and allocates exactly four blocks through the backend:
 * parameters (initializers and constants, copied once), persistent training state (zeroed), the
 * input batch, and the arena; the options leave the inputs, the arena or the parameters to
 * memory the caller binds. The bytes the backend counted can then be compared with the plan.
 * The same executor runs inference graphs and training steps (codegen/training_graph.h). */
#ifndef IPRO_EXECUTOR_H
#define IPRO_EXECUTOR_H

#include "ir/forward_program.h"
#include "runtime/backend.h"

typedef struct ipro_executor ipro_executor;

/* graph must stay alive and unchanged while the executor exists. fallback may be NULL. */
ipro_status ipro_executor_create(const ipro_graph *graph, ipro_backend *backend,
                                 ipro_backend *fallback, ipro_executor **out, ipro_error *err);

/* For executors that share memory (the modules of a local-training plan run one after another
 * in one arena, reading their input from a buffer the previous module wrote). */
typedef struct {
  bool external_arena;  /* no arena of its own: ipro_executor_bind_arena before running */
  bool external_inputs; /* no input block: ipro_executor_bind_input for every graph input */
  bool plan_only;       /* prepare and plan, allocate nothing: for memory-cost queries */
  /* no parameter block: ipro_executor_bind_parameter for every tensor the program keeps there
   * (a test pass reading the trainer's parameters in place) */
  bool external_parameters;
  /* The graph being run (the same pointer, held mutable by the caller), when nothing else needs
   * its parameters' values once they are in the parameter block (a trainer's module graph, a
   * test pass's copy): the host copies of those initializers are freed right after the upload,
   * before the persistent block is laid out, so that the weights are never held twice; constants
   * stay, since kernels may read them while running. NULL: the graph keeps them. */
  ipro_graph *release_uploaded;
  /* Prepare and plan, and leave the choice between faster kernels and ones with less workspace
   * (backend.h, frugal) and the blocks to ipro_executor_allocate_within, once the caller knows
   * how much room the arena has: executors sharing one arena, sized by the largest of them. */
  bool defer_blocks;
  /* Graph output 0 is computed where ipro_executor_bind_output(e, 0, ...) points (bound before
   * every run), not in the arena and copied out: a local-training module's handed-on activation,
   * written straight into the next module's input (IPRO_SLOT_OUTPUT). */
  bool output0_outside;
  /* A local-training module's handoff in the backend's own layout (backend.h, choose_layouts),
   * as the two modules agree (runtime/trainer.c): graph input 0, the activation received, where
   * the backend chooses to carry it (ipro_executor_tensor_layout then says so, and the previous
   * module must write it so); graph output 0, the one handed on, in output0_layout where the
   * backend can write it so (IPRO_LAYOUT_OPEN: wherever it can; 0: plain). Only where the layout
   * has the plain layout's bytes. */
  bool input0_layout_open;
  uint8_t output0_layout;
} ipro_executor_options;

/* The options that plan a module of a local-training plan (the first, the last, both or neither) on
 * its own, for memory-cost queries (the partitioner's costing, a pipeline stage planning modules it
 * does not hold, the kernels built ahead of a compiled program's trainer): planned as the trainer
 * runs it, its output 0 outside, its handoff open to the backend's layouts. */
ipro_executor_options ipro_executor_module_plan_options(bool first, bool last);

ipro_status ipro_executor_create_with(const ipro_graph *graph, ipro_backend *backend,
                                      ipro_backend *fallback, const ipro_executor_options *options,
                                      ipro_executor **out, ipro_error *err);
/* For an executor created with defer_blocks: settles its kernels and allocates its blocks (none
 * while planning only), its arena free to grow to `room` bytes where the faster kernels want it
 * (0: as ipro_executor_create_with would have settled it). Once. */
ipro_status ipro_executor_allocate_within(ipro_executor *executor, size_t room, ipro_error *err);
/* arena: device memory of at least ipro_executor_program(e)->arena_bytes, aligned to the backend's
 * arena_alignment (64 bytes at least). */
void ipro_executor_bind_arena(ipro_executor *executor, void *arena);
/* device memory holding graph input i (its full size); the executor reads it in place. */
void ipro_executor_bind_input(ipro_executor *executor, int input, void *device);
/* device memory holding tensor `tensor` of the parameter block (its full size), read in place
 * by an executor with external parameters; the memory must not change while the executor runs. */
void ipro_executor_bind_parameter(ipro_executor *executor, int tensor, const void *device);
/* Where a parameter or STATE tensor of `bytes` lives, for another executor to read it in place;
 * an error for any other tensor, or another size (the checks of read and write). */
ipro_status ipro_executor_tensor_memory(ipro_executor *executor, int tensor, size_t bytes,
                                        const void **device, ipro_error *err);
/* device memory that graph output i is copied into after each run (instead of outputs[i]): the
 * activation one module hands to the next stays on the device. NULL unbinds. */
void ipro_executor_bind_output(ipro_executor *executor, int output, void *device);
/* inputs[i]: host data of graph input i (ignored with external inputs, may be NULL); outputs[i]:
 * host buffers for graph output i, each of the inferred size (ignored for bound outputs). */
ipro_status ipro_executor_run(ipro_executor *executor, const void *const *inputs, void **outputs,
                              ipro_error *err);
const ipro_forward_program *ipro_executor_program(const ipro_executor *executor);
/* The layout the executor's backend carries a tensor in (backend.h, choose_layouts; 0 plain). */
uint8_t ipro_executor_tensor_layout(const ipro_executor *executor, int tensor);
/* Copies a tensor that lives outside the arena (a parameter, a STATE tensor) from or to host
 * memory; bytes must be the tensor's size. Used for hyper-parameters, checkpoints and export. */
ipro_status ipro_executor_read_tensor(ipro_executor *executor, int tensor, void *host, size_t bytes,
                                      ipro_error *err);
ipro_status ipro_executor_write_tensor(ipro_executor *executor, int tensor, const void *host,
                                       size_t bytes, ipro_error *err);
/* Copies bytes [offset, offset + bytes) of such a tensor to host memory: a reader that walks a
 * tensor piece by piece needs no host copy of its size. */
ipro_status ipro_executor_read_tensor_part(ipro_executor *executor, int tensor, size_t offset,
                                           void *host, size_t bytes, ipro_error *err);
/* A call made in every run just before program step `step` (an index into
 * ipro_executor_program(e)->steps) runs; NULL removes it. What it needs of the program (the
 * gradients, when the steps from `step` on are the optimizer's updates: runtime/replica
 * averaging) is in the persistent block, read and written with the tensor transfers below. */
typedef ipro_status (*ipro_executor_pause)(void *context, ipro_error *err);
void ipro_executor_set_pause(ipro_executor *executor, int step, ipro_executor_pause pause,
                             void *context);
/* From now on every run adds each node's kernel time (wall clock around the backend's run, which
 * on the CPU backends returns when the kernel is done) to seconds[node] (graph->n_nodes entries,
 * zeroed by the caller); NULL stops it. For `--calibrate` (runtime/step_calibration.h). */
void ipro_executor_time_nodes(ipro_executor *executor, double *seconds);
/* The step number random ops see (Dropout masks); it advances by one with every run. */
void ipro_executor_set_step(ipro_executor *executor, uint64_t step);
uint64_t ipro_executor_step(const ipro_executor *executor);
/* How many steps run on the primary backend (the rest use the fallback or are views). */
int ipro_executor_primary_steps(const ipro_executor *executor);
/* Gives the persistent block (gradients, optimizer state: what only training steps use) back to
 * the backend; the parameters stay. A run, or a transfer of such a tensor, is then refused. */
void ipro_executor_release_state(ipro_executor *executor);
void ipro_executor_free(ipro_executor *executor);

#endif
