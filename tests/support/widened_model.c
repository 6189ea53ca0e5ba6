/* The model of widened_model.h, edited with protobuf-c from the bundled file's decoded message. */
#include "widened_model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx_decode.h"
#include "support/check.h"

/* The float initializer name stored as raw data of `values` floats, or NULL. */
static Onnx__TensorProto *raw_floats(Onnx__ModelProto *model, const char *name, size_t values) {
  for (size_t i = 0; i < model->graph->n_initializer; i++) {
    Onnx__TensorProto *t = model->graph->initializer[i];
    if (t->name && !strcmp(t->name, name) && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
        t->n_float_data == 0 && t->raw_data.len == values * sizeof(float))
      return t;
  }
  return NULL;
}

/* Replaces t's data with `values` floats from fill (the old buffer freed as protobuf-c would). */
static bool replace_data(Onnx__TensorProto *t, size_t values, float (*fill)(size_t)) {
  float *data = malloc(values * sizeof *data);
  if (!data) return false;
  for (size_t i = 0; i < values; i++)
    data[i] = fill(i);
  free(t->raw_data.data);
  t->raw_data.data = (uint8_t *)data, t->raw_data.len = values * sizeof *data;
  return true;
}

/* A fixed pseudo-random weight in [-0.05, 0.05] (a 32-bit integer hash of the index). */
static float weight_at(size_t i) {
  uint32_t x = (uint32_t)i * 2654435761u + 12345u;
  x ^= x >> 15, x *= 2246822519u, x ^= x >> 13;
  return ((float)(x % 10001u) / 10000.0f - 0.5f) * 0.1f;
}

static float zero_at(size_t i) {
  (void)i;
  return 0.0f;
}

/* The declared [N, C] shape of the graph's output: C set to classes. */
static bool widen_output(Onnx__ModelProto *model, int classes) {
  if (model->graph->n_output != 1) return false;
  Onnx__TypeProto *type = model->graph->output[0]->type;
  Onnx__TensorShapeProto *shape =
      type && type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && type->tensor_type
          ? type->tensor_type->shape
          : NULL;
  if (!shape || shape->n_dim != 2) return false;
  shape->dim[1]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  shape->dim[1]->dim_value = classes;
  return true;
}

bool ipro_test_write_widened_mlp(const char *path, int classes) {
  const char *source = "models/mlp_fmnist.onnx";
  uint8_t *bytes = NULL;
  size_t length = 0;
  ipro_error err;
  CHECK_OK(ipro_onnx_read_file(source, &bytes, &length, &err), &err);
  Onnx__ModelProto *model = bytes ? onnx__model_proto__unpack(NULL, length, bytes) : NULL;
  /* the logits' Gemm (transB = 1): weight [10, 128], bias [10] */
  Onnx__TensorProto *weight =
      model && model->graph ? raw_floats(model, "net.6.weight", 1280) : NULL;
  Onnx__TensorProto *bias = model && model->graph ? raw_floats(model, "net.6.bias", 10) : NULL;
  bool widened = weight && bias && weight->n_dims == 2 && bias->n_dims == 1 &&
                 replace_data(weight, (size_t)classes * 128, weight_at) &&
                 replace_data(bias, (size_t)classes, zero_at) && widen_output(model, classes);
  CHECK_MSG(widened, "%s is not 128 units to 10 logits in net.6 with one [N, 10] output", source);
  bool written = false;
  if (widened) {
    weight->dims[0] = classes, bias->dims[0] = classes;
    size_t packed_size = onnx__model_proto__get_packed_size(model);
    uint8_t *packed = malloc(packed_size);
    if (packed) onnx__model_proto__pack(model, packed);
    FILE *file = packed ? fopen(path, "wb") : NULL;
    written = file && fwrite(packed, 1, packed_size, file) == packed_size;
    if (file) written = fclose(file) == 0 && written;
    CHECK_MSG(written, "cannot write the widened model to %s", path);
    free(packed);
  }
  if (model) onnx__model_proto__free_unpacked(model, NULL);
  free(bytes);
  return written;
}
