/* scripts/gpu-bundle.sh in CI's environment (no GPU; issue 10, item 4), with the equal-depth
 * ResNet-110 cuts (GPU_BUNDLE_SPLIT=equal: no split search, to keep this test short):
 *   - it writes the tarball, at most 48 MiB, holding every program's five files (train,
 *     program.ipro, kernels.so, kernels.ptx, libinfopro_cuda.so), the Fashion-MNIST subset, the
 *     CPU references (log and trained model) of the ResNet-8 programs, run.sh, compare.py,
 *     make_cifar_shaped.py and the CUDA backend's node-by-node test;
 *   - every library in lib/ has its Debian copyright file in licenses/, by the package that
 *     `dpkg -S` says owns the library on this machine;
 *   - the plugin, unpacked, needs the CUDA 13 runtime, cuBLAS 13 (and cuBLASLt 13) and cuDNN 9
 *     by those SONAMEs (readelf), what the nvidia wheels provide, and no other CUDA library;
 *   - the reference trained model is the ONNX model it was trained from, re-saved (same
 *     initializer names: compare.py run on it against itself says 0 difference, and against the
 *     untrained model finds the weights moved), and the CPU's own spread (the one-thread run
 *     against the reference) is within compare.py's tolerances, while K = 1's trained weights
 *     against K = 2's (another gradient for the first module) are not;
 *   - run.sh, unpacked, fails where there is no GPU with exit 1 and one line on stderr saying
 *     there is no CUDA device.
 * Labelled "bundle". Skipped when infopro was built without CUDA or Fashion-MNIST is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/graph.h"
#include "support/check.h"
#include "support/command.h"

/* The float initializers of a bundled model, as the frontend reads the file (-1 if it cannot). */
static int float_initializers(const char *relative) {
  char path[1024];
  ipro_test_path(path, sizeof path, relative);
  ipro_graph *graph = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_load(path, &graph, &err), &err);
  if (!graph) return -1;
  int count = 0;
  for (int t = 0; t < graph->n_tensors; t++)
    count += graph->tensors[t].kind == IPRO_TENSOR_INITIALIZER &&
             graph->tensors[t].dtype == IPRO_DTYPE_FLOAT;
  ipro_graph_free(graph);
  return count;
}

static char directory[] = "/tmp/ipro_test_gpu_bundle_XXXXXX";

static bool listed(const char *listing, const char *path) {
  char line[600];
  snprintf(line, sizeof line, "infopro-gpu-bundle/%s\n", path);
  return strstr(listing, line) != NULL;
}

/* compare.py with the CPU log and model `cpu`, the other run's log `other_log` and model
 * `other`, against the initial model; a failed comparison (1) must say why in its weights line. */
static void compare_references(ipro_command_result *r, const char *cpu, const char *other_log,
                               const char *other, int expected) {
  char command[4096];
  snprintf(command, sizeof command,
           "cd '%s/infopro-gpu-bundle' && python3 compare.py reference/%s.log reference/%s.log "
           "reference/%s.onnx reference/%s.onnx reference/initial.onnx",
           directory, cpu, other_log, cpu, other);
  ipro_test_run_command_expecting(command, r, expected);
  if (expected == 1)
    CHECK_MSG(strstr(r->out, "weights:") && !strstr(r->err, "Traceback"),
              "compare.py %s against %s failed without saying why: %s %s", cpu, other, r->out,
              r->err);
}

