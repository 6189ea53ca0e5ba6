/* per-node-test case */
/* Shape inference against the ONNX backend node tests: for the case named by argv[1], the dtype
 * and shape that normalisation + inference give each graph output must equal those of the case's
 * expected output_N.pb, and an output folded into a constant must hold the expected values. The
 * expected files come from the ONNX project, so they are an independent oracle. How a case is
 * loaded, skipped or rejected is shared with the runtime runners (tests/support/node_test_case.h).
 */
#include "tests/support/node_test_case.h"

int main(int argc, char **argv) {
  ipro_node_case c;
  if (ipro_node_case_open_from_arguments(argc, argv, &c)) ipro_node_case_check_shapes(&c);
  return ipro_node_case_finish(&c, NULL);
}
