/* Exporting initializers into a copy of an ONNX model: resnet8's weights, each doubled through
 * the callback, come back doubled when the file is loaded again (doubling is exact in float),
 * while everything else loads as before; a callback that keeps everything reproduces the source
 * file byte for byte; a hand-built model whose weights sit in float_data and in an external file
 * gets them as raw_data with the other fields cleared, and loads from a folder without the
 * external file; a failing callback writes nothing. When python3 with the onnx package is
 * present, onnx.checker accepts the exported resnet8 (otherwise that part is skipped with a
 * note: the suite does not depend on Python). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx_decode.h"
#include "frontend/onnx_export.h"
#include "support/check.h"

static char directory[] = "/tmp/ipro_test_onnx_export_XXXXXX";

typedef struct {
  const ipro_graph *source;
  int calls;
  const char *keep; /* a name to leave alone, or NULL */
  bool keep_all, fail;
} doubling;

static ipro_status double_value(void *context, const char *name, ipro_dtype dtype,
                                const int64_t *dims, int rank, void *out, size_t bytes,
                                ipro_error *err) {
  doubling *d = context;
  d->calls++;
  if (d->fail) return ipro_error_set(err, "no value for '%s'", name);
  if (d->keep_all || (d->keep && strcmp(name, d->keep) == 0)) return IPRO_EXPORT_KEEP;
  int t = ipro_graph_find_tensor(d->source, name);
  const ipro_tensor *tensor = t >= 0 ? &d->source->tensors[t] : NULL;
  bool same =
      tensor && tensor->dtype == dtype && tensor->shape.rank == rank && tensor->data_bytes == bytes;
  for (int i = 0; same && i < rank; i++)
    same = tensor->shape.dims[i] == dims[i];
  if (!same) return ipro_error_set(err, "'%s' is not as in the source", name);
  const float *in = tensor->data;
  float *values = out;
  for (size_t i = 0; i < bytes / sizeof(float); i++)
    values[i] = 2 * in[i];
  return IPRO_OK;
}

static bool read_whole(const char *path, uint8_t **bytes, size_t *size) {
  ipro_error err;
  return ipro_onnx_read_file(path, bytes, size, &err) == IPRO_OK;
}

static void resnet8(void) {
  char source[1024], exported[1024];
  ipro_test_path(source, sizeof source, "models/resnet8_fmnist.onnx");
  snprintf(exported, sizeof exported, "%s/doubled.onnx", directory);
  ipro_error err = {{0}};
  ipro_graph *original = NULL, *reloaded = NULL;
  CHECK_OK(ipro_graph_load(source, &original, &err), &err);
  if (!original) return;
  doubling d = {.source = original, .keep = "conv1.weight"};
  CHECK_OK(ipro_onnx_export_initializers(source, exported, double_value, &d, &err), &err);
  CHECK_OK(ipro_graph_load(exported, &reloaded, &err), &err);
  if (!reloaded) {
    ipro_graph_free(original);
    return;
  }
  int floats = 0, kept = 0, doubled = 0, mismatched = 0;
  CHECK_EQ_INT(reloaded->n_tensors, original->n_tensors);
  for (int t = 0; t < original->n_tensors && t < reloaded->n_tensors; t++) {
    const ipro_tensor *a = &original->tensors[t], *b = &reloaded->tensors[t];
    CHECK_MSG(strcmp(a->name, b->name) == 0 && a->kind == b->kind && a->dtype == b->dtype,
              "tensor %d: '%s' vs '%s'", t, a->name, b->name);
    if (a->kind != IPRO_TENSOR_INITIALIZER) continue;
    CHECK_MSG(a->data_bytes == b->data_bytes && ipro_shape_equal(&a->shape, &b->shape),
              "'%s' changed shape", a->name);
    if (a->data_bytes != b->data_bytes) continue;
    if (a->dtype != IPRO_DTYPE_FLOAT) {
      mismatched += memcmp(a->data, b->data, a->data_bytes) != 0;
      continue;
    }
    floats++;
    bool keep = strcmp(a->name, "conv1.weight") == 0;
    const float *x = a->data, *y = b->data;
    bool ok = true;
    for (size_t i = 0; i < a->data_bytes / sizeof(float); i++)
      ok = ok && y[i] == (keep ? x[i] : 2 * x[i]);
    CHECK_MSG(ok, "'%s' is not %s", a->name, keep ? "unchanged" : "doubled");
    kept += keep;
    doubled += !keep;
  }
  CHECK_EQ_INT(mismatched, 0);
  CHECK_EQ_INT(kept, 1);
  CHECK_EQ_INT(d.calls, floats);
  CHECK(doubled > 10);
  CHECK_EQ_INT(reloaded->n_nodes, original->n_nodes);
  for (int n = 0; n < original->n_nodes && n < reloaded->n_nodes; n++)
    CHECK_MSG(strcmp(original->nodes[n].op_type, reloaded->nodes[n].op_type) == 0 &&
                  original->nodes[n].n_attrs == reloaded->nodes[n].n_attrs,
              "node %d differs", n);
  CHECK(reloaded->n_inputs == original->n_inputs && reloaded->n_outputs == original->n_outputs);
  CHECK(reloaded->opset == original->opset && reloaded->ir_version == original->ir_version);
  ipro_graph_free(reloaded);

  /* Keeping everything gives back the source's bytes. */
  char same[1024];
  snprintf(same, sizeof same, "%s/same.onnx", directory);
  doubling all = {.source = original, .keep_all = true};
  CHECK_OK(ipro_onnx_export_initializers(source, same, double_value, &all, &err), &err);
  uint8_t *a = NULL, *b = NULL;
  size_t a_size = 0, b_size = 0;
  if (read_whole(source, &a, &a_size) && read_whole(same, &b, &b_size))
    CHECK_MSG(a_size == b_size && memcmp(a, b, a_size) == 0,
              "an export that keeps every initializer differs from the source (%zu vs %zu bytes)",
              a_size, b_size);
  free(a);
  free(b);

  /* A failing callback stops the export and writes nothing. */
  char failed[1024];
  snprintf(failed, sizeof failed, "%s/failed.onnx", directory);
  doubling fail = {.source = original, .fail = true};
  CHECK(ipro_onnx_export_initializers(source, failed, double_value, &fail, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "no value for"), "message: %s", err.message);
  CHECK(access(failed, F_OK) != 0);
  CHECK(ipro_onnx_export_initializers("/nonexistent/model.onnx", failed, double_value, &fail,
                                      &err) == IPRO_ERROR &&
        strstr(err.message, "/nonexistent/model.onnx"));
  ipro_graph_free(original);

  /* onnx.checker, when Python's onnx package is there. */
  if (system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") == 0) {
    char command[2300];
    snprintf(command, sizeof command,
             "/usr/bin/python3 -c \"import onnx, sys; onnx.checker.check_model(onnx.load('%s'), "
             "full_check=True)\"",
             exported);
    bool accepted = system(command) == 0;
    CHECK_MSG(accepted, "onnx.checker rejects %s", exported);
    if (accepted) printf("onnx.checker (full_check) accepts the exported resnet8\n");
  } else {
    printf("note: python3 cannot import onnx; onnx.checker part skipped\n");
  }
}

