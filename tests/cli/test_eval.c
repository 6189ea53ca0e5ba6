/* `infopro eval` reports the accuracy and mean cross-entropy that an independent computation
 * gives: the same test images normalised pixel by pixel here (torchvision's formula and
 * Fashion-MNIST's published constants, not the dataset API or the batch loader), run at once as a
 * single batch through the executor on the reference backend (not oneDNN, not eval's batching),
 * scored here in double. The binary's default oneDNN run must agree on the count of correct
 * predictions exactly and on the cross-entropy within 1e-4 relative, whatever the batch size:
 * batches that divide the images, batches that leave a remainder (the second executor), a batch
 * larger than the whole set, and the reference backend. Failures are one line on stderr with exit
 * status 1 (a missing dataset names its path; a model built for other images names both shapes);
 * usage errors exit with 2. With --json, each class's images and correct predictions are the
 * reference backend's too, --json on the model is refused (2) with the model intact, and a --json
 * that cannot be written is an error (1) before the pass. Skipped when Fashion-MNIST is not
 * installed.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataset.h"
#include "runtime/executor.h"
#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"

#define IMAGES 512

/* Runs `infopro eval ARGS`. */
static void run_eval(const char *arguments, ipro_command_result *r) {
  char command[2048];
  snprintf(command, sizeof command, "eval %s", arguments);
  ipro_test_run_infopro(command, r);
}

#define CLASSES 10

typedef struct {
  long long correct, count;
  double cross_entropy;
  long long class_seen[CLASSES], class_correct[CLASSES];
} scores;

/* The independent computation over the first IMAGES test images. */
static bool reference_scores(scores *s) {
  ipro_error err = {{0}};
  ipro_dataset data;
  bool ok = false;
  if (ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TEST, &data, &err) != IPRO_OK) {
    CHECK_MSG(false, "dataset: %s", err.message);
    return false;
  }
  size_t pixels = (size_t)data.channels * data.height * data.width;
  float *images = malloc(IMAGES * pixels * sizeof *images);
  /* normalised here as torchvision's ToTensor and Normalize do it, each step rounded to float32,
   * with Fashion-MNIST's published mean and std: not with the dataset's own function and
   * constants, which the loader eval runs on shares */
  for (size_t i = 0; images && i < IMAGES * pixels; i++)
    images[i] = ((float)data.images[i] / 255.0f - 0.2860f) / 0.3530f;

  char model[1024];
  ipro_test_path(model, sizeof model, "models/mlp_fmnist.onnx");
  ipro_graph *graph = NULL;
  ipro_backend *reference = NULL;
  ipro_executor *executor = NULL;
  float *logits = malloc(IMAGES * 10 * sizeof *logits);
  ipro_status status = ipro_graph_load(model, &graph, &err);
  if (status == IPRO_OK) status = ipro_graph_normalize(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_set_inference_mode(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, IMAGES, &err);
  if (status == IPRO_OK) status = ipro_backend_create_reference(&reference, &err);
  if (status == IPRO_OK) status = ipro_executor_create(graph, reference, NULL, &executor, &err);
  if (status == IPRO_OK && images && logits) {
    status = ipro_executor_run(executor, (const void *const[]){images}, (void *[]){logits}, &err);
    CHECK_MSG(status == IPRO_OK, "reference run: %s", err.message);
    if (status == IPRO_OK) {
      *s = (scores){.count = IMAGES};
      for (int i = 0; i < IMAGES; i++) {
        const float *row = logits + i * 10;
        int label = data.labels[i], best = 0;
        double largest = -INFINITY, sum = 0;
        for (int c = 0; c < 10; c++) {
          if (row[c] > row[best]) best = c;
          if (row[c] > largest) largest = row[c];
        }
        for (int c = 0; c < 10; c++)
          sum += exp((double)row[c] - largest);
        s->correct += best == label;
        s->class_seen[label]++;
        s->class_correct[label] += best == label;
        s->cross_entropy += (log(sum) + largest - row[label]) / IMAGES;
      }
      ok = true;
    }
  } else {
    CHECK_MSG(false, "model: %s", err.message);
  }
  ipro_executor_free(executor);
  if (reference) reference->destroy(reference);
  free(logits);
  ipro_graph_free(graph);
  free(images);
  ipro_dataset_free(&data);
  return ok;
}

