/* Internal to the frontend: the helpers the ONNX loader shares between model files and tensor
 * files, and the exporter. Only the frontend's onnx_*.c files see protobuf-c types. */
#ifndef IPRO_ONNX_DECODE_H
#define IPRO_ONNX_DECODE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ir/graph.h"
#include "onnx.pb-c.h"

/* Whether a and b are the same non-empty name. */
static inline bool ipro_onnx_named(const char *a, const char *b) {
  return a && b && *a && !strcmp(a, b);
}
/* Whether node is of the default ONNX domain (unnamed or "ai.onnx"). */
static inline bool ipro_onnx_default_domain(const Onnx__NodeProto *node) {
  return !node->domain || !*node->domain || !strcmp(node->domain, "ai.onnx");
}

/* Reads a whole file into a malloc'd buffer. */
ipro_status ipro_onnx_read_file(const char *path, uint8_t **bytes, size_t *size, ipro_error *err);
/* Fills out's dtype, shape and data from proto (external data relative to model_path). */
ipro_status ipro_onnx_decode_tensor(const Onnx__TensorProto *proto, const char *model_path,
                                    ipro_tensor *out, ipro_error *err);

/* The values of the small constant tensor `name` of graph, an initializer or a Constant node's
 * value (tensor, value_float, value_int or value_ints), converted to `want` (ipro_dtype_convert)
 * into values (room for max), with their count and the tensor's rank; false for anything else
 * (not a constant, more than max values, external data, another dtype). */
bool ipro_onnx_constant_values(const Onnx__GraphProto *graph, const char *name, ipro_dtype want,
                               void *values, int max, int *count, int *rank);

/* torch.export's graph signature (onnx_graph_signature.c): whether graph carries one (the kind of
 * program input, PARAMETER, BUFFER, CONSTANT_TENSOR, ..., in its inputs' and value_infos'
 * metadata), and the kind it gives tensor `name`, written into kind (room for size): false when
 * it gives none. */
bool ipro_onnx_has_graph_signature(const Onnx__GraphProto *graph);
bool ipro_onnx_signature_kind(const Onnx__GraphProto *graph, const char *name, char *kind,
                              size_t size);
/* How many BatchNormalizations torch.export's exporter folded into the layers before them (its
 * default optimisation does so with each one after a convolution: exact at inference, another
 * network in training, without batch statistics), and the first one's module name into first
 * (room for size): the running means the program's signature (the graph's metadata entry
 * "pkg.torch.export.ExportedProgram.graph_signature", one line per input, "b_bn1_running_mean:
 * BUFFER target='bn1.running_mean' persistent=True") names and the graph neither holds nor
 * reads. 0 without that signature. */
int ipro_onnx_folded_batch_norms(const Onnx__GraphProto *graph, char *first, size_t size);

/* The float initializer an Identity node of graph copies, when node is one an exporter made by
 * deduplicating equal parameters (onnx_parameter_copies.c): its output, not a graph output, is
 * then loaded and exported as an initializer of its own. NULL for any other node. */
const Onnx__TensorProto *ipro_onnx_parameter_copy_source(const Onnx__GraphProto *graph,
                                                         const Onnx__NodeProto *node);

/* A SplitToSequence whose sequence only SequenceAt nodes read, at constant positions, with a
 * constant split (onnx_sequence_split.c): the Split it stands for. split either lists the pieces'
 * extents (n_pieces of them) or is one chunk size (chunk > 0, n_pieces up to the highest piece
 * read); pieces[k] names the SequenceAt output that is piece k (NULL: unread). */
#define IPRO_SEQUENCE_SPLIT_MAX 64
typedef struct {
  int n_pieces;
  int64_t axis, chunk;
  const char *pieces[IPRO_SEQUENCE_SPLIT_MAX];
} ipro_sequence_split;
bool ipro_onnx_sequence_split(const Onnx__GraphProto *graph, const Onnx__NodeProto *node,
                              ipro_sequence_split *out);
/* Whether node is a SequenceAt of a sequence ipro_onnx_sequence_split turns into a Split (the
 * loader then skips it: its output is a piece of that Split). */
bool ipro_onnx_reads_sequence_split(const Onnx__GraphProto *graph, const Onnx__NodeProto *node);

#endif
