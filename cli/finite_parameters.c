/* Finding trained values that are not finite (finite_parameters.h). */
#include "finite_parameters.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir/forward_program.h"
#include "runtime/executor.h"

int64_t ipro_cli_count_non_finite(const float *values, int64_t n) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++)
    count += !isfinite(values[i]);
  return count;
}

static void note(ipro_cli_non_finite *found, const char *name, const float *values,
                 int64_t elements) {
  if (found->non_finite) return; /* the first one found is named */
  found->non_finite = ipro_cli_count_non_finite(values, elements);
  found->elements = elements;
  if (found->non_finite) snprintf(found->name, sizeof found->name, "%s", name);
}

ipro_status ipro_cli_find_non_finite_trainer(ipro_trainer *trainer, ipro_cli_non_finite *found,
                                             ipro_error *err) {
  *found = (ipro_cli_non_finite){0};
  float *values = NULL;
  size_t capacity = 0;
  ipro_status status = IPRO_OK;
  for (int k = 0; k < ipro_trainer_module_count(trainer) && status == IPRO_OK; k++) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, k);
    const ipro_forward_program *program =
        ipro_executor_program(ipro_trainer_module_executor(trainer, k));
    for (int t = 0; t < graph->n_tensors && status == IPRO_OK && !found->non_finite; t++) {
      const ipro_tensor *tensor = &graph->tensors[t];
      /* the values export and the checkpoint write: the trainer's parameters */
      if (tensor->kind != IPRO_TENSOR_INITIALIZER || tensor->dtype != IPRO_DTYPE_FLOAT ||
          program->slots[t].kind != IPRO_SLOT_PARAMETER)
        continue;
      int64_t elements = ipro_shape_elements(&tensor->shape);
      size_t bytes = (size_t)elements * sizeof(float);
      if (bytes > capacity) {
        float *grown = realloc(values, bytes);
        if (!grown) {
          status = ipro_error_set(err, "out of memory checking the trained values");
          break;
        }
        values = grown;
        capacity = bytes;
      }
      status = ipro_trainer_read(trainer, tensor->name, values, bytes, err);
      if (status == IPRO_OK) note(found, tensor->name, values, elements);
    }
  }
  free(values);
  return status;
}

void ipro_cli_find_non_finite_checkpoint(const ipro_checkpoint *checkpoint,
                                         ipro_cli_non_finite *found) {
  *found = (ipro_cli_non_finite){0};
  for (int i = 0; i < checkpoint->n_tensors && !found->non_finite; i++) {
    const ipro_checkpoint_tensor *t = &checkpoint->tensors[i];
    if (t->dtype == IPRO_DTYPE_FLOAT)
      note(found, t->name, t->data, (int64_t)(t->bytes / sizeof(float)));
  }
}
