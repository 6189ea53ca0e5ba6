/* An executor without a parameter block (external_parameters), as `infopro train`'s test pass
 * builds it, reads another executor's parameters in place: checked on resnet8_fmnist against
 * PyTorch's logits (models/golden):
 * - bound to a first executor's parameter memory (ipro_executor_tensor_memory), it gives
 *   PyTorch's logits within 1e-4 relative, as the first does, and asks its backend for exactly
 *   the first's parameter block fewer bytes, which the process's allocator
 *   (runtime/counting_allocator.h) sees it hold too, within 4 KiB;
 * - it reads them in place, not from a copy: after the first executor's weights of one
 *   convolution are zeroed, both give the same changed logits (and they differ from PyTorch's);
 * - run with a parameter left unbound, it is refused with a message naming the parameter, and
 *   reading a parameter before any binding is refused too (not a read through NULL). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/counting_allocator.h"
#include "runtime/executor.h"
#include "support/bundled_models.h"
#include "support/check.h"
#include "support/golden.h"

int main(void) {
  char model_path[1024];
  ipro_golden_file golden;
  const ipro_golden_tensor *input, *logits;
  if (!ipro_golden_load_forward("resnet8_fmnist", model_path, sizeof model_path, &golden, &input,
                                &logits))
    return ipro_test_finish();
  ipro_error err = {{0}};

  /* two graphs and two backends, so that each executor's bytes are counted apart */
  ipro_graph *own_graph = ipro_test_open_inference_graph(model_path, input->dims[0]);
  ipro_graph *bound_graph = ipro_test_open_inference_graph(model_path, input->dims[0]);
  ipro_backend *own_backend = NULL, *bound_backend = NULL;
  CHECK_OK(ipro_backend_create_reference(&own_backend, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&bound_backend, &err), &err);
  if (!own_graph || !bound_graph || !own_backend || !bound_backend) return ipro_test_finish();
  ipro_executor *own = NULL, *bound = NULL;
  bool counting = ipro_counting_allocator_start();
  int64_t before = ipro_counting_allocator_in_use();
  CHECK_OK(ipro_executor_create(own_graph, own_backend, NULL, &own, &err), &err);
  int64_t own_held = ipro_counting_allocator_in_use() - before;
  ipro_executor_options options = {.external_parameters = true};
  before = ipro_counting_allocator_in_use();
  CHECK_OK(ipro_executor_create_with(bound_graph, bound_backend, NULL, &options, &bound, &err),
           &err);
  int64_t bound_held = ipro_counting_allocator_in_use() - before;
  if (!own || !bound) return ipro_test_finish();
  const ipro_forward_program *program = ipro_executor_program(own);
  CHECK(program->parameter_bytes > 0);
  CHECK_EQ_INT((int64_t)(own_backend->bytes_allocated - bound_backend->bytes_allocated),
               (int64_t)program->parameter_bytes);
  /* and as the process's allocator saw it (no plan read): the bound executor holds the parameter
   * block fewer bytes, within the allocator's rounding of a block and a little bookkeeping */
  int64_t saved = own_held - bound_held, parameters = (int64_t)program->parameter_bytes;
  printf("allocator: the bound executor holds %lld bytes fewer (parameter block %lld)\n",
         (long long)saved, (long long)parameters);
  if (counting)
    CHECK_MSG(saved >= parameters - 4096 && saved <= parameters + 4096,
              "the bound executor holds %lld bytes fewer than its twin; its parameters are %lld",
              (long long)saved, (long long)parameters);
  else
    printf("not checked: the allocator's bytes (this build's allocator does not count)\n");

  float *own_out = calloc((size_t)logits->count, sizeof(float));
  float *bound_out = calloc((size_t)logits->count, sizeof(float));
  const void *inputs[1] = {input->data};
  void *own_outputs[1] = {own_out}, *bound_outputs[1] = {bound_out};

  /* unbound: refused, naming a parameter */
  CHECK(ipro_executor_run(bound, inputs, bound_outputs, &err) != IPRO_OK);
  CHECK_MSG(strstr(err.message, "no memory bound for parameter '") != NULL, "message: %s",
            err.message);

  /* Before any binding its parameters live nowhere: reading one is refused, not a NULL read. */
  for (int t = 0; t < bound_graph->n_tensors; t++) {
    const ipro_tensor_slot *slot = &ipro_executor_program(bound)->slots[t];
    if (slot->kind != IPRO_SLOT_PARAMETER) continue;
    float *scratch = malloc(slot->bytes);
    ipro_error refused = {{0}};
    CHECK(scratch &&
          ipro_executor_read_tensor(bound, t, scratch, slot->bytes, &refused) == IPRO_ERROR);
    CHECK_MSG(strstr(refused.message, "not bound") != NULL, "unbound read: %s", refused.message);
    free(scratch);
    break;
  }

  int bound_count = 0, first_conv_weight = -1;
  for (int t = 0; t < bound_graph->n_tensors; t++) {
    if (ipro_executor_program(bound)->slots[t].kind != IPRO_SLOT_PARAMETER) continue;
    int source = ipro_graph_find_tensor(own_graph, bound_graph->tensors[t].name);
    CHECK(source >= 0);
    if (source < 0) continue;
    const void *memory = NULL;
    CHECK_OK(ipro_executor_tensor_memory(
                 own, source, ipro_executor_program(own)->slots[source].bytes, &memory, &err),
             &err);
    ipro_executor_bind_parameter(bound, t, memory);
    bound_count++;
    if (first_conv_weight < 0 && own_graph->tensors[source].shape.rank == 4)
      first_conv_weight = source;
  }
  CHECK(bound_count > 0 && first_conv_weight >= 0);
  CHECK_OK(ipro_executor_run(own, inputs, own_outputs, &err), &err);
  CHECK_OK(ipro_executor_run(bound, inputs, bound_outputs, &err), &err);
  CHECK_MSG(ipro_golden_near(own_out, logits->data, logits->count),
            "own parameters: not PyTorch's");
  CHECK_MSG(ipro_golden_near(bound_out, logits->data, logits->count),
            "bound parameters: not PyTorch's");

  /* zero one convolution's weights in the first executor: the second sees it */
  size_t bytes = program->slots[first_conv_weight].bytes;
  void *zeros = calloc(1, bytes);
  CHECK_OK(ipro_executor_write_tensor(own, first_conv_weight, zeros, bytes, &err), &err);
  CHECK_OK(ipro_executor_run(own, inputs, own_outputs, &err), &err);
  CHECK_OK(ipro_executor_run(bound, inputs, bound_outputs, &err), &err);
  CHECK(!ipro_golden_near(own_out, logits->data, logits->count));
  CHECK(memcmp(own_out, bound_out, sizeof(float) * (size_t)logits->count) == 0);

  free(zeros);
  free(own_out);
  free(bound_out);
  ipro_executor_free(own);
  ipro_executor_free(bound);
  own_backend->destroy(own_backend);
  bound_backend->destroy(bound_backend);
  ipro_graph_free(own_graph);
  ipro_graph_free(bound_graph);
  ipro_golden_release(&golden);
  return ipro_test_finish();
}
