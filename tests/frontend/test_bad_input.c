/* Bad input gets one clear message and exit status 1, never a crash (ground rule 5).
 *
 * Each broken model is built here with protobuf-c's own encoder (not with infopro's code), written
 * to a temporary file, and given both to the library (the message must name the file and, where
 * there is one, the node and tensor) and to the `infopro inspect` command (exit status 1, one line
 * on stderr). The sanitizer build catches crashes and leaks on the way. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir/graph.h"
#include "onnx.pb-c.h"
#include "runtime/trainer.h"
#include "support/check.h"

static char directory[] = "/tmp/ipro_bad_input_XXXXXX";

static const char *write_file(const char *name, const void *bytes, size_t size) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", directory, name);
  FILE *file = fopen(path, "wb");
  if (!file) abort();
  if (size) fwrite(bytes, 1, size, file);
  fclose(file);
  return path;
}

/* ---- a tiny model builder on protobuf-c ---- */

typedef struct {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  Onnx__NodeProto nodes[4];
  Onnx__NodeProto *node_list[4];
  Onnx__TensorProto initializers[4];
  Onnx__TensorProto *initializer_list[4];
  Onnx__ValueInfoProto input, output;
  Onnx__ValueInfoProto *input_list[1], *output_list[1];
  Onnx__TypeProto input_type;
  Onnx__TypeProto__Tensor input_tensor_type;
  Onnx__TensorShapeProto input_shape;
  Onnx__TensorShapeProto__Dimension dims[4];
  Onnx__TensorShapeProto__Dimension *dim_list[4];
} model_builder;

/* input "x" [1, 3, 8, 8] float, one node writing "y". */
static void builder_init(model_builder *b, const char *op_type, char **node_inputs, int n_inputs) {
  memset(b, 0, sizeof *b);
  onnx__model_proto__init(&b->model);
  onnx__graph_proto__init(&b->graph);
  onnx__operator_set_id_proto__init(&b->opset);
  b->opset.domain = "";
  b->opset.has_version = 1;
  b->opset.version = 17;
  b->opsets[0] = &b->opset;
  b->model.has_ir_version = 1;
  b->model.ir_version = 8;
  b->model.n_opset_import = 1;
  b->model.opset_import = b->opsets;
  b->model.graph = &b->graph;
  b->graph.name = "bad";

  static const int64_t shape[4] = {1, 3, 8, 8};
  for (int d = 0; d < 4; d++) {
    onnx__tensor_shape_proto__dimension__init(&b->dims[d]);
    b->dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    b->dims[d].dim_value = shape[d];
    b->dim_list[d] = &b->dims[d];
  }
  onnx__tensor_shape_proto__init(&b->input_shape);
  b->input_shape.n_dim = 4;
  b->input_shape.dim = b->dim_list;
  onnx__type_proto__tensor__init(&b->input_tensor_type);
  b->input_tensor_type.has_elem_type = 1;
  b->input_tensor_type.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  b->input_tensor_type.shape = &b->input_shape;
  onnx__type_proto__init(&b->input_type);
  b->input_type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  b->input_type.tensor_type = &b->input_tensor_type;
  onnx__value_info_proto__init(&b->input);
  b->input.name = "x";
  b->input.type = &b->input_type;
  b->input_list[0] = &b->input;
  b->graph.n_input = 1;
  b->graph.input = b->input_list;
  onnx__value_info_proto__init(&b->output);
  b->output.name = "y";
  b->output_list[0] = &b->output;
  b->graph.n_output = 1;
  b->graph.output = b->output_list;

  static char *outputs[1] = {"y"};
  onnx__node_proto__init(&b->nodes[0]);
  b->nodes[0].name = "the_node";
  b->nodes[0].op_type = (char *)op_type;
  b->nodes[0].n_input = (size_t)n_inputs;
  b->nodes[0].input = node_inputs;
  b->nodes[0].n_output = 1;
  b->nodes[0].output = outputs;
  b->node_list[0] = &b->nodes[0];
  b->graph.n_node = 1;
  b->graph.node = b->node_list;
}

