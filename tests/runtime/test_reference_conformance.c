/* per-node-test case */
/* Runs the ONNX backend node-test case named by argv[1] through the frontend and the executor on
 * the reference backend, and compares every output with the case's expected data (rtol 1e-3,
 * atol 1e-5 for floats, exact otherwise). How a case is loaded, skipped or rejected is shared with
 * the other conformance runners (tests/support/node_test_case.h). */
#include <stdio.h>

#include "tests/support/node_test_case.h"

int main(int argc, char **argv) {
  ipro_node_case c;
  if (ipro_node_case_open_from_arguments(argc, argv, &c)) {
    ipro_backend *reference = NULL;
    ipro_error err = {{0}};
    if (ipro_backend_create_reference(&reference, &err) != IPRO_OK) {
      ipro_node_case_fail(&c, "ipro_backend_create_reference: %s", err.message);
    } else {
      ipro_node_case_run(&c, reference, NULL, NULL);
      reference->destroy(reference);
    }
  }
  return ipro_node_case_finish(&c, NULL);
}
