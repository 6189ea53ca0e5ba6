/* The memory of one module of a training plan, from its program, by the formula the trainer
 * allocates with (runtime/trainer.h): transient = the activation it receives + its arena + the
 * activation it hands on (all in the shared block), persistent = its parameter block + its
 * training state. The partitioner's cost callback and the trainer both use this function, so the
 * plan and the allocation cannot disagree. */
#ifndef IPRO_MODULE_MEMORY_H
#define IPRO_MODULE_MEMORY_H

#include <stdbool.h>

#include "ir/forward_program.h"
#include "ir/planned_memory.h"

/* The plan's own terms (partitioner/module_coster.h), which this module's program fills. */
typedef ipro_planned_memory ipro_module_memory;

/* first: the module reads the image (not a handed-on activation); last: it hands nothing on. */
void ipro_module_memory_of(const ipro_graph *module, const ipro_forward_program *program,
                           bool first, bool last, ipro_module_memory *out);

#endif