static void builder_add_float_initializer(model_builder *b, const char *name, int64_t *dims,
                                          int rank, float *values, size_t count) {
  size_t i = b->graph.n_initializer;
  Onnx__TensorProto *t = &b->initializers[i];
  onnx__tensor_proto__init(t);
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->n_dims = (size_t)rank;
  t->dims = dims;
  t->n_float_data = count;
  t->float_data = values;
  b->initializer_list[i] = t;
  b->graph.n_initializer = i + 1;
  b->graph.initializer = b->initializer_list;
}

static void builder_add_int64_initializer(model_builder *b, const char *name, int64_t *dims,
                                          int rank, int64_t *values, size_t count) {
  builder_add_float_initializer(b, name, dims, rank, NULL, 0);
  Onnx__TensorProto *t = &b->initializers[b->graph.n_initializer - 1];
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  t->n_int64_data = count;
  t->int64_data = values;
}

static const char *builder_write(model_builder *b, const char *name) {
  size_t size = onnx__model_proto__get_packed_size(&b->model);
  uint8_t *bytes = malloc(size);
  onnx__model_proto__pack(&b->model, bytes);
  const char *path = write_file(name, bytes, size);
  free(bytes);
  return path;
}

/* ---- expectations ---- */

/* The library must fail with a message containing every needle; the CLI must exit 1 with one
 * line on stderr. */
static void expect_rejected(const char *path, const char *needle1, const char *needle2) {
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  ipro_status status = ipro_graph_open(path, 1, &graph, &err);
  CHECK_MSG(status == IPRO_ERROR, "%s was accepted", path);
  CHECK(graph == NULL);
  if (graph) ipro_graph_free(graph);
  CHECK_MSG(strstr(err.message, path) != NULL, "message does not name the file: %s", err.message);
  if (needle1)
    CHECK_MSG(strstr(err.message, needle1) != NULL, "no '%s' in: %s", needle1, err.message);
  if (needle2)
    CHECK_MSG(strstr(err.message, needle2) != NULL, "no '%s' in: %s", needle2, err.message);

  const char *infopro = getenv("IPRO_INFOPRO");
  CHECK_MSG(infopro != NULL, "IPRO_INFOPRO is not set: the command line's message is unchecked");
  if (!infopro) return;
  char command[1024], stderr_path[600];
  snprintf(stderr_path, sizeof stderr_path, "%s/stderr.txt", directory);
  snprintf(command, sizeof command, "'%s' inspect '%s' >/dev/null 2>'%s'", infopro, path,
           stderr_path);
  int status_code = system(command);
  CHECK_MSG(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 1,
            "infopro inspect %s: exit status %d, expected 1", path, WEXITSTATUS(status_code));
  FILE *file = fopen(stderr_path, "r");
  int lines = 0, c;
  while (file && (c = fgetc(file)) != EOF)
    lines += c == '\n';
  if (file) fclose(file);
  CHECK_MSG(lines == 1, "infopro inspect %s printed %d lines on stderr, expected 1", path, lines);
}

