/* The backend interface: what the runtime needs from a device to execute module programs.
 *
 * A backend owns device memory (every byte it hands out is counted, so measured memory can be
 * compared with the plan) and turns graph nodes into prepared kernels. Preparing happens once,
 * when a program is built: that is where a backend creates its library primitives (oneDNN
 * primitives, cuDNN descriptors and algorithm choices) and says how much workspace each kernel
 * needs, so the workspace can be planned into the module's arena like any other tensor. Running
 * a kernel then only reads and writes memory the program gives it.
 *
 * Tensors cross this interface in plain row-major (NCHW) float32 layout, with the shapes the
 * frontend inferred; a backend may keep its own layouts inside a kernel, and may carry a tensor
 * that only its own kernels touch in its own layout from one kernel to the next (choose_layouts
 * below): never a parameter or training state, and never a graph input or output unless the
 * caller opens it (a local-training module's handoff, which the two modules' executors agree on:
 * runtime/trainer.c), so nothing else outside the backend's kernels ever sees one. Backends
 * implement this
 * struct in their own files (runtime/reference/, runtime/onednn/, runtime/cuda/); nothing else
 * knows which one it is talking to. */
#ifndef IPRO_BACKEND_H
#define IPRO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

typedef struct ipro_backend ipro_backend;

/* A request in choose_layouts' layouts on entry: the backend may carry this graph input or
 * output in a layout of its own. */
#define IPRO_LAYOUT_OPEN ((uint8_t)0xff)

/* A prepared kernel for one node (forward now; backward kernels arrive with training). */
typedef struct ipro_kernel ipro_kernel;
struct ipro_kernel {
  size_t workspace_bytes; /* scratch the kernel needs while it runs; planned into the arena */
  /* The backend has another kernel for the node that needs less workspace (and more time),
   * which it prepares while its `frugal` is set (oneDNN: a direct convolution instead of
   * Winograd's). */
  bool has_frugal_variant;
  /* inputs/outputs: device pointers of the node's inputs/outputs (NULL where omitted); workspace:
   * workspace_bytes of device memory, aligned to the arena_alignment below. step seeds random ops
   * (Dropout). */
  ipro_status (*run)(ipro_kernel *self, void *const *inputs, void *const *outputs, void *workspace,
                     uint64_t step, ipro_error *err);
  void (*destroy)(ipro_kernel *self);
};

struct ipro_backend {
  const char *name;
  /* Whether prepare_forward can handle this node as its shapes and attributes stand. */
  bool (*supports_forward)(const ipro_backend *self, const ipro_graph *graph,
                           const ipro_node *node);
  ipro_status (*prepare_forward)(ipro_backend *self, const ipro_graph *graph, const ipro_node *node,
                                 ipro_kernel **out, ipro_error *err);
  /* Optional (NULL: every tensor plain). Fills layouts[t] for every tensor of graph: 0 for the
   * plain layout, otherwise the backend's own code for a layout its kernels carry t in. A tensor
   * touched by a node in `excluded` (n_nodes flags, may be NULL: nodes another backend runs)
   * stays plain. On entry layouts holds the caller's requests for graph inputs and outputs, 0
   * for every other tensor: nonzero (IPRO_LAYOUT_OPEN, or a code this backend chose for the
   * same tensor in another program) lets the backend carry that one too, where its own layout
   * has the plain layout's bytes; the backend carries a requested graph output wherever it can,
   * and the caller reads back what it chose. */
  void (*choose_layouts)(const ipro_backend *self, const ipro_graph *graph, const bool *excluded,
                         uint8_t *layouts);
  /* Optional with choose_layouts (NULL: every layout has the plain size): the bytes tensor t of
   * graph takes in the backend's layout code `layout` (a channel-blocked layout pads the
   * channels up to its block), which the program plans for it. */
  size_t (*layout_bytes)(const ipro_backend *self, const ipro_graph *graph, int tensor,
                         uint8_t layout);
  /* choose_layouts may carry activations in the backend's own layouts (oneDNN on a CPU with
   * AVX-512, unless IPRO_ONEDNN_PLAIN_LAYOUTS=1 when it was created); false where it only ever
   * leaves them plain. */
  bool carries_layouts;
  /* While an executor prepares a graph's kernels on this backend: that graph's layouts (from
   * choose_layouts), which the kernels read their operands and write their results in; NULL
   * otherwise (everything plain). */
  const uint8_t *layouts;
  /* While an executor prepares a graph's kernels on this backend: prepare each node's kernel
   * with the least workspace (has_frugal_variant above); the executor keeps the faster kernels
   * only where they cost the program's arena little (executor.c). */
  bool frugal;

