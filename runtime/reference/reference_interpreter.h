/* The reference interpreter: runs a shape-inferred graph node by node with the reference kernels,
 * one malloc per activation. It is the simple oracle runner that the planned, arena-based
 * executors are compared with; it makes no attempt to reuse memory. */
#ifndef IPRO_REFERENCE_INTERPRETER_H
#define IPRO_REFERENCE_INTERPRETER_H

#include "frontend/graph.h"
#include "reference_kernels.h"

/* tensor_data is indexed by tensor (graph->n_tensors entries). The caller sets the entries of the
 * graph inputs (caller-owned data of their inferred shape and dtype); on return every other
 * entry is filled: initializers and constants point at their tensor->data, and every activation a
 * node produces at a fresh allocation sized from its inferred shape (graph->batch binds a
 * symbolic batch dimension). Nodes run in graph order; a node whose outputs are all constants
 * (folded by shape inference) is skipped. On failure nothing stays allocated and err names the
 * node. context may be NULL. */
ipro_status ipro_reference_run(const ipro_graph *graph, void **tensor_data,
                               const ipro_kernel_context *context, ipro_error *err);

/* Frees what ipro_reference_run allocated and sets those entries to NULL; graph inputs,
 * initializers and constants are left alone. */
void ipro_reference_release(const ipro_graph *graph, void **tensor_data);

#endif
