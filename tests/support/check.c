/* Counting assertions and the summary line for the test programs (see check.h). */
#include "check.h"

#include <stdarg.h>
#include <stdlib.h>

int ipro_test_passed, ipro_test_failed;

void ipro_test_record(bool ok, const char *file, int line, const char *format, ...) {
  if (ok) {
    ipro_test_passed++;
    return;
  }
  ipro_test_failed++;
  va_list args;
  va_start(args, format);
  fprintf(stderr, "%s:%d: check failed: ", file, line);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

int ipro_test_finish(void) {
  printf("%d passed, %d failed\n", ipro_test_passed, ipro_test_failed);
  return ipro_test_failed == 0 && ipro_test_passed > 0 ? 0 : 1;
}

int ipro_test_skip(const char *reason) {
  printf("skipped: %s\n", reason);
  return 77;
}

const char *ipro_test_source_dir(void) {
  const char *dir = getenv("IPRO_SOURCE_DIR");
  return dir ? dir : ".";
}

const char *ipro_test_node_tests_dir(void) {
  const char *dir = getenv("IPRO_NODE_TESTS_DIR");
  return dir ? dir : "tests/data/onnx-node";
}

const char *ipro_test_path(char *buffer, size_t size, const char *relative) {
  snprintf(buffer, size, "%s/%s", ipro_test_source_dir(), relative);
  return buffer;
}
