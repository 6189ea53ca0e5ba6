/* per-node-test case */
/* Runs the ONNX backend node-test case named by argv[1] through the executor on the oneDNN
 * backend, with the reference backend taking the nodes oneDNN does not support, and compares
 * every output with the case's expected data (rtol 1e-3, atol 1e-5 for floats, exact otherwise).
 * It names the nodes that fell back, and the last line says where the kernels ran:
 * "CASE op=OP backend=onednn|onednn+fallback|fallback-only|none result=..." (none: every node was
 * folded into a constant or became a view). A case is a oneDNN pass only when oneDNN ran at least
 * one of its kernel steps: with fallback-only or none it is reported to ctest as skipped (exit 77,
 * the reason printed), since the reference runner already checks those kernels, so ctest's count
 * of passed oneDNN cases is the number oneDNN really ran. How a case is loaded, skipped or
 * rejected is shared with the other conformance runners (tests/support/node_test_case.h). */
#include <stdio.h>

#include "ir/forward_program.h"
#include "tests/support/node_test_case.h"

/* Prints the computed nodes that oneDNN declines, which the executor gives to the fallback. */
static void print_fallback_nodes(const ipro_graph *graph, const ipro_backend *onednn) {
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (ipro_node_is_computed(graph, node) && !ipro_node_is_view(graph, node) &&
        !onednn->supports_forward(onednn, graph, node))
      printf("on the reference fallback: node '%s' (%s)\n", node->name, node->op_type);
  }
}

int main(int argc, char **argv) {
  ipro_node_case c;
  const char *where = "backend=none";
  if (ipro_node_case_open_from_arguments(argc, argv, &c)) {
    ipro_backend *onednn = NULL, *reference = NULL;
    ipro_error err = {{0}};
    if (ipro_backend_create_onednn(&onednn, &err) != IPRO_OK ||
        ipro_backend_create_reference(&reference, &err) != IPRO_OK) {
      ipro_node_case_fail(&c, "creating the backends: %s", err.message);
    } else {
      ipro_case_steps steps = {0, 0};
      ipro_node_case_run(&c, onednn, reference, &steps);
      printf("%d of %d kernel step(s) on oneDNN\n", steps.primary_steps, steps.kernel_steps);
      print_fallback_nodes(c.graph, onednn);
      if (steps.kernel_steps > 0)
        where = steps.primary_steps == steps.kernel_steps ? "backend=onednn"
                : steps.primary_steps > 0                 ? "backend=onednn+fallback"
                                                          : "backend=fallback-only";
      if (steps.primary_steps == 0)
        ipro_node_case_skip(&c, steps.kernel_steps > 0
                                    ? "oneDNN ran none of its kernel steps (all on the reference "
                                      "fallback, which the reference runner checks)"
                                    : "no kernel step to run (every node folded into a constant "
                                      "or a view)");
    }
    if (onednn) onednn->destroy(onednn);
    if (reference) reference->destroy(reference);
  }
  return ipro_node_case_finish(&c, where);
}
