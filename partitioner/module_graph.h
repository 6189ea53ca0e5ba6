/* Cutting a network into gradient-isolated modules: the module between two cut points is a graph
 * of its own whose input is the first cut's tensor (or the network's input) and whose output is
 * the second cut's tensor (or the network's output). Because a cut point is the only live
 * activation at its position (frontend/cost.h), the module's nodes are exactly the nodes between
 * the two cuts' producers, and they read nothing else from earlier modules but constants.
 *
 * The extracted graph is an independent copy (names, attributes, initializer data) in canonical
 * form, with the batch dimension of its input symbolic again: it needs only
 * ipro_graph_infer_shapes at the batch it was extracted at. */
#ifndef IPRO_MODULE_GRAPH_H
#define IPRO_MODULE_GRAPH_H

#include "ir/graph.h"

/* first_cut / last_cut: tensor indices of graph (a cut point), or -1 for the network's input /
 * output. graph must be normalised and shape-inferred. sizes_only: the trainable parameters'
 * values are not copied, only their sizes (data NULL, data_bytes set): for a program that is
 * planned and never run, which then costs no copy of the weights (the split search builds one
 * per candidate module); they are never folded, so the program planned is the same. */
ipro_status ipro_module_graph_extract(const ipro_graph *graph, int first_cut, int last_cut,
                                      bool sizes_only, ipro_graph **out, ipro_error *err);

#endif
