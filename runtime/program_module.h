/* One module's lowered training program inside a compiled program file (program_file.h): its
 * training graph as the compiler left it (forward pass, heads and losses, backward pass and
 * optimizer updates, with shapes at the program's batch and the weights it starts from) and the
 * trainer's bookkeeping of it (codegen/training_graph.h: parameters, gradients, labels, losses,
 * hyper-parameters). The runner builds its trainer from these alone, so a compiled program runs
 * no ONNX import, no heads, no autodiff and no fusion at start-up (byte layout:
 * schemas/program.md, "module").
 *
 * Reading checks every count against the bytes that remain and every index against the graph
 * it points into, so a damaged module is an error, never an out-of-range read; each failure
 * names the field. */
#ifndef IPRO_PROGRAM_MODULE_H
#define IPRO_PROGRAM_MODULE_H

#include "codegen/training_graph.h"
#include "runtime/framed_file.h"

void ipro_program_module_put(ipro_byte_writer *w, const ipro_graph *graph,
                             const ipro_training_graph *training);
/* On failure *graph is NULL, training is empty, and err says which field is out of range. */
ipro_status ipro_program_module_get(ipro_byte_reader *r, ipro_graph **graph,
                                    ipro_training_graph *training, ipro_error *err);

#endif
