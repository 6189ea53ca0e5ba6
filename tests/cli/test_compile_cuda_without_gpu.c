/* Compiling for CUDA needs no GPU (issue 10): on a machine with the CUDA toolkit's libraries but
 * no usable device (this project's CI),
 *   - `infopro compile --device cuda` succeeds and writes the program's folder: train,
 *     program.ipro, kernels.so, kernels.ptx and libinfopro_cuda.so;
 *   - its planned peak is the one `infopro plan --device cuda --json` reports for the same split
 *     (the same planning backend costs both);
 *   - the plan shows each module's largest kernel workspace, which for ResNet-8 is the bound of
 *     the widest convolution, computed here from the model's shapes by the formula of
 *     runtime/cuda/cuda_conv.c (4 bytes x N x output pixels x input channels x kernel taps: the
 *     16-channel 3x3 convolutions at 28x28); a CPU plan's largest workspace is oneDNN's,
 *     another figure;
 *   - a CUDA plan's arenas and handed-on activations are multiples of 256 bytes (CUDA arenas
 *     align to 256);
 *   - torch.export's CNN (ReduceMean) and the split CNN from its sequence export (Split) plan
 *     for CUDA at K = 2;
 *   - an edited or truncated kernels.ptx is refused by the runner at start-up in one line naming
 *     it (program.ipro records its size and CRC-32), GPU or not;
 *   - the runner then says in one line that there is no GPU (or, with the plugin made
 *     unreadable, which library is missing) and exits 1.
 * Skipped when infopro was built without CUDA or Fashion-MNIST is missing; where a GPU is
 * present only the runner's failure is not checked (tests/runtime/ covers the GPU). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/check.h"
#include "support/command.h"

#define MODEL "models/resnet8_fmnist.onnx"
#define BATCH 32

static char directory[] = "/tmp/ipro_test_compile_cuda_XXXXXX";

/* The integer after "key": in text, or -1. */
static long long json_integer(const char *text, const char *key) {
  char quoted[128];
  snprintf(quoted, sizeof quoted, "\"%s\":", key);
  const char *at = strstr(text, quoted);
  return at ? strtoll(at + strlen(quoted), NULL, 10) : -1;
}

static long long planned_workspace(const char *device) {
  char command[1024];
  ipro_command_result r;
  snprintf(command, sizeof command,
           "'%s' plan " MODEL " --batch %d --device %s --json - | tr -d ' \\n'",
           getenv("IPRO_INFOPRO"), BATCH, device);
  ipro_test_run_command_expecting(command, &r, 0);
  return json_integer(r.out, "largest_workspace_bytes");
}