/* Runs eval with ARGS on the IMAGES images and compares its line with the expected scores. */
static void expect_scores(const char *arguments, const scores *expected) {
  ipro_command_result r;
  run_eval(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "eval %s: exit status %d, stderr: %s", arguments, r.exit_status,
            r.err);
  const char *accuracy = strstr(r.out, "accuracy "), *loss = strstr(r.out, "cross-entropy ");
  double fraction = -1, cross_entropy = -1;
  long long correct = -1, count = -1;
  bool parsed = accuracy && loss &&
                sscanf(accuracy, "accuracy %lf (%lld/%lld)", &fraction, &correct, &count) == 3 &&
                sscanf(loss, "cross-entropy %lf", &cross_entropy) == 1;
  CHECK_MSG(parsed, "eval %s: cannot parse its output: %s", arguments, r.out);
  if (!parsed) return;
  CHECK_MSG(correct == expected->correct && count == expected->count,
            "eval %s: %lld/%lld correct, the reference backend gives %lld/%lld", arguments, correct,
            count, expected->correct, expected->count);
  CHECK_MSG(fabs(fraction - (double)expected->correct / expected->count) < 0.00005,
            "eval %s: accuracy %.4f printed for %lld/%lld", arguments, fraction, correct, count);
  double relative = fabs(cross_entropy - expected->cross_entropy) / expected->cross_entropy;
  CHECK_MSG(relative < 1e-4, "eval %s: cross-entropy %.6f, the reference backend gives %.6f",
            arguments, cross_entropy, expected->cross_entropy);
}

/* --json -: stdout holds the JSON alone (the result line is on stderr), whose totals and
 * per-class images and correct predictions are the reference backend's. */
static void expect_json(const scores *expected) {
  ipro_command_result r;
  run_eval("models/mlp_fmnist.onnx --data fashion-mnist --limit 512 --batch 100 --json -", &r);
  CHECK_MSG(r.exit_status == 0, "eval --json -: exit status %d, stderr: %s", r.exit_status, r.err);
  json_error_t error;
  json_t *report = json_loads(r.out, 0, &error);
  CHECK_MSG(json_is_object(report), "eval --json -: stdout is not one JSON object (%s): %.300s",
            error.text, r.out);
  CHECK_MSG(strstr(r.err, "accuracy ") != NULL, "eval --json -: no result line on stderr: %s",
            r.err);
  CHECK_MSG(json_integer_value(json_object_get(report, "images")) == expected->count &&
                json_integer_value(json_object_get(report, "correct")) == expected->correct,
            "eval --json -: totals differ from the reference backend's %lld/%lld: %.300s",
            expected->correct, expected->count, r.out);
  const json_t *classes = json_object_get(report, "classes");
  CHECK_MSG(json_array_size(classes) == CLASSES, "eval --json -: not %d classes: %.300s", CLASSES,
            r.out);
  for (size_t c = 0; c < CLASSES && json_array_size(classes) == CLASSES; c++) {
    const json_t *entry = json_array_get(classes, c);
    long long seen = json_integer_value(json_object_get(entry, "images"));
    long long correct = json_integer_value(json_object_get(entry, "correct"));
    CHECK_MSG(json_integer_value(json_object_get(entry, "class")) == (long long)c &&
                  seen == expected->class_seen[c] && correct == expected->class_correct[c],
              "eval --json -: class %zu has %lld/%lld, the reference backend %lld/%lld", c, correct,
              seen, expected->class_correct[c], expected->class_seen[c]);
  }
  json_decref(report);
}

/* --json on the model eval reads is refused (2) before anything is written, the model intact. */
static void json_on_the_model(void) {
  char source[1024], copy[] = "/tmp/ipro_test_eval_XXXXXX", model[64], arguments[256];
  ipro_test_path(source, sizeof source, "models/mlp_fmnist.onnx");
  CHECK(mkdtemp(copy) != NULL);
  snprintf(model, sizeof model, "%s/m.onnx", copy);
  char command[2200];
  snprintf(command, sizeof command, "cp '%s' '%s'", source, model);
  CHECK(system(command) == 0);
  snprintf(arguments, sizeof arguments, "%s --data fashion-mnist --json %s/./m.onnx", model, copy);
  ipro_command_result r;
  run_eval(arguments, &r);
  CHECK_MSG(r.exit_status == 2 && strstr(r.err, "which eval reads"),
            "eval --json on its model: exit status %d, stderr: %s", r.exit_status, r.err);
  snprintf(command, sizeof command, "cmp -s '%s' '%s'", source, model);
  CHECK_MSG(system(command) == 0, "eval --json on its model changed the model");
  /* nor on its external data, the weights beside it */
  char external[128];
  snprintf(external, sizeof external, "%s/e.onnx", copy);
  snprintf(arguments, sizeof arguments, "export %s -o %s --external-data", model, external);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "export --external-data: %s", r.err);
  snprintf(command, sizeof command, "cp %s.data %s.kept", external, external);
  CHECK(system(command) == 0);
  snprintf(arguments, sizeof arguments, "%s --data fashion-mnist --json %s.data", external,
           external);
  run_eval(arguments, &r);
  CHECK_MSG(r.exit_status == 2 && strstr(r.err, "which eval reads"),
            "eval --json on its model's external data: exit status %d, stderr: %s", r.exit_status,
            r.err);
  snprintf(command, sizeof command, "cmp -s %s.data %s.kept", external, external);
  CHECK_MSG(system(command) == 0, "eval --json on the external data changed it");
  snprintf(command, sizeof command, "rm -rf '%s'", copy);
  CHECK(system(command) == 0);
}

