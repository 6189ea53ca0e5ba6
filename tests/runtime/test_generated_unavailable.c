/* When the CPU backend's generated kernels cannot be made (here: the LLVM kernel compiler plugin
 * made unloadable before anything loads it), the backend declines the node, so the executor runs
 * the reference kernel in its place, and it records why in its `degraded` field, which `infopro
 * train` prints as a warning: the slower path is said, not hidden. Before any kernel is asked for,
 * the field is empty. */
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "runtime/backend.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/check.h"

int main(void) {
  setenv("IPRO_KERNEL_COMPILER_PLUGIN", "/nonexistent/libinfopro_kernel_compiler.so", 1);
  ipro_backend *onednn = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  if (!onednn) return ipro_test_finish();
  CHECK_MSG(onednn->degraded[0] == '\0', "degraded before any kernel: %s", onednn->degraded);

  ipro_graph *g = hand_graph(19);
  const int64_t dims[1] = {1000}, hyper_dims[1] = {6};
  hand_input(g, "param", 1, dims);
  hand_input(g, "grad", 1, dims);
  hand_input(g, "momentum", 1, dims);
  hand_input(g, "hyper", 1, hyper_dims);
  ipro_node *n =
      hand_node(g, "update", ipro_op_name(IPRO_OP_SGD_UPDATE), "param,grad,momentum,hyper", "");
  n->op = IPRO_OP_SGD_UPDATE;

  CHECK_MSG(!onednn->supports_forward(onednn, g, n),
            "SgdUpdate supported without a kernel compiler");
  CHECK_MSG(strstr(onednn->degraded, "generating the CPU kernel") &&
                strstr(onednn->degraded, "kernel compiler"),
            "degraded says: '%s'", onednn->degraded);
  ipro_backend *reference = NULL;
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  if (reference) {
    CHECK_MSG(reference->supports_forward(reference, g, n), "the reference cannot run SgdUpdate");
    reference->destroy(reference);
  }
  ipro_graph_free(g);
  onednn->destroy(onednn);
  return ipro_test_finish();
}
