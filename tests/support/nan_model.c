/* The models of nan_model.h, edited with protobuf-c. */
#include "nan_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx_decode.h"
#include "support/check.h"

static Onnx__ModelProto *read_model(const char *source, uint8_t **bytes) {
  size_t length = 0;
  ipro_error err;
  *bytes = NULL;
  CHECK_OK(ipro_onnx_read_file(source, bytes, &length, &err), &err);
  Onnx__ModelProto *model = *bytes ? onnx__model_proto__unpack(NULL, length, *bytes) : NULL;
  CHECK_MSG(model && model->graph, "%s does not decode as an ONNX model", source);
  return model && model->graph ? model : NULL;
}

static int64_t values_of(const Onnx__TensorProto *t) {
  if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) return 0;
  return t->n_float_data > 0 ? (int64_t)t->n_float_data
                             : (int64_t)(t->raw_data.len / sizeof(float));
}

/* The float initializer named name, or with name NULL the first of one dimension. */
static Onnx__TensorProto *find_initializer(Onnx__ModelProto *model, const char *name) {
  for (size_t i = 0; model && i < model->graph->n_initializer; i++) {
    Onnx__TensorProto *t = model->graph->initializer[i];
    bool named = name ? t->name && strcmp(t->name, name) == 0 : t->n_dims == 1;
    if (named && values_of(t) > 0) return t;
  }
  CHECK_MSG(false, "the model has no float initializer %s", name ? name : "of one dimension");
  return NULL;
}

static void set_value(Onnx__TensorProto *t, int64_t at, float value) {
  if (t->n_float_data > 0)
    t->float_data[at] = value;
  else
    memcpy(t->raw_data.data + (size_t)at * sizeof value, &value, sizeof value);
}

static bool write_model(const Onnx__ModelProto *model, const char *path) {
  size_t packed_size = onnx__model_proto__get_packed_size(model);
  uint8_t *packed = malloc(packed_size);
  if (packed) onnx__model_proto__pack(model, packed);
  FILE *file = packed ? fopen(path, "wb") : NULL;
  bool written = file && fwrite(packed, 1, packed_size, file) == packed_size;
  if (file) written = fclose(file) == 0 && written;
  CHECK_MSG(written, "cannot write the changed model to %s", path);
  free(packed);
  return written;
}

bool ipro_test_write_model_with_value(const char *source, const char *initializer, float value,
                                      int count, const char *path, char *name, size_t size,
                                      int64_t *elements) {
  uint8_t *bytes = NULL;
  Onnx__ModelProto *model = read_model(source, &bytes);
  Onnx__TensorProto *chosen = model ? find_initializer(model, initializer) : NULL;
  bool written = false;
  if (chosen) {
    CHECK_MSG(values_of(chosen) >= count, "%s's initializer '%s' has fewer than %d values", source,
              chosen->name, count);
    if (name) snprintf(name, size, "%s", chosen->name);
    if (elements) *elements = values_of(chosen);
    for (int i = 0; i < count && i < values_of(chosen); i++)
      set_value(chosen, i, value);
    written = values_of(chosen) >= count && write_model(model, path);
  }
  if (model) onnx__model_proto__free_unpacked(model, NULL);
  free(bytes);
  return written;
}

bool ipro_test_batchnorm_variance(const char *source, char *name, size_t size) {
  uint8_t *bytes = NULL;
  Onnx__ModelProto *model = read_model(source, &bytes);
  bool found = false;
  for (size_t n = 0; model && n < model->graph->n_node && !found; n++) {
    const Onnx__NodeProto *node = model->graph->node[n];
    if (node->op_type && strcmp(node->op_type, "BatchNormalization") == 0 && node->n_input >= 5) {
      snprintf(name, size, "%s", node->input[4]);
      found = true;
    }
  }
  CHECK_MSG(found, "%s has no BatchNormalization node", source);
  if (model) onnx__model_proto__free_unpacked(model, NULL);
  free(bytes);
  return found;
}

bool ipro_test_write_diverging_bias_model(const char *path, char *name, size_t size) {
  uint8_t *bytes = NULL;
  Onnx__ModelProto *model = read_model("models/mlp_fmnist.onnx", &bytes);
  /* the second hidden layer's bias [128] and the logits' weight [10, 128] (Gemm, transB = 1) */
  Onnx__TensorProto *bias = model ? find_initializer(model, "net.4.bias") : NULL;
  Onnx__TensorProto *logits = model ? find_initializer(model, "net.6.weight") : NULL;
  bool shaped = bias && logits && values_of(bias) == 128 && values_of(logits) == 10 * 128;
  CHECK_MSG(shaped || !bias || !logits, "mlp_fmnist's last layers are not 128 units to 10 logits");
  bool written = false;
  if (shaped) {
    snprintf(name, size, "%s", bias->name);
    set_value(bias, 0, 1e38f);
    for (int k = 0; k < 10; k++)
      set_value(logits, (int64_t)k * 128, 0.0f);
    written = write_model(model, path);
  }
  if (model) onnx__model_proto__free_unpacked(model, NULL);
  free(bytes);
  return written;
}
