/* `--device cuda` where no CUDA device can be used (or infopro was built without CUDA): train
 * and eval each exit with status 1 and print exactly one line,
 *   infopro: --device cuda: <the reason ipro_backend_create_cuda gives>
 * e.g. "infopro: --device cuda: no CUDA device: no CUDA-capable device is detected". Planning
 * needs no device: with the CUDA plugin's libraries `plan --device cuda` succeeds (exit 0), and
 * without them it fails with the same one line. An unknown device is a usage error (2). Where a
 * device is present the test skips (exit 77): the GPU tests in tests/runtime/ cover that case. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/backend.h"
#include "runtime/dataset.h"
#include "support/check.h"
#include "support/command.h"

static void expect_failure(const char *arguments, const char *expected_line) {
  static ipro_command_result result;
  ipro_test_run_infopro(arguments, &result);
  CHECK_MSG(result.exit_status == 1, "infopro %s: exit %d, 1 expected", arguments,
            result.exit_status);
  CHECK_MSG(result.err_lines == 1, "infopro %s: %d lines on stderr, 1 expected:\n%s", arguments,
            result.err_lines, result.err);
  char line[1200];
  snprintf(line, sizeof line, "%s\n", expected_line);
  CHECK_MSG(strcmp(result.err, line) == 0, "infopro %s: stderr\n  %s expected\n  %s", arguments,
            line, result.err);
}

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  ipro_backend *cuda = NULL;
  ipro_error err = {{0}};
  if (ipro_backend_create_cuda(&cuda, &err) == IPRO_OK) {
    cuda->destroy(cuda);
    return ipro_test_skip("a CUDA device is present (the GPU tests in tests/runtime/ run there)");
  }
  CHECK_MSG(strstr(err.message, "no CUDA device") == err.message ||
                strstr(err.message, "built without CUDA") != NULL,
            "unexpected reason: %s", err.message);
  char expected[1200];
  snprintf(expected, sizeof expected, "infopro: --device cuda: %s", err.message);
  if (strstr(err.message, "no CUDA device") == err.message) {
    static ipro_command_result planned;
    ipro_test_run_infopro("plan models/resnet8_fmnist.onnx --batch 8 --device cuda", &planned);
    CHECK_MSG(planned.exit_status == 0, "plan --device cuda without a GPU: exit %d: %s",
              planned.exit_status, planned.err);
  } else {
    expect_failure("plan models/resnet8_fmnist.onnx --batch 8 --device cuda", expected);
  }
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) == 0) {
    expect_failure("eval models/mlp_fmnist.onnx --data fashion-mnist --limit 16 --device cuda",
                   expected);
    expect_failure("train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --epochs 1 "
                   "--batch 32 --device cuda",
                   expected);
  } else {
    printf("note: Fashion-MNIST not installed at %s; train and eval not checked\n",
           IPRO_FASHION_MNIST_DEFAULT_DIR);
  }
  static ipro_command_result result;
  ipro_test_run_infopro("plan models/resnet8_fmnist.onnx --device gpu", &result);
  CHECK_MSG(result.exit_status == 2, "--device gpu: exit %d, 2 expected", result.exit_status);
  return ipro_test_finish();
}
