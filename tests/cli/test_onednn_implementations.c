/* oneDNN's reference implementations ("ref:any" and the like) are its slow fallbacks, not kernels
 * to train on: session 18 found every batch normalisation of a training step running
 * `bnorm_ref` on a CPU with AVX2 and no AVX-512, 60 times slower than oneDNN's jit kernel (a
 * ResNet-32 step of 6-7 s instead of 0.85), because the backend handed the normalisations
 * 16-channel blocks, a layout oneDNN 2.6 has AVX-512 kernels for only. Nothing failed; the
 * user would only have seen a slow machine.
 *
 * This test trains ResNet-8 (K = 2, so its InfoPro heads run too, and a test pass) for a few
 * steps with ONEDNN_VERBOSE=1, oneDNN's own account of the implementation each primitive ran,
 * and requires that none of them was a reference implementation and that it saw the
 * convolutions and normalisations run at all; and the tiny Swin Transformer, whose attention
 * bias is a broadcast Add that oneDNN ran on its reference kernel in five dimensions (the backend
 * now merges dimensions first) and whose softmax gradient oneDNN has only a reference kernel for
 * on AVX2 (the backend runs a loop of its own there). On a CPU with AVX-512 it runs
 * again with ONEDNN_MAX_CPU_ISA=AVX2: oneDNN then behaves as on an AVX2 CPU, and so does the
 * backend's choice of blocks, which reads the ISA oneDNN reports. Skipped without Fashion-MNIST. */
#include <stdio.h>
#include <string.h>

#include "support/check.h"
#include "support/command.h"

/* The implementations oneDNN ran in `infopro train ARGUMENTS` (a model and its options), one
 * "COUNT PRIMITIVE,IMPLEMENTATION" line each. */
static void implementations_run(const char *isa, const char *arguments, ipro_command_result *r) {
  char command[1024];
  /* the run's own exit status is the command's (a pipe would hide it) */
  snprintf(command, sizeof command,
           "log=$(mktemp) && %s ONEDNN_VERBOSE=1 \"$IPRO_INFOPRO\" train %s --data fashion-mnist "
           "--epochs 1 --limit 128 --test-limit 64 > \"$log\" 2>/dev/null; status=$?; grep "
           "'^onednn_verbose,exec' \"$log\" | cut -d, -f4,5 | sort | uniq -c; rm -f \"$log\"; "
           "exit $status",
           isa ? isa : "", arguments);
  ipro_test_run_command_expecting(command, r, 0);
}

/* No reference implementation among the primitives run, and the primitives named `seen` (two)
 * each ran. */
static void check_no_reference(const char *label, const char *isa, const char *arguments,
                               const char *const seen[2]) {
  ipro_command_result r;
  implementations_run(isa, arguments, &r);
  int counts[2] = {0, 0}, references = 0;
  for (const char *line = r.out; *line;) {
    const char *end = strchr(line, '\n');
    size_t length = end ? (size_t)(end - line) : strlen(line);
    char text[256], primitive[64] = "";
    snprintf(text, sizeof text, "%.*s", (int)(length < sizeof text ? length : sizeof text - 1),
             line);
    const char *comma = strchr(text, ',');
    if (comma && sscanf(text, "%*d %63[^,]", primitive) == 1) {
      for (int i = 0; i < 2; i++)
        counts[i] += strcmp(primitive, seen[i]) == 0;
      /* "ref:any", "bnorm_ref:any", "ref_int8:any", ... */
      bool reference = strncmp(comma + 1, "ref", 3) == 0 || strstr(comma + 1, "_ref") != NULL;
      references += reference;
      CHECK_MSG(!reference, "%s: oneDNN ran a reference implementation: %s", label, text);
    }
    if (!end) break;
    line = end + 1;
  }
  CHECK_MSG(counts[0] > 0 && counts[1] > 0,
            "%s: ONEDNN_VERBOSE showed %d %s and %d %s implementations: %s", label, counts[0],
            seen[0], counts[1], seen[1], r.out);
  printf("%s: %d %s and %d %s implementations, %d reference ones\n", label, counts[0], seen[0],
         counts[1], seen[1], references);
}

int main(void) {
  const char *why = ipro_test_training_unavailable();
  if (why) return ipro_test_skip(why);
  static const char *const cnn[2] = {"convolution", "batch_normalization"};
  static const char *const swin[2] = {"binary", "matmul"};
  const char *resnet8 = "models/resnet8_fmnist.onnx -K 2 --batch 32";
  check_no_reference("ResNet-8 K = 2, this CPU", NULL, resnet8, cnn);
  /* the tiny Swin: its attention bias, [N,4,1,16,16] + [1,4,1,16,16], and its softmax gradient
   * (oneDNN 2.6 has only its reference kernel for it on AVX2: the backend's loop runs it) */
  check_no_reference("Swin-tiny, this CPU", NULL, "models/swin_tiny_fmnist.onnx --batch 32", swin);
  if (ipro_test_cpu_has_avx512_core())
    check_no_reference("ResNet-8 K = 2, ONEDNN_MAX_CPU_ISA=AVX2", "ONEDNN_MAX_CPU_ISA=AVX2",
                       resnet8, cnn);
  else
    printf("not run: ONEDNN_MAX_CPU_ISA=AVX2 (this CPU has no AVX-512: the run above is AVX2's "
           "or less)\n");
  return ipro_test_finish();
}