int main(void) {
  bool gpu;
  const char *unavailable = ipro_test_cuda_compile_unavailable(&gpu);
  if (unavailable) return ipro_test_skip(unavailable);
  if (!mkdtemp(directory)) return ipro_test_skip("cannot make a temporary folder");

  static char command[4096];
  static ipro_command_result r;
  snprintf(command, sizeof command,
           "GPU_BUNDLE_SPLIT=equal INFOPRO='%s' scripts/gpu-bundle.sh '%s/bundle.tar.gz'",
           getenv("IPRO_INFOPRO"), directory);
  ipro_test_run_command_expecting(command, &r, 0);
  char tarball[600];
  snprintf(tarball, sizeof tarball, "%s/bundle.tar.gz", directory);
  struct stat st;
  CHECK_MSG(stat(tarball, &st) == 0, "%s not written", tarball);
  CHECK_MSG(st.st_size > 0 && st.st_size <= 48LL * 1024 * 1024, "bundle of %lld bytes",
            (long long)st.st_size);

  snprintf(command, sizeof command, "tar -tzf '%s'", tarball);
  ipro_test_run_command_expecting(command, &r, 0);
  static char listing[sizeof r.out];
  memcpy(listing, r.out, sizeof listing);
  const char *top[] = {"run.sh",
                       "compare.py",
                       "cuda_libraries.sh",
                       "make_cifar_shaped.py",
                       "BUILD-INFO",
                       "data/fashion-mnist/train-images-idx3-ubyte.gz",
                       "data/fashion-mnist/train-labels-idx1-ubyte.gz",
                       "data/fashion-mnist/t10k-images-idx3-ubyte.gz",
                       "data/fashion-mnist/t10k-labels-idx1-ubyte.gz",
                       "reference/resnet8_k1.log",
                       "reference/resnet8_k1.onnx",
                       "reference/resnet8_k2.log",
                       "reference/resnet8_k2.onnx",
                       "reference/resnet8_k1_one_thread.onnx",
                       "reference/resnet8_k2_one_thread.onnx",
                       "reference/initial.onnx",
                       "tests/runtime_test_cuda_vs_cpu"};
  for (size_t t = 0; t < sizeof top / sizeof top[0]; t++)
    CHECK_MSG(listed(listing, top[t]), "%s not in the bundle", top[t]);
  const char *programs[] = {"resnet8_k1",   "resnet8_k2",   "resnet110_k1",
                            "resnet110_k2", "resnet110_k3", "resnet110_k4"};
  const char *files[] = {"train", "program.ipro", "kernels.so", "kernels.ptx",
                         "libinfopro_cuda.so"};
  for (size_t p = 0; p < sizeof programs / sizeof programs[0]; p++)
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
      char path[200];
      snprintf(path, sizeof path, "programs/%s/%s", programs[p], files[f]);
      CHECK_MSG(listed(listing, path), "%s not in the bundle", path);
    }

  /* Unpacked: each carried library's owner, as dpkg says here, has its copyright file. */
  snprintf(command, sizeof command, "tar -C '%s' -xzf '%s'", directory, tarball);
  ipro_test_run_command_expecting(command, &r, 0);
  char folder[600];
  snprintf(folder, sizeof folder, "%s/infopro-gpu-bundle", directory);
  ipro_test_licences_command(folder, command, sizeof command);
  ipro_test_run_command_expecting(command, &r, 0);
  CHECK_MSG(strstr(r.out, "libdnnl.so.2 ") && strstr(r.out, "libprotobuf-c.so.1 ") &&
                !strstr(r.out, "MISSING"),
            "libraries and their licences: %s", r.out);

  /* The CPU kernels are made for the x86-64-v3 level, not this machine's CPU: the GPU machine's
   * host CPU is another. */
  snprintf(command, sizeof command,
           "cd '%s/infopro-gpu-bundle' && for p in programs/*/; do \"$p/train\" --help | "
           "grep -c 'kernels for a x86-64-v3 CPU'; done | sort | uniq -c",
           directory);
  ipro_test_run_command_expecting(command, &r, 0);
  CHECK_MSG(strstr(r.out, "      6 1\n"), "programs with x86-64-v3 kernels: %s", r.out);

  snprintf(command, sizeof command,
           "readelf -d '%s/infopro-gpu-bundle/programs/resnet8_k1/libinfopro_cuda.so' | "
           "sed -n 's/.*NEEDED.*\\[\\(.*\\)\\]/\\1/p' | grep -E 'cuda|cublas|cudnn' | sort | "
           "tr '\\n' ' '",
           directory);
  ipro_test_run_command_expecting(command, &r, 0);
  /* cuBLASLt comes with the cuBLAS wheel; a build without --as-needed names it too. */
  CHECK_MSG(strcmp(r.out, "libcublas.so.13 libcudart.so.13 libcudnn.so.9 ") == 0 ||
                strcmp(r.out, "libcublas.so.13 libcublasLt.so.13 libcudart.so.13 libcudnn.so.9 ") ==
                    0,
            "the plugin needs: %s", r.out);

  /* compare.py on the bundle's own references: identical, a real CPU spread, and two that must
   * fail saying why (exit 1 with its weights line; a crash would exit 1 without it) */
  compare_references(&r, "resnet8_k2", "resnet8_k2", "resnet8_k2", 0);
  char tensors[32]; /* every float initializer of the model, as the frontend reads the file */
  snprintf(tensors, sizeof tensors, "%d tensors", float_initializers("models/resnet8_fmnist.onnx"));
  CHECK_MSG(strstr(r.out, tensors) && strstr(r.out, "whole update differs by 0.00e+00"),
            "compare.py on the reference itself (expected '%s'): %s", tensors, r.out);
  compare_references(&r, "resnet8_k2", "resnet8_k2", "initial", 1);
  compare_references(&r, "resnet8_k2", "resnet8_k2_one_thread", "resnet8_k2_one_thread", 0);
  /* the CPU's own spread, which run.sh prints for scale, is a real one: two threads against one
   * differ, within the tolerances */
  CHECK_MSG(strstr(r.out, "whole update differs by") &&
                !strstr(r.out, "whole update differs by 0.00e+00"),
            "the one-thread reference is the same run: %s", r.out);
  compare_references(&r, "resnet8_k1", "resnet8_k1", "resnet8_k2", 1);
  snprintf(command, sizeof command, "cd '%s/infopro-gpu-bundle' && python3 compare.py a b c d",
           directory);
  ipro_test_run_command_expecting(command, &r, 2);

  if (!gpu) {
    snprintf(command, sizeof command, "'%s/infopro-gpu-bundle/run.sh'", directory);
    ipro_test_run_command_expecting(command, &r, 1);
    CHECK_MSG(r.err_lines == 1, "run.sh: %d lines on stderr, 1 expected:\n%s", r.err_lines, r.err);
    CHECK_MSG(strstr(r.err, "run.sh: FAIL: ") == r.err && strstr(r.err, "no CUDA device"),
              "run.sh said: %s", r.err);
  } else {
    printf("note: a CUDA device is present; run.sh's no-GPU failure is not checked\n");
  }
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
