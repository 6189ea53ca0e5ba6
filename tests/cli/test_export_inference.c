/* The inference form of a trained model, checked against `infopro run` (which puts a training-form
 * model into inference form in the IR) and against the file's own structure:
 *   - ResNet-8, re-saved with external data (`infopro export --external-data`), trained two steps
 *     on Fashion-MNIST with --out T.onnx --out-inference I.onnx (both then with side files, as
 *     the source had), and `infopro export T.onnx --inference -o E.onnx`: `infopro run` on 8
 *     test images gives bit-identical logits from T, I and E;
 *   - in I and E every BatchNormalization has one output and training_mode 0, the graph keeps
 *     only its logits output, and the running means are T's trained ones, not the untrained
 *     model's;
 *   - the MLP's Dropout loses its training_mode input and mask output, with logits unchanged;
 *   - a tiny EfficientNet's stochastic depth keeps every branch (stochastic_depth below);
 *   - a missing model is one message and exit status 1, a missing -o a usage error.
 * Skipped when Fashion-MNIST is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx_decode.h"
#include "runtime/dataset.h"
#include "support/check.h"
#include "support/command.h"

static char directory[] = "/tmp/ipro_test_export_inference_XXXXXX";

static bool write_input(const char *path) {
  ipro_dataset test;
  ipro_error err = {{0}};
  if (ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TEST, &test, &err) != IPRO_OK) return false;
  float values[8 * 784];
  for (int i = 0; i < 8 * 784; i++)
    values[i] = ipro_dataset_normalize_pixel(&test, 0, test.images[i]);
  ipro_dataset_free(&test);
  char name[] = "input";
  ipro_tensor tensor = {.name = name,
                        .dtype = IPRO_DTYPE_FLOAT,
                        .shape = {.rank = 4, .dims = {8, 1, 28, 28}},
                        .data = values,
                        .data_bytes = sizeof values};
  return ipro_tensor_save_file(path, &tensor, &err) == IPRO_OK;
}

/* Runs model on the input into DIRECTORY/tag/output_0.pb and loads it. A model in training form
 * runs with --inference (running statistics, Dropout off: what the inference form must compute);
 * a model in inference form runs as it stands. */
static bool run_model(const char *model, bool training_form, const char *input, const char *tag,
                      ipro_tensor *out) {
  char folder[700], arguments[2200], output[800];
  snprintf(folder, sizeof folder, "%s/%s", directory, tag);
  snprintf(arguments, sizeof arguments, "run '%s' --input '%s' --output-dir '%s'%s", model, input,
           folder, training_form ? " --inference" : "");
  if (mkdir(folder, 0700) != 0) return false;
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "run %s: exit status %d: %s", model, r.exit_status, r.err);
  snprintf(output, sizeof output, "%s/output_0.pb", folder);
  ipro_error err = {{0}};
  return r.exit_status == 0 && ipro_tensor_load_file(output, out, &err) == IPRO_OK;
}

static void same_outputs(const ipro_tensor *a, const ipro_tensor *b, const char *what) {
  CHECK_MSG(a->data && b->data && a->data_bytes == b->data_bytes && a->data_bytes > 0 &&
                !memcmp(a->data, b->data, a->data_bytes),
            "%s: outputs differ", what);
}

static Onnx__ModelProto *decode(const char *path, uint8_t **bytes) {
  size_t size = 0;
  ipro_error err;
  if (ipro_onnx_read_file(path, bytes, &size, &err) != IPRO_OK) return NULL;
  return onnx__model_proto__unpack(NULL, size, *bytes);
}

/* The bytes of initializer name as the loader reads them (external data included). */
static bool same_value(const ipro_graph *a, const ipro_graph *b, const char *name) {
  int i = ipro_graph_find_tensor(a, name), j = ipro_graph_find_tensor(b, name);
  return i >= 0 && j >= 0 && a->tensors[i].data_bytes == b->tensors[j].data_bytes &&
         !memcmp(a->tensors[i].data, b->tensors[j].data, a->tensors[i].data_bytes);
}