/* X [N,3] -> MatMul W [3,2] (float_data) -> Add B [2] (external file b.bin) -> Y [N,2]. */
static bool write_hand_model(const char *path) {
  Onnx__ModelProto model;
  onnx__model_proto__init(&model);
  model.has_ir_version = 1;
  model.ir_version = 8;
  Onnx__OperatorSetIdProto opset;
  onnx__operator_set_id_proto__init(&opset);
  opset.domain = "";
  opset.has_version = 1;
  opset.version = 13;
  Onnx__OperatorSetIdProto *opsets[1] = {&opset};
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.producer_name = "test_onnx_export";

  Onnx__GraphProto graph;
  onnx__graph_proto__init(&graph);
  graph.name = "hand";
  model.graph = &graph;

  float w_values[6] = {1, -2, 3.5f, 0.25f, -5, 6};
  int64_t w_dims[2] = {3, 2}, b_dims[1] = {2};
  Onnx__TensorProto w, b;
  onnx__tensor_proto__init(&w);
  onnx__tensor_proto__init(&b);
  w.name = "W";
  w.has_data_type = b.has_data_type = 1;
  w.data_type = b.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  w.n_dims = 2;
  w.dims = w_dims;
  w.n_float_data = 6;
  w.float_data = w_values;
  b.name = "B";
  b.n_dims = 1;
  b.dims = b_dims;
  b.has_data_location = 1;
  b.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  Onnx__StringStringEntryProto location, length;
  onnx__string_string_entry_proto__init(&location);
  onnx__string_string_entry_proto__init(&length);
  location.key = "location";
  location.value = "b.bin";
  length.key = "length";
  length.value = "8";
  Onnx__StringStringEntryProto *entries[2] = {&location, &length};
  b.n_external_data = 2;
  b.external_data = entries;
  Onnx__TensorProto *initializers[2] = {&w, &b};
  graph.n_initializer = 2;
  graph.initializer = initializers;

  Onnx__NodeProto matmul, add;
  onnx__node_proto__init(&matmul);
  onnx__node_proto__init(&add);
  char *matmul_in[2] = {"X", "W"}, *matmul_out[1] = {"XW"}, *add_in[2] = {"XW", "B"},
       *add_out[1] = {"Y"};
  matmul.op_type = "MatMul";
  matmul.name = "matmul";
  matmul.n_input = 2;
  matmul.input = matmul_in;
  matmul.n_output = 1;
  matmul.output = matmul_out;
  add.op_type = "Add";
  add.name = "add";
  add.n_input = 2;
  add.input = add_in;
  add.n_output = 1;
  add.output = add_out;
  Onnx__NodeProto *nodes[2] = {&matmul, &add};
  graph.n_node = 2;
  graph.node = nodes;

  Onnx__ValueInfoProto infos[2];
  Onnx__TypeProto types[2];
  Onnx__TypeProto__Tensor tensor_types[2];
  Onnx__TensorShapeProto shapes[2];
  Onnx__TensorShapeProto__Dimension dims[2][2];
  Onnx__TensorShapeProto__Dimension *dim_pointers[2][2];
  Onnx__ValueInfoProto *inputs[1], *outputs[1];
  const char *names[2] = {"X", "Y"};
  int64_t widths[2] = {3, 2};
  for (int i = 0; i < 2; i++) {
    onnx__value_info_proto__init(&infos[i]);
    onnx__type_proto__init(&types[i]);
    onnx__type_proto__tensor__init(&tensor_types[i]);
    onnx__tensor_shape_proto__init(&shapes[i]);
    for (int d = 0; d < 2; d++) {
      onnx__tensor_shape_proto__dimension__init(&dims[i][d]);
      dim_pointers[i][d] = &dims[i][d];
    }
    dims[i][0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    dims[i][0].dim_param = "N";
    dims[i][1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dims[i][1].dim_value = widths[i];
    shapes[i].n_dim = 2;
    shapes[i].dim = dim_pointers[i];
    tensor_types[i].has_elem_type = 1;
    tensor_types[i].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tensor_types[i].shape = &shapes[i];
    types[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    types[i].tensor_type = &tensor_types[i];
    infos[i].name = (char *)names[i];
    infos[i].type = &types[i];
  }
  inputs[0] = &infos[0];
  outputs[0] = &infos[1];
  graph.n_input = 1;
  graph.input = inputs;
  graph.n_output = 1;
  graph.output = outputs;

  size_t size = onnx__model_proto__get_packed_size(&model);
  uint8_t *bytes = malloc(size);
  if (!bytes) return false;
  onnx__model_proto__pack(&model, bytes);
  FILE *file = fopen(path, "wb");
  bool ok = file && fwrite(bytes, 1, size, file) == size;
  if (file) ok = fclose(file) == 0 && ok;
  free(bytes);
  char bin[1100];
  snprintf(bin, sizeof bin, "%s/b.bin", directory);
  const float b_values[2] = {10, -20};
  file = fopen(bin, "wb");
  ok = ok && file && fwrite(b_values, sizeof b_values, 1, file) == 1;
  if (file) ok = fclose(file) == 0 && ok;
  return ok;
}

static void typed_and_external_fields(void) {
  char source[1100], folder[1100], exported[1200];
  snprintf(source, sizeof source, "%s/hand.onnx", directory);
  snprintf(folder, sizeof folder, "%s/elsewhere", directory);
  snprintf(exported, sizeof exported, "%s/hand.onnx", folder);
  CHECK(write_hand_model(source));
  CHECK(mkdir(folder, 0700) == 0);
  ipro_error err = {{0}};
  ipro_graph *original = NULL, *reloaded = NULL;
  CHECK_OK(ipro_graph_load(source, &original, &err), &err);
  if (!original) return;
  doubling d = {.source = original};
  CHECK_OK(ipro_onnx_export_initializers(source, exported, double_value, &d, &err), &err);
  CHECK_EQ_INT(d.calls, 2);
  /* Loads from a folder without b.bin: the bias is inside the file now. */
  CHECK_OK(ipro_graph_load(exported, &reloaded, &err), &err);
  if (reloaded) {
    const float want_w[6] = {2, -4, 7, 0.5f, -10, 12}, want_b[2] = {20, -40};
    const ipro_tensor *w = &reloaded->tensors[ipro_graph_find_tensor(reloaded, "W")];
    const ipro_tensor *b = &reloaded->tensors[ipro_graph_find_tensor(reloaded, "B")];
    CHECK(w->data_bytes == sizeof want_w && memcmp(w->data, want_w, sizeof want_w) == 0);
    CHECK(b->data_bytes == sizeof want_b && memcmp(b->data, want_b, sizeof want_b) == 0);
    CHECK(w->shape.rank == 2 && w->shape.dims[0] == 3 && w->shape.dims[1] == 2);
  }
  uint8_t *bytes = NULL;
  size_t size = 0;
  Onnx__ModelProto *model = NULL;
  if (read_whole(exported, &bytes, &size)) model = onnx__model_proto__unpack(NULL, size, bytes);
  CHECK(model && model->graph && model->graph->n_initializer == 2);
  for (size_t i = 0; model && model->graph && i < model->graph->n_initializer; i++) {
    const Onnx__TensorProto *t = model->graph->initializer[i];
    CHECK_MSG(t->has_raw_data && t->raw_data.len == (i == 0 ? 24u : 8u) && t->n_float_data == 0 &&
                  t->n_external_data == 0 &&
                  (!t->has_data_location ||
                   t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT) &&
                  t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
              "initializer '%s' is not plain raw float data", t->name);
  }
  CHECK(model && strcmp(model->producer_name, "test_onnx_export") == 0);
  if (model) onnx__model_proto__free_unpacked(model, NULL);
  free(bytes);
  ipro_graph_free(reloaded);
  ipro_graph_free(original);
}

int main(void) {
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary folder");
  resnet8();
  typed_and_external_fields();
  char command[200];
  snprintf(command, sizeof command, "rm -rf '%s'", directory);
  if (system(command) != 0) printf("note: could not remove %s\n", directory);
  return ipro_test_finish();
}
