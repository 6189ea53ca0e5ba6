/* Identity on oneDNN: a copy that is also where a tensor changes layout. Its input and output
 * each lie as the program carries them (onednn_layouts.c), so copying a channel-blocked tensor
 * into a plain one is one reorder. A module's program hands its output on through such a copy
 * after its backward pass (partitioner/module_program.c), so that the cut tensor stays
 * channel-blocked for every kernel of the module that reads it and is reordered once, into the
 * plain output. (An Identity the program runs as a view has no kernel.) */
#include "onednn_internal.h"

ipro_status ipro_onednn_build_copy(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                   const ipro_node *node, ipro_error *err) {
  ipro_shape x, y;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &y)) return ipro_onednn_unsupported(err, "X and Y differ in shape");
  dnnl_memory_desc_t plain, from, to;
  if (ipro_onednn_plain_md(&plain, x.rank, x.dims, err) ||
      ipro_onednn_layout_md(kernel, node->inputs[0], &plain, &from, err) ||
      ipro_onednn_layout_md(kernel, node->outputs[0], &plain, &to, err))
    return IPRO_ERROR;
  return ipro_onednn_reorder_step(kernel, &from, IPRO_ONEDNN_INPUT, 0, &to, IPRO_ONEDNN_OUTPUT, 0,
                                  err);
}
