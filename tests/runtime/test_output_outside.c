/* An executor whose graph output 0 lies outside its arena (output0_outside), as a local-training
 * module hands its activation on straight into the next module's input: checked on
 * resnet8_fmnist's forward pass against PyTorch's logits (models/golden), on the reference kernels
 * and on oneDNN:
 * - the output's slot is IPRO_SLOT_OUTPUT, and the arena is no larger than without the option;
 * - the logits are computed into the bound memory and are PyTorch's within 1e-4 relative, the
 *   run's own outputs[0] buffer left untouched (no copy made);
 * - bound elsewhere for the next run, the logits go there;
 * - run with nothing bound, it is refused with a message naming the output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/executor.h"
#include "support/bundled_models.h"
#include "support/check.h"
#include "support/golden.h"

static void check_backend(const char *name, ipro_backend *backend, const char *model_path,
                          const ipro_golden_tensor *input, const ipro_golden_tensor *logits) {
  ipro_error err = {{0}};
  ipro_graph *graph = ipro_test_open_inference_graph(model_path, input->dims[0]);
  if (!graph) return;
  ipro_executor *inside = NULL, *outside = NULL;
  ipro_executor_options options = {.output0_outside = true};
  CHECK_OK(ipro_executor_create(graph, backend, NULL, &inside, &err), &err);
  CHECK_OK(ipro_executor_create_with(graph, backend, NULL, &options, &outside, &err), &err);
  if (!inside || !outside) {
    ipro_executor_free(inside);
    ipro_graph_free(graph);
    return;
  }
  int output = graph->outputs[0];
  const ipro_forward_program *program = ipro_executor_program(outside);
  CHECK_MSG(program->slots[output].kind == IPRO_SLOT_OUTPUT, "%s: the output's slot is kind %d",
            name, (int)program->slots[output].kind);
  CHECK_MSG(program->arena_bytes <= ipro_executor_program(inside)->arena_bytes,
            "%s: arena %zu bytes with the output outside, %zu inside", name, program->arena_bytes,
            ipro_executor_program(inside)->arena_bytes);

  size_t bytes = sizeof(float) * (size_t)logits->count;
  size_t room = (bytes + 63) / 64 * 64;
  float *first = aligned_alloc(64, room), *second = aligned_alloc(64, room);
  float *untouched = malloc(bytes);
  const void *inputs[1] = {input->data};
  void *outputs[1] = {untouched};
  CHECK_MSG(ipro_executor_run(outside, inputs, outputs, &err) == IPRO_ERROR &&
                strstr(err.message, "no memory bound for its output 'logits'"),
            "%s: run with the output unbound: %s", name, err.message);
  for (int64_t i = 0; i < logits->count; i++)
    untouched[i] = first[i] = second[i] = -12345.0f;
  ipro_executor_bind_output(outside, 0, first);
  CHECK_OK(ipro_executor_run(outside, inputs, outputs, &err), &err);
  CHECK_MSG(ipro_golden_near(first, logits->data, logits->count), "%s: bound output not PyTorch's",
            name);
  ipro_executor_bind_output(outside, 0, second);
  CHECK_OK(ipro_executor_run(outside, inputs, outputs, &err), &err);
  CHECK_MSG(memcmp(first, second, bytes) == 0, "%s: the second binding got other logits", name);
  bool kept = true;
  for (int64_t i = 0; i < logits->count; i++)
    kept = kept && untouched[i] == -12345.0f;
  CHECK_MSG(kept, "%s: outputs[0] was written though the output is bound", name);
  free(first);
  free(second);
  free(untouched);
  ipro_executor_free(inside);
  ipro_executor_free(outside);
  ipro_graph_free(graph);
}

int main(void) {
  char model_path[1024];
  ipro_golden_file golden;
  const ipro_golden_tensor *input, *logits;
  if (!ipro_golden_load_forward("resnet8_fmnist", model_path, sizeof model_path, &golden, &input,
                                &logits))
    return ipro_test_finish();
  ipro_error err = {{0}};
  ipro_backend *reference = NULL, *onednn = NULL;
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  if (reference) check_backend("reference", reference, model_path, input, logits);
  if (onednn) check_backend("onednn", onednn, model_path, input, logits);
  if (reference) reference->destroy(reference);
  if (onednn) onednn->destroy(onednn);
  ipro_golden_release(&golden);
  return ipro_test_finish();
}