  /* Device memory. Every successful allocate adds to bytes_allocated and bytes_in_use; release
   * subtracts from bytes_in_use; peak_bytes is the high-water mark of bytes_in_use. */
  ipro_status (*allocate)(ipro_backend *self, size_t bytes, void **out, ipro_error *err);
  void (*release)(ipro_backend *self, void *pointer, size_t bytes);
  ipro_status (*copy_to_device)(ipro_backend *self, void *device, const void *host, size_t bytes,
                                ipro_error *err);
  ipro_status (*copy_to_host)(ipro_backend *self, void *host, const void *device, size_t bytes,
                              ipro_error *err);
  /* Copies between two device buffers; NULL in host-memory backends, where copy_to_host does. */
  ipro_status (*copy_on_device)(ipro_backend *self, void *destination, const void *source,
                                size_t bytes, ipro_error *err);
  /* Page-locked host memory, which the device copies from and to at full speed
   * (cudaMallocHost), for host buffers that cross to the device every step (the MPI pipeline's
   * messages: runtime/mpi/device_handoff.c); not counted in the byte counts. NULL in
   * host-memory backends, where ordinary memory serves. */
  ipro_status (*allocate_pinned)(ipro_backend *self, size_t bytes, void **out, ipro_error *err);
  void (*release_pinned)(ipro_backend *self, void *pointer);
  /* Host-visible memory: device pointers may be handed to the reference kernels directly. */
  bool host_memory;
  /* Its kernels run a BatchNormalization and an Add fused with the ReLU after them, and the
   * fused normalisation's gradient (codegen/fusion.h): the training programs built for it are
   * then fused. */
  bool runs_fused_relu;
  /* What the programs planned for this backend align arena tensors, workspaces and blocks to
   * (ir/forward_program.h); 0: IPRO_ARENA_ALIGNMENT (64). CUDA: 256, what cuDNN and cuBLAS
   * want of their operands and workspaces. */
  size_t arena_alignment;
  /* The device memory in use as the driver reports it (CUDA: cudaMemGetInfo's total - free), a
   * measure that does not read this backend's counters nor the plan; NULL on host memory, which
   * the process's resident set measures instead (runtime/process_memory.h). */
  ipro_status (*device_memory_used)(ipro_backend *self, uint64_t *bytes, ipro_error *err);
  void (*destroy)(ipro_backend *self);
  /* Why some nodes this backend would run well were left to a slower fallback (the first such
   * reason: the CPU backend's generated kernels could not be made, e.g. without LLVM), or empty.
   * The backend goes on working; the command warns the user with it. */
  char degraded[512];

  size_t bytes_allocated, bytes_in_use, peak_bytes;
};

/* The backends (each in its own folder). The oneDNN backend is the CPU default; the reference
 * backend runs the plain C kernels that serve as the oracle. The CUDA backend (cuDNN, cuBLAS and
 * generated PTX) keeps its memory on the GPU (host_memory false); creating it fails with one
 * message when there is no device, or when infopro was built without the CUDA toolkit. */
ipro_status ipro_backend_create_reference(ipro_backend **out, ipro_error *err);
ipro_status ipro_backend_create_onednn(ipro_backend **out, ipro_error *err);
ipro_status ipro_backend_create_cuda(ipro_backend **out, ipro_error *err);
/* Drops what the oneDNN backend keeps cached for reuse and no program holds any more: oneDNN's
 * primitive cache, where the split search leaves the primitives of the candidate modules it
 * costed and no trainer runs (11.5 MB of a Swin Transformer's at K = 2). A primitive a program
 * holds stays: the cache only shares it. */
void ipro_backend_release_unused_primitives(void);
/* The CUDA backend for planning, on a machine with or without a GPU (it needs the CUDA plugin's
 * libraries, not a device): its kernels report the workspace the device-backed backend's kernels
 * will reserve, computed from shapes alone (cuDNN convolutions and reductions get a bound that
 * the algorithm chosen on the device must fit), but cannot run; it allocates and copies
 * nothing. Planning a CUDA program with it makes the plan the same on every machine. */
ipro_status ipro_backend_create_cuda_planning(ipro_backend **out, ipro_error *err);

/* Where a command runs (backend_choice.c): the CPU (oneDNN, or the reference kernels alone) or
 * an NVIDIA GPU. */
typedef enum { IPRO_DEVICE_CPU, IPRO_DEVICE_CUDA } ipro_device;

const char *ipro_device_name(ipro_device device);
/* "cpu" or "cuda"; anything else is an error naming the text. */
ipro_status ipro_device_parse(const char *text, ipro_device *out, ipro_error *err);
/* The backend for device and the fallback for the nodes it declines: oneDNN with the reference
 * kernels behind it, the reference kernels alone (reference, CPU only), or CUDA without a
 * fallback (the reference kernels cannot read device memory). *fallback may come back NULL. */
ipro_status ipro_backend_create_for(ipro_device device, bool reference, ipro_backend **backend,
                                    ipro_backend **fallback, ipro_error *err);
/* The same for costing and planning only: on cuda the planning backend above, so that planning
 * for the GPU needs none. */
ipro_status ipro_backend_create_for_planning(ipro_device device, bool reference,
                                             ipro_backend **backend, ipro_backend **fallback,
                                             ipro_error *err);

/* Helpers for host-memory backends (host_memory.c): counted, 64-byte aligned allocations; the
 * 2 MiB pages inside a block of at least IPRO_HOST_HUGE_PAGE_MIN bytes are advised for
 * transparent huge pages (IPRO_HUGE_PAGES=0: not). */
#define IPRO_HOST_HUGE_PAGE ((uintptr_t)2 << 20)
#define IPRO_HOST_HUGE_PAGE_MIN ((size_t)4 << 20)
ipro_status ipro_host_allocate(ipro_backend *self, size_t bytes, void **out, ipro_error *err);
void ipro_host_release(ipro_backend *self, void *pointer, size_t bytes);
ipro_status ipro_host_copy(ipro_backend *self, void *destination, const void *source, size_t bytes,
                           ipro_error *err);

#endif