/* A failure: exit status 1 (or 2 for usage) and one stderr line containing every needle. */
static void expect_failure(const char *arguments, int exit_status, const char *needle1,
                           const char *needle2) {
  ipro_command_result r;
  run_eval(arguments, &r);
  CHECK_MSG(r.exit_status == exit_status, "eval %s: exit status %d, expected %d", arguments,
            r.exit_status, exit_status);
  CHECK_MSG(r.out[0] == '\0', "eval %s printed on stdout: %s", arguments, r.out);
  if (exit_status == 1)
    CHECK_MSG(r.err_lines == 1, "eval %s: %d stderr lines, expected 1: %s", arguments, r.err_lines,
              r.err);
  if (needle1)
    CHECK_MSG(strstr(r.err, needle1), "eval %s: no '%s' in: %s", arguments, needle1, r.err);
  if (needle2)
    CHECK_MSG(strstr(r.err, needle2), "eval %s: no '%s' in: %s", arguments, needle2, r.err);
}

/* An npz's labels are checked against the model's classes (its output width), of which the data
 * may hold a subset: Fashion-MNIST-sized images labelled 0 to 8 only are scored by the 10-class
 * MLP (they were refused as "npz has 9 classes"), and a label of 12 is one message naming it and
 * the model's class count. */
static void npz_class_subset(void) {
  char directory[] = "/tmp/ipro_test_eval_npz_XXXXXX";
  if (!mkdtemp(directory)) {
    CHECK_MSG(false, "cannot create a temporary directory");
    return;
  }
  static uint8_t pixels[64 * 28 * 28];
  int64_t labels[64];
  for (int i = 0; i < 64; i++)
    labels[i] = i % 9;
  for (size_t p = 0; p < sizeof pixels; p++)
    pixels[p] = (uint8_t)(p * 7);
  ipro_test_npy arrays[4] = {
      {"x_train", "|u1", 4, {64, 1, 28, 28}, pixels, sizeof pixels, false},
      {"y_train", "<i8", 1, {64}, labels, sizeof labels, false},
      {"x_test", "|u1", 4, {64, 1, 28, 28}, pixels, sizeof pixels, false},
      {"y_test", "<i8", 1, {64}, labels, sizeof labels, false},
  };
  char path[600], arguments[800];
  snprintf(path, sizeof path, "%s/nine.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  snprintf(arguments, sizeof arguments, "models/mlp_fmnist.onnx --data 'npz:%s'", path);
  ipro_command_result r;
  run_eval(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "/64)"),
            "eval %s (labels 0 to 8 of 10 classes): exit status %d, stdout: %s, stderr: %s",
            arguments, r.exit_status, r.out, r.err);
  labels[3] = 12;
  snprintf(path, sizeof path, "%s/twelve.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  snprintf(arguments, sizeof arguments, "models/mlp_fmnist.onnx --data 'npz:%s'", path);
  expect_failure(arguments, 1, "y_train.npy[3] = 12, but the model has 10 classes (labels 0 to 9)",
                 path);
  ipro_test_remove_directory(directory);
}

int main(void) {
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");

  scores expected;
  if (reference_scores(&expected)) {
    expect_scores("models/mlp_fmnist.onnx --data fashion-mnist --limit 512", &expected);
    expect_scores("models/mlp_fmnist.onnx --data fashion-mnist --limit 512 --batch 100", &expected);
    expect_scores("models/mlp_fmnist.onnx --data fashion-mnist --limit 512 --batch 1000",
                  &expected);
    expect_scores("models/mlp_fmnist.onnx --data fashion-mnist --limit 512 --batch 96 --reference",
                  &expected);
    /* The conventional constants given explicitly change nothing. */
    expect_scores("models/mlp_fmnist.onnx --data fashion-mnist --limit 512 --mean 0.2860 "
                  "--std 0.3530",
                  &expected);
    expect_json(&expected);
  }
  json_on_the_model();

  expect_failure("models/mlp_fmnist.onnx --data fashion-mnist:/nonexistent", 1, "/nonexistent",
                 NULL);
  expect_failure("models/resnet32.onnx --data fashion-mnist --limit 16", 1, "[N,3,32,32]",
                 "[N,1,28,28]");
  expect_failure("models/mlp_fmnist.onnx --data fashion-mnist --mean 0.1,0.2", 1, "channel", NULL);
  expect_failure("models/mlp_fmnist.onnx --data fashion-mnist --batch 0", 2, "--batch", NULL);
  /* said before the pass, not after it */
  expect_failure("models/mlp_fmnist.onnx --data fashion-mnist --json /nonexistent/dir/r.json", 1,
                 "cannot write '/nonexistent/dir/r.json'", NULL);
  expect_failure("models/mlp_fmnist.onnx", 2, "usage", NULL);
  npz_class_subset();

  return ipro_test_finish();
}
