/* The reference kernels: a plain, loop-only C implementation of the forward pass of every op in
 * op_list.h, kept as the oracle that the oneDNN, cuDNN and generated kernels are tested against.
 * The compiler's internal ops (gradients, optimizer updates; codegen/internal_ops.md) are ops like
 * any other, so their kernels are "forward" functions of the same signature in the same table.
 *
 * Each kernel reads the canonical attributes of frontend/canonical_forms.md (never opset-dependent
 * inputs) and the inferred shapes and dtypes in graph->tensors; the data pointers it is given hold
 * row-major values of exactly those shapes. Clarity comes before speed, but the loops are ordered
 * so that a ResNet-110 forward pass at a small batch takes seconds.
 *
 * Real tensors may be float32 or float64. Each arithmetic kernel has one implementation, written
 * over double: on a float64 node it runs on the data itself; on a float32 node the table's entry
 * widens every float32 operand into a double temporary and rounds each float32 output once per
 * element (reference_widening.c), so float32 results are the double results correctly rounded
 * and the reference is the more accurate side of every comparison. Operands of other types
 * (int64 indices and labels, bool masks, shapes) pass untouched, and the kernels that only move
 * data copy elements of any size without widening. Behind the backend interface (the reference
 * backend, and the fallback of the others) the temporaries lie in the kernel's workspace, which
 * the executor plans into the arena like any library's scratchpad; a kernel called directly
 * mallocs them. The kernels' own temporaries (a plane, a row of sums, SupCon's similarity
 * matrix) are still malloc'd. float64 exists for the double-precision
 * finite-difference checks of the gradient rules (tests/codegen/test_gradient_rules.c). */
#ifndef IPRO_REFERENCE_KERNELS_H
#define IPRO_REFERENCE_KERNELS_H

#include <stdint.h>

#include "ir/graph.h"

/* What a kernel needs beyond its node and data. Dropout draws its mask from a counter-based hash
 * of (seed, step, element index) (ipro_reference_dropout_uniform), so a mask can be recomputed
 * anywhere (a backward pass, another backend) from these two numbers alone. */
typedef struct {
  uint64_t seed;
  uint64_t step;
  /* Where the float32 operands' double temporaries go: the kernel's planned workspace
   * (ipro_reference_workspace_bytes bytes, in the module's arena) when the reference kernels run
   * behind the backend interface; NULL (tests calling a kernel directly) mallocs them. */
  void *scratch;
  size_t scratch_bytes;
} ipro_kernel_context;

/* inputs[i] / outputs[i] are the data of the node's i-th input / output, NULL when omitted.
 * context may be NULL (seed 0, step 0). Returns IPRO_ERROR with a message naming the node when the
 * node is outside what the kernel supports (a dtype, an attribute value, an index out of range). */
typedef ipro_status (*ipro_reference_forward_fn)(const ipro_graph *graph, const ipro_node *node,
                                                 void *const *inputs, void *const *outputs,
                                                 const ipro_kernel_context *context,
                                                 ipro_error *err);

/* Indexed by ipro_op; every entry is set. */
const ipro_reference_forward_fn *ipro_reference_forward_table(void);

/* The scratch a node's table entry needs for its double temporaries (reference_widening.c): one
 * 64-byte aligned temporary per float32 operand, 0 for a node with none and for the kernels that
 * only move data. Known before anything runs, so it is planned into the arena. */
ipro_status ipro_reference_workspace_bytes(const ipro_graph *graph, const ipro_node *node,
                                           size_t *bytes, ipro_error *err);

/* Dropout's random number for one element: a uniform value in [0, 1) made from the top 24 bits of
 * splitmix64(splitmix64(splitmix64(seed) ^ step) ^ index). An element is kept when the value is
 * >= ratio. */
float ipro_reference_dropout_uniform(uint64_t seed, uint64_t step, uint64_t index);

#endif
