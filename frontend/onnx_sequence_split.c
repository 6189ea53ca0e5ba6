/* A split written with sequences (see onnx_decode.h): torch.export without its optimisation
 * writes torch.split and torch.chunk as SplitToSequence, whose sequence SequenceAt nodes read at
 * constant positions. infopro has no sequence type; such a pair is the Split it stands for, with
 * each piece named by the SequenceAt that reads it. */
#include <string.h>

#include "onnx_decode.h"

static int64_t attribute_int(const Onnx__NodeProto *node, const char *name, int64_t fallback) {
  for (size_t a = 0; a < node->n_attribute; a++)
    if (ipro_onnx_named(node->attribute[a]->name, name)) return node->attribute[a]->i;
  return fallback;
}

bool ipro_onnx_sequence_split(const Onnx__GraphProto *graph, const Onnx__NodeProto *node,
                              ipro_sequence_split *out) {
  memset(out, 0, sizeof *out);
  if (!ipro_onnx_default_domain(node) || !ipro_onnx_named(node->op_type, "SplitToSequence") ||
      node->n_input != 2 || node->n_output != 1 || !node->output[0] || !*node->output[0])
    return false;
  int64_t split[IPRO_SEQUENCE_SPLIT_MAX];
  int count, rank;
  if (!ipro_onnx_constant_values(graph, node->input[1], IPRO_DTYPE_INT64, split,
                                 IPRO_SEQUENCE_SPLIT_MAX, &count, &rank))
    return false;
  bool scalar = rank == 0;
  if (scalar && (count != 1 || split[0] <= 0)) return false;
  for (size_t o = 0; o < graph->n_output; o++)
    if (ipro_onnx_named(graph->output[o]->name, node->output[0])) return false;
  /* every reader a SequenceAt at a constant position */
  int pieces = scalar ? 0 : count, highest = -1;
  for (size_t n = 0; n < graph->n_node; n++) {
    const Onnx__NodeProto *reader = graph->node[n];
    bool reads = false;
    for (size_t i = 0; i < reader->n_input; i++)
      reads = reads || ipro_onnx_named(reader->input[i], node->output[0]);
    if (!reads) continue;
    int64_t position[1];
    int one, position_rank;
    if (!ipro_onnx_default_domain(reader) || !ipro_onnx_named(reader->op_type, "SequenceAt") ||
        reader->n_input != 2 || !ipro_onnx_named(reader->input[0], node->output[0]) ||
        reader->n_output != 1 ||
        !ipro_onnx_constant_values(graph, reader->input[1], IPRO_DTYPE_INT64, position, 1, &one,
                                   &position_rank) ||
        one != 1)
      return false;
    int64_t at = position[0] < 0 && !scalar ? position[0] + pieces : position[0];
    if (at < 0 || at >= IPRO_SEQUENCE_SPLIT_MAX || (!scalar && at >= pieces)) return false;
    if (out->pieces[at]) return false; /* one piece read twice: not worth the cases */
    out->pieces[at] = reader->output[0];
    if (at > highest) highest = (int)at;
  }
  out->n_pieces = scalar ? highest + 1 : pieces;
  if (out->n_pieces == 0) return false;
  out->chunk = scalar ? split[0] : 0;
  out->axis = attribute_int(node, "axis", 0);
  return true;
}

bool ipro_onnx_reads_sequence_split(const Onnx__GraphProto *graph, const Onnx__NodeProto *node) {
  if (!ipro_onnx_default_domain(node) || !ipro_onnx_named(node->op_type, "SequenceAt") ||
      node->n_input < 1)
    return false;
  ipro_sequence_split split;
  for (size_t n = 0; n < graph->n_node; n++) {
    const Onnx__NodeProto *writer = graph->node[n];
    if (writer->n_output == 1 && ipro_onnx_named(writer->output[0], node->input[0]))
      return ipro_onnx_sequence_split(graph, writer, &split);
  }
  return false;
}
