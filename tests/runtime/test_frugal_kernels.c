/* The executor's choice between a backend's faster kernels and its frugal ones (runtime/backend.h,
 * has_frugal_variant; runtime/executor.c, choose_frugal): on the oneDNN backend, Winograd's
 * convolutions against direct ones, whose scratchpads differ by several MB.
 * - ResNet-32's end-to-end training program at batch 128 keeps Winograd: its arena is larger than
 *   with IPRO_ONEDNN_WINOGRAD=0 (so the faster kernels are really there) by at most 1/32;
 * - ResNet-8's at batch 128: one of its convolutions, prepared alone, has the Winograd kernel (so
 *   there is a choice), and the program's arena is at most 1/32 larger than the direct
 *   convolutions' whichever the executor keeps. (Which it keeps depends on the CPU: oneDNN sizes
 *   Winograd's scratchpads by its caches. On an AMD Zen 4 they would add about 5% and the
 *   program went frugal; on an Intel Xeon with a 480 MB L3, 2.8%, and it keeps them.)
 * The arena sizes are the planner's, compared between two builds of the same program; that the
 * planned bytes are the bytes the trainer allocates, with either choice, is
 * runtime.test_local_training's check at batch 128; runtime.test_workspace_choice tests the
 * choice itself, step by step, on a backend whose workspaces it sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/executor.h"
#include "support/bundled_models.h"
#include "support/check.h"
#include "support/command.h"

#define BATCH 128

/* The arena of the model's training program, planned on oneDNN (the reference kernels behind
 * it) with IPRO_ONEDNN_WINOGRAD as given (NULL: unset); 0 after a failed check. */
static size_t arena_of(const char *name, const char *winograd) {
  if (winograd)
    setenv("IPRO_ONEDNN_WINOGRAD", winograd, 1);
  else
    unsetenv("IPRO_ONEDNN_WINOGRAD");
  ipro_error err = {{0}};
  ipro_graph *program = ipro_test_training_program(name, BATCH, true);
  ipro_backend *onednn = NULL, *reference = NULL;
  ipro_executor *executor = NULL;
  size_t arena = 0;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  if (program && onednn && reference) {
    ipro_executor_options plan_only = {.plan_only = true};
    CHECK_OK(ipro_executor_create_with(program, onednn, reference, &plan_only, &executor, &err),
             &err);
    if (executor) arena = ipro_executor_program(executor)->arena_bytes;
    ipro_executor_free(executor);
  }
  ipro_graph_free(program);
  if (onednn) onednn->destroy(onednn);
  if (reference) reference->destroy(reference);
  unsetenv("IPRO_ONEDNN_WINOGRAD");
  return arena;
}

/* Whether the oneDNN kernel of the program's node `node_name`, prepared alone (operands plain),
 * has a frugal variant. */
static bool has_frugal_variant(const char *name, const char *node_name) {
  ipro_error err = {{0}};
  ipro_graph *program = ipro_test_training_program(name, BATCH, true);
  ipro_backend *onednn = NULL;
  bool variant = false;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  for (int n = 0; program && onednn && n < program->n_nodes; n++) {
    if (strcmp(program->nodes[n].name, node_name) != 0) continue;
    ipro_kernel *kernel = NULL;
    CHECK_OK(onednn->prepare_forward(onednn, program, &program->nodes[n], &kernel, &err), &err);
    if (kernel) variant = kernel->has_frugal_variant, kernel->destroy(kernel);
  }
  ipro_graph_free(program);
  if (onednn) onednn->destroy(onednn);
  return variant;
}

int main(void) {
  if (!ipro_test_cpu_has_avx512_core()) {
    return ipro_test_skip(
        "the frugal choice (oneDNN's Winograd kernels need AVX-512, which this CPU lacks)");
  }
  size_t fast = arena_of("resnet32", NULL), direct = arena_of("resnet32", "0");
  CHECK_MSG(fast > direct && fast <= direct + direct / 32,
            "resnet32 at batch %d: arena %zu bytes, %zu with direct convolutions only: Winograd's "
            "should be kept, at most 1/32 larger",
            BATCH, fast, direct);
  printf("resnet32 at batch %d: arena %zu bytes with Winograd, %zu direct\n", BATCH, fast, direct);
  CHECK_MSG(has_frugal_variant("resnet8_fmnist", "/layer2/layer2.0/conv2/Conv"),
            "resnet8 at batch %d: its 32-channel convolution has no Winograd kernel to weigh",
            BATCH);
  fast = arena_of("resnet8_fmnist", NULL), direct = arena_of("resnet8_fmnist", "0");
  CHECK_MSG(fast >= direct && fast <= direct + direct / 32,
            "resnet8 at batch %d: arena %zu bytes, %zu direct: at most 1/32 more", BATCH, fast,
            direct);
  printf("resnet8 at batch %d: arena %zu bytes, %zu direct\n", BATCH, fast, direct);
  return ipro_test_finish();
}