/* Inference-form structure of path; running means compared with trained's and untrained's. */
static void check_structure(const char *path, const char *trained, const char *untrained) {
  uint8_t *bytes = NULL;
  Onnx__ModelProto *m = decode(path, &bytes);
  ipro_graph *graphs[3] = {0};
  const char *paths[3] = {path, trained, untrained};
  ipro_error err = {{0}};
  for (int i = 0; i < 3; i++)
    CHECK_OK(ipro_graph_load(paths[i], &graphs[i], &err), &err);
  CHECK_MSG(m, "cannot decode %s", path);
  int batch_norms = 0, moved = 0, as_trained = 0;
  for (size_t n = 0; m && graphs[2] && n < m->graph->n_node; n++) {
    const Onnx__NodeProto *node = m->graph->node[n];
    if (strcmp(node->op_type, "BatchNormalization")) continue;
    batch_norms++;
    CHECK_MSG(node->n_output == 1, "%s: %s has %zu outputs", path, node->name, node->n_output);
    for (size_t a = 0; a < node->n_attribute; a++)
      if (!strcmp(node->attribute[a]->name, "training_mode"))
        CHECK_MSG(node->attribute[a]->i == 0, "%s: %s in training mode", path, node->name);
    as_trained += same_value(graphs[0], graphs[1], node->input[3]);
    moved += !same_value(graphs[0], graphs[2], node->input[3]);
  }
  CHECK_MSG(batch_norms > 5 && as_trained == batch_norms && moved == batch_norms,
            "%s: %d BatchNormalization nodes, %d with T's running means, %d moved by training",
            path, batch_norms, as_trained, moved);
  CHECK_MSG(m && m->graph->n_output == 1 && !strcmp(m->graph->output[0]->name, "logits"),
            "%s: graph outputs are not just the logits", path);
  for (int i = 0; i < 3; i++)
    ipro_graph_free(graphs[i]);
  if (m) onnx__model_proto__free_unpacked(m, NULL);
  free(bytes);
}

/* `infopro ARGUMENTS`, which must succeed (and print needle, when given). */
static void run_ok(const char *arguments, const char *needle) {
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && (!needle || strstr(r.out, needle)), "infopro %s: %d: %s%s",
            arguments, r.exit_status, r.out, r.err);
}

static void resnet8(const char *input) {
  char trained[700], inference[700], exported[700], arguments[2400];
  snprintf(trained, sizeof trained, "%s/T.onnx", directory);
  snprintf(inference, sizeof inference, "%s/I.onnx", directory);
  snprintf(exported, sizeof exported, "%s/E.onnx", directory);
  char source[700], side[800];
  snprintf(source, sizeof source, "%s/external.onnx", directory);
  snprintf(arguments, sizeof arguments, "export models/resnet8_fmnist.onnx --external-data -o '%s'",
           source);
  run_ok(arguments, "with its weights in");
  snprintf(arguments, sizeof arguments,
           "train '%s' --data fashion-mnist --limit 64 --batch 32 --epochs 1 --test-limit 64 "
           "--out '%s' --out-inference '%s'",
           source, trained, inference);
  run_ok(arguments, "(inference form)");
  snprintf(arguments, sizeof arguments, "export '%s' --inference -o '%s'", trained, exported);
  run_ok(arguments, NULL);
  /* The source kept its weights outside, so the trained models do too. */
  snprintf(side, sizeof side, "%s.data", trained);
  CHECK_MSG(access(side, R_OK) == 0, "train --out from an external-data model wrote no %s", side);
  snprintf(side, sizeof side, "%s.data", inference);
  CHECK_MSG(access(side, R_OK) == 0, "--out-inference wrote no %s", side);
  ipro_tensor from_trained = {0}, from_inference = {0}, from_export = {0};
  CHECK(run_model(trained, true, input, "T", &from_trained));
  CHECK(run_model(inference, false, input, "I", &from_inference));
  CHECK(run_model(exported, false, input, "E", &from_export));
  CHECK(from_trained.shape.rank == 2 && from_trained.shape.dims[0] == 8 &&
        from_trained.shape.dims[1] == 10);
  same_outputs(&from_trained, &from_inference, "train --out-inference vs infopro run");
  same_outputs(&from_trained, &from_export, "export --inference vs infopro run");
  char untrained[1024];
  ipro_test_path(untrained, sizeof untrained, "models/resnet8_fmnist.onnx");
  check_structure(inference, trained, untrained);
  check_structure(exported, trained, untrained);
  ipro_tensor_release(&from_trained);
  ipro_tensor_release(&from_inference);
  ipro_tensor_release(&from_export);
}

