/* One module's lowered training program inside a compiled program file (program_file.h): its
 * training graph as the compiler left it (forward pass, heads and losses, backward pass and
 * optimizer updates, with shapes at the program's batch and the weights it starts from) and the
 * trainer's bookkeeping of it (codegen/training_graph.h: parameters, gradients, labels, losses,
 * hyper-parameters). The runner builds its trainer from these alone, so a compiled program runs
 * no ONNX import, no heads, no autodiff and no fusion at start-up (byte layout:
 * schemas/program.md, "module").
 *
 * Weights the module shares with the network are not repeated: they are taken from the network
 * (the program's embedded model) at start-up. Nor are the heads' weights drawn from the seed,
 * which are drawn again at start-up (codegen/training_graph.h, ipro_start_values).
 *
 * Reading checks every count against the bytes that remain and every index against the graph
 * it points into, so a damaged module is an error, never an out-of-range read; each failure
 * names the field. */
#ifndef IPRO_PROGRAM_MODULE_H
#define IPRO_PROGRAM_MODULE_H

#include "ir/training_program.h"
#include "runtime/framed_file.h"

/* network, when given, is the network the module was cut from (normalised and inferred at the
 * batch): a tensor whose data is byte for byte the network's tensor of that name is written
 * without it, the weights travelling once, in the program's embedded model. */
void ipro_program_module_put(ipro_byte_writer *w, const ipro_graph *graph,
                             const ipro_training_graph *training, const ipro_graph *network);
/* On failure *graph is NULL, training is empty, and err says which field is out of range. A
 * tensor written without its data comes back with data NULL and data_bytes its size, until
 * ipro_program_module_take_network_values. */
ipro_status ipro_program_module_get(ipro_byte_reader *r, ipro_graph **graph,
                                    ipro_training_graph *training, ipro_error *err);
/* Gives every such tensor the data of network's tensor of its name, which must have its type and
 * size. */
ipro_status ipro_program_module_take_network_values(ipro_graph *module, const ipro_graph *network,
                                                    ipro_error *err);

#endif
