/* The planned bytes of one module, in the terms the partitioner chooses with
 * (partitioner/module_coster.h) and the runtime measures its programs in (runtime/module_memory.h).
 */
#ifndef IPRO_PLANNED_MEMORY_H
#define IPRO_PLANNED_MEMORY_H

#include <stddef.h>

/* One module's memory, as the trainer allocates it: transient = the activation it receives + its
 * arena + the activation it hands on (all in the shared block), persistent = its parameter block
 * + its training state. */
typedef struct {
  size_t input_bytes, output_bytes, arena_bytes; /* input/output rounded to the arena alignment */
  size_t transient_bytes, persistent_bytes;
  /* The largest workspace one kernel of the program reserves in the arena (on CUDA, a cuDNN
   * convolution's shape-derived bound, runtime/cuda/cuda_conv.c, or cuBLAS's fixed 4 MiB). */
  size_t largest_workspace_bytes;
} ipro_planned_memory;

#endif