static void mlp_dropout(const char *input) {
  char exported[700], arguments[1600];
  snprintf(exported, sizeof exported, "%s/mlp.onnx", directory);
  snprintf(arguments, sizeof arguments, "export models/mlp_fmnist.onnx --inference -o '%s'",
           exported);
  run_ok(arguments, NULL);
  ipro_tensor before = {0}, after = {0};
  CHECK(run_model("models/mlp_fmnist.onnx", true, input, "mlp_source", &before));
  CHECK(run_model(exported, false, input, "mlp_inference", &after));
  same_outputs(&before, &after, "MLP in inference form");
  uint8_t *bytes = NULL;
  Onnx__ModelProto *m = decode(exported, &bytes);
  int dropouts = 0;
  for (size_t n = 0; m && n < m->graph->n_node; n++) {
    const Onnx__NodeProto *node = m->graph->node[n];
    if (strcmp(node->op_type, "Dropout")) continue;
    dropouts++;
    CHECK_MSG(node->n_input <= 2 && node->n_output == 1, "%s: Dropout %s has %zu in, %zu out",
              exported, node->name, node->n_input, node->n_output);
  }
  CHECK_MSG(dropouts >= 1, "%s: no Dropout found", exported);
  if (m) onnx__model_proto__free_unpacked(m, NULL);
  free(bytes);
  ipro_tensor_release(&before);
  ipro_tensor_release(&after);
}

/* A tiny EfficientNet from each of PyTorch's exporters (models/export_dynamo.py): its stochastic
 * depth and dropout, written as RandomUniformLike, Less, Cast and Div, keep every branch whole in
 * the exported inference form, bit-identically with `infopro run --inference` (which
 * test_golden_forward checks against PyTorch's eval mode); the training form drawn at random
 * differs. */
static void stochastic_depth(const char *input, const char *name) {
  char source[700], exported[700], arguments[1600], tag[128];
  ipro_test_path(source, sizeof source, "models");
  snprintf(source + strlen(source), sizeof source - strlen(source), "/%s.onnx", name);
  snprintf(exported, sizeof exported, "%s/%s_inference.onnx", directory, name);
  snprintf(arguments, sizeof arguments, "export '%s' --inference -o '%s'", source, exported);
  run_ok(arguments, "(inference form)");
  ipro_tensor inference = {0}, exported_out = {0}, drawn = {0};
  snprintf(tag, sizeof tag, "%s_run_inference", name);
  CHECK(run_model(source, true, input, tag, &inference));
  snprintf(tag, sizeof tag, "%s_exported", name);
  CHECK(run_model(exported, false, input, tag, &exported_out));
  snprintf(tag, sizeof tag, "%s_training_form", name);
  CHECK(run_model(source, false, input, tag, &drawn));
  same_outputs(&inference, &exported_out, name);
  CHECK_MSG(inference.data && drawn.data && inference.data_bytes == drawn.data_bytes &&
                memcmp(inference.data, drawn.data, inference.data_bytes) != 0,
            "%s: the training form's random branches gave the inference form's logits", name);
  ipro_tensor_release(&inference);
  ipro_tensor_release(&exported_out);
  ipro_tensor_release(&drawn);
}

int main(void) {
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  char input[700];
  snprintf(input, sizeof input, "%s/images.pb", directory);
  CHECK(write_input(input));
  resnet8(input);
  mlp_dropout(input);
  stochastic_depth(input, "effnet_tiny_fmnist");
  stochastic_depth(input, "effnet_tiny_dynamo_fmnist");
  ipro_command_result r;
  ipro_test_run_infopro("export models/missing.onnx --inference -o /tmp/never.onnx", &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "models/missing.onnx"),
            "missing model: %d: %s", r.exit_status, r.err);
  ipro_test_run_infopro("export models/mlp_fmnist.onnx --inference", &r);
  CHECK_MSG(r.exit_status == 2, "no -o: exit status %d", r.exit_status);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