int main(void) {
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");

  /* Empty file and random bytes. */
  expect_rejected(write_file("empty.onnx", "", 0), "empty", NULL);
  uint8_t noise[4096];
  srand(7);
  for (size_t i = 0; i < sizeof noise; i++)
    noise[i] = (uint8_t)rand();
  expect_rejected(write_file("noise.onnx", noise, sizeof noise), NULL, NULL);

  /* A real model cut in half. */
  char model_path[1024];
  ipro_test_path(model_path, sizeof model_path, "models/resnet8_fmnist.onnx");
  FILE *file = fopen(model_path, "rb");
  CHECK_MSG(file != NULL, "cannot open %s", model_path);
  if (file) {
    static uint8_t bytes[1 << 20];
    size_t size = fread(bytes, 1, sizeof bytes, file);
    fclose(file);
    expect_rejected(write_file("truncated.onnx", bytes, size / 2), "truncated", NULL);
  }

  /* An op infopro does not know: the op and the node are named. */
  model_builder b;
  static char *x_only[1] = {"x"};
  builder_init(&b, "FancyAttention", x_only, 1);
  expect_rejected(builder_write(&b, "unknown_op.onnx"), "FancyAttention", "the_node");

  /* A Conv whose weight initializer is missing. */
  static char *conv_inputs[2] = {"x", "conv.weight"};
  builder_init(&b, "Conv", conv_inputs, 2);
  expect_rejected(builder_write(&b, "missing_initializer.onnx"), "conv.weight", "the_node");

  /* A Conv whose weight expects 4 input channels where the input has 3. */
  static int64_t weight_dims[4] = {2, 4, 3, 3};
  static float weight[2 * 4 * 3 * 3];
  builder_init(&b, "Conv", conv_inputs, 2);
  builder_add_float_initializer(&b, "conv.weight", weight_dims, 4, weight, 72);
  expect_rejected(builder_write(&b, "inconsistent_shapes.onnx"), "the_node", "channel");

  /* An initializer whose data does not fill its shape. */
  builder_init(&b, "Conv", conv_inputs, 2);
  builder_add_float_initializer(&b, "conv.weight", weight_dims, 4, weight, 10);
  expect_rejected(builder_write(&b, "short_initializer.onnx"), "conv.weight", NULL);

  /* ConstantOfShape asked for 10^20 elements (past int64): refused by name, not a fold that
   * allocates a wrapped size (it aborted under AddressSanitizer). */
  static char *shape_inputs[1] = {"shape"};
  static int64_t shape_dims[1] = {2}, huge[2] = {10000000000, 10000000000};
  builder_init(&b, "ConstantOfShape", shape_inputs, 1);
  builder_add_int64_initializer(&b, "shape", shape_dims, 1, huge, 2);
  expect_rejected(builder_write(&b, "constant_of_huge_shape.onnx"), "the_node", "elements");

  /* InstanceNormalization of an input without channels: refused, not rows of nothing. */
  static char *norm_inputs[3] = {"x", "norm.scale", "norm.bias"};
  static int64_t no_channels[1] = {0};
  builder_init(&b, "InstanceNormalization", norm_inputs, 3);
  b.dims[1].dim_value = 0;
  builder_add_float_initializer(&b, "norm.scale", no_channels, 1, weight, 0);
  builder_add_float_initializer(&b, "norm.bias", no_channels, 1, weight, 0);
  expect_rejected(builder_write(&b, "instance_norm_no_channels.onnx"), "the_node", "channels");

  /* An input of a dtype infopro does not compute in. */
  static char *add_inputs[2] = {"x", "x"};
  builder_init(&b, "Add", add_inputs, 2);
  b.input_tensor_type.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT16;
  expect_rejected(builder_write(&b, "unsupported_dtype.onnx"), "int16", "the_node");

  /* A float64 network loads (the reference kernels run it), but training refuses it by name:
   * the trainer feeds float32 images and keeps float32 parameters and optimizer state. */
  builder_init(&b, "Relu", x_only, 1);
  b.input_tensor_type.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
  const char *double_model = builder_write(&b, "float64_network.onnx");
  ipro_graph *double_graph = NULL;
  ipro_error open_err = {{0}};
  CHECK_OK(ipro_graph_open(double_model, 1, &double_graph, &open_err), &open_err);
  ipro_graph_free(double_graph);
  ipro_trainer_options options = {.batch = 1,
                                  .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD)};
  ipro_trainer *trainer = NULL;
  ipro_error train_err = {{0}};
  CHECK(ipro_trainer_create(double_model, &options, &trainer, &train_err) == IPRO_ERROR);
  CHECK(trainer == NULL);
  CHECK_MSG(strstr(train_err.message, "float32") && strstr(train_err.message, "'x' is float64"),
            "unexpected message: %s", train_err.message);

  /* A node from a foreign domain. */
  builder_init(&b, "Relu", x_only, 1);
  b.nodes[0].domain = "com.microsoft";
  expect_rejected(builder_write(&b, "foreign_domain.onnx"), "com.microsoft", "the_node");

  /* A file that does not exist. */
  char missing[600];
  snprintf(missing, sizeof missing, "%s/does_not_exist.onnx", directory);
  expect_rejected(missing, "cannot open", NULL);

  char cleanup[600];
  snprintf(cleanup, sizeof cleanup, "rm -rf '%s'", directory);
  if (system(cleanup) != 0) fprintf(stderr, "could not remove %s\n", directory);
  return ipro_test_finish();
}
