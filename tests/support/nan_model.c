/* The NaN-weights model of nan_model.h. */
#include "nan_model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx_decode.h"
#include "support/check.h"

bool ipro_test_write_nan_bias_model(const char *path, char *name, size_t size) {
  uint8_t *bytes = NULL;
  size_t length = 0;
  ipro_error err;
  CHECK_OK(ipro_onnx_read_file("models/mlp_fmnist.onnx", &bytes, &length, &err), &err);
  Onnx__ModelProto *model = bytes ? onnx__model_proto__unpack(NULL, length, bytes) : NULL;
  Onnx__TensorProto *bias = NULL;
  for (size_t i = 0; model && model->graph && i < model->graph->n_initializer && !bias; i++) {
    Onnx__TensorProto *t = model->graph->initializer[i];
    if (t->n_dims == 1 && (t->n_float_data > 0 || t->raw_data.len >= sizeof(float))) bias = t;
  }
  CHECK_MSG(bias != NULL, "mlp_fmnist has no bias to make NaN");
  bool written = false;
  if (bias) {
    snprintf(name, size, "%s", bias->name);
    float nan = NAN;
    if (bias->n_float_data > 0)
      bias->float_data[0] = nan;
    else
      memcpy(bias->raw_data.data, &nan, sizeof nan);
    size_t packed_size = onnx__model_proto__get_packed_size(model);
    uint8_t *packed = malloc(packed_size);
    onnx__model_proto__pack(model, packed);
    FILE *file = fopen(path, "wb");
    written = file && fwrite(packed, 1, packed_size, file) == packed_size;
    if (file) written = fclose(file) == 0 && written;
    CHECK_MSG(written, "cannot write the model with a NaN bias to %s", path);
    free(packed);
  }
  if (model) onnx__model_proto__free_unpacked(model, NULL);
  free(bytes);
  return written;
}