int main(void) {
  bool gpu;
  const char *unavailable = ipro_test_cuda_compile_unavailable(&gpu);
  if (unavailable) return ipro_test_skip(unavailable);
  if (!mkdtemp(directory)) return ipro_test_skip("cannot make a temporary folder");

  char command[4096];
  ipro_command_result r;
  snprintf(command, sizeof command,
           "'%s' compile " MODEL " --data fashion-mnist --batch %d -K 2 --device cuda -o '%s/p'",
           getenv("IPRO_INFOPRO"), BATCH, directory);
  ipro_test_run_command_expecting(command, &r, 0);
  const char *files[] = {"train", "program.ipro", "kernels.so", "kernels.ptx",
                         "libinfopro_cuda.so"};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/p/%s", directory, files[f]);
    CHECK_MSG(stat(path, &st) == 0 && st.st_size > 0, "%s missing or empty", path);
  }
  const char *peak = strstr(r.out, "planned peak ");
  long long compiled_peak = peak ? strtoll(peak + strlen("planned peak "), NULL, 10) : -1;
  snprintf(command, sizeof command,
           "'%s' plan " MODEL " --batch %d -K 2 --device cuda --json - | tr -d ' \\n'",
           getenv("IPRO_INFOPRO"), BATCH);
  ipro_test_run_command_expecting(command, &r, 0);
  long long plan_peak = json_integer(r.out, "peak_bytes");
  CHECK_MSG(compiled_peak > 0 && compiled_peak == plan_peak,
            "compile planned a peak of %lld bytes, plan --device cuda %lld", compiled_peak,
            plan_peak);
  CHECK_MSG(strstr(r.out, "\"backend\":\"cuda\"") != NULL, "plan: %s", r.out);
  int multiples = 0, others = 0;
  const char *keys[] = {"\"arena_bytes\":", "\"output_bytes\":", "\"input_bytes\":"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    for (const char *at = strstr(r.out, keys[k]); at; at = strstr(at + 1, keys[k])) {
      long long value = strtoll(at + strlen(keys[k]), NULL, 10);
      multiples += value > 0 && value % 256 == 0;
      others += value % 256 != 0;
    }
  CHECK_MSG(multiples >= 4 && others == 0, "CUDA plan: %d sizes of 256s, %d others: %s", multiples,
            others, r.out);

  /* ResNet-8's widest convolutions: 16 channels in, 3x3 taps, 28x28 out, batch 32. */
  long long bound = 4LL * BATCH * 28 * 28 * 16 * 3 * 3;
  long long cuda = planned_workspace("cuda"), cpu = planned_workspace("cpu");
  CHECK_MSG(cuda == bound, "largest CUDA workspace %lld, expected %lld", cuda, bound);
  CHECK_MSG(cpu >= 0 && cpu != cuda, "the CPU plan's largest workspace %lld equals CUDA's", cpu);

  /* torch.export's global average pooling (ReduceMean, its gradient a broadcast) and a channel
   * Split (the sequence export's) plan on the CUDA backend too (they ran on the CPU only before
   * session 17; not yet run on a GPU) */
  const char *more[] = {"models/cnn_dynamo_fmnist.onnx", "models/split_cnn_sequence_fmnist.onnx"};
  for (size_t m = 0; m < sizeof more / sizeof more[0]; m++) {
    snprintf(command, sizeof command, "'%s' plan %s --batch %d -K 2 --device cuda",
             getenv("IPRO_INFOPRO"), more[m], BATCH);
    ipro_test_run_command_expecting(command, &r, 0);
    CHECK_MSG(strstr(r.out, "backend cuda") != NULL, "plan %s: %s", more[m], r.out);
  }

  /* program.ipro records kernels.ptx's size and CRC-32: an edited or truncated one is refused
   * at start-up, on any machine, naming it (the original is kept aside and put back) */
  const char *damages[] = {"printf 'X' | dd of=kernels.ptx bs=1 seek=1000 conv=notrunc 2>/dev/null",
                           "truncate -s 1000 kernels.ptx"};
  for (size_t d = 0; d < sizeof damages / sizeof damages[0]; d++) {
    snprintf(command, sizeof command,
             "(cd '%s/p' && cp kernels.ptx ../kept.ptx && %s && ./train --data fashion-mnist "
             "--limit 64 --epochs 1; status=$?; mv ../kept.ptx kernels.ptx; exit $status)",
             directory, damages[d]);
    ipro_test_run_command_expecting(command, &r, 1);
    CHECK_MSG(r.err_lines == 1 && strstr(r.err, "kernels.ptx") &&
                  strstr(r.err, "are not the ones it was compiled with"),
              "%s: the runner said: %s", damages[d], r.err);
  }

  if (!gpu) {
    snprintf(command, sizeof command, "'%s/p/train' --data fashion-mnist --limit 64 --epochs 1",
             directory);
    ipro_test_run_command_expecting(command, &r, 1);
    CHECK_MSG(r.err_lines == 1, "runner: %d lines on stderr, 1 expected:\n%s", r.err_lines, r.err);
    CHECK_MSG(strstr(r.err, "--device cuda: no CUDA device: ") != NULL, "runner said: %s", r.err);
    snprintf(command, sizeof command,
             "IPRO_CUDA_PLUGIN='%s/none.so' '%s/p/train' --data fashion-mnist --limit 64 "
             "--epochs 1",
             directory, directory);
    ipro_test_run_command_expecting(command, &r, 1);
    CHECK_MSG(r.err_lines == 1, "runner: %d lines on stderr, 1 expected:\n%s", r.err_lines, r.err);
    CHECK_MSG(strstr(r.err, "cuDNN 9 and cuBLAS, must be on the library path") != NULL &&
                  strstr(r.err, "none.so") != NULL,
              "runner without its plugin said: %s", r.err);
  } else {
    printf("note: a CUDA device is present; the runner's no-GPU message is not checked\n");
  }
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
