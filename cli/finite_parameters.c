/* Finding weights that are not finite (finite_parameters.h). */
#include "finite_parameters.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/forward_program.h"
#include "runtime/executor.h"

int64_t ipro_cli_count_non_finite(const float *values, int64_t n) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++)
    count += !isfinite(values[i]);
  return count;
}

/* A tensor of `elements` values, `non_finite` of them counted: the first such one is named. */
static void note(ipro_cli_non_finite *found, const char *name, int64_t non_finite,
                 int64_t elements) {
  if (found->non_finite || !non_finite) return;
  found->non_finite = non_finite;
  found->elements = elements;
  snprintf(found->name, sizeof found->name, "%s", name);
}

/* The piece of a tensor the trained values' check reads at a time, on the stack: while the
 * trainer holds its blocks a host copy of the largest parameter (400 MB for VGG-16's first fully
 * connected layer) would be memory beside the plan (measured with ResNet-8: a 147,464-byte
 * buffer grown at the end of training, the largest share of its unplanned bytes). */
#define CHECK_PIECE_FLOATS 4096

ipro_status ipro_cli_find_non_finite_trainer(ipro_trainer *trainer, ipro_cli_non_finite *found,
                                             ipro_error *err) {
  *found = (ipro_cli_non_finite){0};
  float values[CHECK_PIECE_FLOATS];
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
      int64_t elements = ipro_shape_elements(&tensor->shape), non_finite = 0;
      for (int64_t at = 0; at < elements && status == IPRO_OK; at += CHECK_PIECE_FLOATS) {
        int64_t n = elements - at < CHECK_PIECE_FLOATS ? elements - at : CHECK_PIECE_FLOATS;
        status = ipro_trainer_read_part(trainer, tensor->name, (size_t)at * sizeof(float), values,
                                        (size_t)n * sizeof(float), err);
        if (status == IPRO_OK) non_finite += ipro_cli_count_non_finite(values, n);
      }
      if (status == IPRO_OK) note(found, tensor->name, non_finite, elements);
    }
  }
  return status;
}

void ipro_cli_find_non_finite_checkpoint(const ipro_checkpoint *checkpoint,
                                         ipro_cli_non_finite *found) {
  *found = (ipro_cli_non_finite){0};
  for (int i = 0; i < checkpoint->n_tensors && !found->non_finite; i++) {
    const ipro_checkpoint_tensor *t = &checkpoint->tensors[i];
    int64_t elements = (int64_t)(t->bytes / sizeof(float));
    if (t->dtype == IPRO_DTYPE_FLOAT)
      note(found, t->name, ipro_cli_count_non_finite(t->data, elements), elements);
  }
}

/* Whether v is counted: NaN or infinite, or with only_negative_infinity, -infinity. */
static bool counted(double v, bool only_negative_infinity) {
  return only_negative_infinity ? isinf(v) && v < 0 : !isfinite(v);
}

/* How many of a float initializer's values are counted, of whichever floating-point type it is;
 * 0 for the other types. */
static int64_t count_non_finite_tensor(const ipro_tensor *tensor, int64_t elements,
                                       bool only_negative_infinity) {
  int64_t count = 0;
  switch (tensor->dtype) {
  case IPRO_DTYPE_FLOAT:
    for (int64_t i = 0; i < elements; i++)
      count += counted(((const float *)tensor->data)[i], only_negative_infinity);
    return count;
  case IPRO_DTYPE_DOUBLE:
    for (int64_t i = 0; i < elements; i++)
      count += counted(((const double *)tensor->data)[i], only_negative_infinity);
    return count;
  case IPRO_DTYPE_FLOAT16:
    for (int64_t i = 0; i < elements; i++) {
      uint16_t bits;
      memcpy(&bits, (const uint8_t *)tensor->data + 2 * i, sizeof bits);
      /* all exponent bits set: infinity or NaN; with the sign and no mantissa, -infinity */
      count += only_negative_infinity ? bits == 0xfc00u : (bits & 0x7c00u) == 0x7c00u;
    }
    return count;
  default: return 0;
  }
}

void ipro_cli_find_non_finite_graph(const ipro_graph *graph, ipro_cli_non_finite *found) {
  *found = (ipro_cli_non_finite){0};
  for (int t = 0; t < graph->n_tensors && !found->non_finite; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    size_t width = ipro_dtype_size(tensor->dtype);
    if (tensor->kind != IPRO_TENSOR_INITIALIZER || !tensor->data || width == 0) continue;
    int64_t elements = (int64_t)(tensor->data_bytes / width);
    found->non_finite = count_non_finite_tensor(tensor, elements, false);
    found->elements = elements;
    if (!found->non_finite) continue;
    snprintf(found->name, sizeof found->name, "%s", tensor->name);
    found->mask_like = count_non_finite_tensor(tensor, elements, true) == found->non_finite;
  }
}

/* "3 of the 432 values of initializer 'conv1.weight' are not finite (NaN or infinity)". */
static void describe(const ipro_cli_non_finite *found, const char *kind, char *text, size_t size) {
  if (found->elements == 1)
    snprintf(text, size, "the value of %s '%s' is not finite (NaN or infinity)", kind, found->name);
  else
    snprintf(text, size, "%lld of the %lld values of %s '%s' %s not finite (NaN or infinity)",
             (long long)found->non_finite, (long long)found->elements, kind, found->name,
             found->non_finite == 1 ? "is" : "are");
}

ipro_status ipro_cli_check_finite_graph(const ipro_graph *graph, const char *path,
                                        const char *consequence, ipro_error *err) {
  ipro_cli_non_finite found;
  ipro_cli_find_non_finite_graph(graph, &found);
  if (!found.non_finite) return IPRO_OK;
  char text[700];
  describe(&found, "initializer", text, sizeof text);
  if (found.mask_like) /* -inf alone: a mask a model without torch.export's signature keeps */
    return ipro_error_set(err,
                          "%s: %s; the model cannot be %s. If it is a fixed buffer (a mask), "
                          "export the model with torch.onnx.export(..., dynamo=True), whose graph "
                          "signature marks buffers, which infopro keeps constant",
                          path, text, consequence);
  return ipro_error_set(err, "%s: %s; the model cannot be %s", path, text, consequence);
}

ipro_status ipro_cli_check_finite_model(const char *path, const char *consequence,
                                        ipro_error *err) {
  ipro_graph *graph = NULL;
  if (ipro_graph_load(path, &graph, err) != IPRO_OK) return IPRO_ERROR;
  ipro_status status = ipro_cli_check_finite_graph(graph, path, consequence, err);
  ipro_graph_free(graph);
  return status;
}

ipro_status ipro_cli_check_finite_checkpoint(const ipro_checkpoint *checkpoint, const char *path,
                                             ipro_error *err) {
  ipro_cli_non_finite found;
  ipro_cli_find_non_finite_checkpoint(checkpoint, &found);
  if (!found.non_finite) return IPRO_OK;
  char text[700];
  describe(&found, "its tensor", text, sizeof text);
  return ipro_error_set(err, "cannot resume from checkpoint '%s': %s", path, text);
}
