/* `infopro train --mean/--std`, the same options as `infopro eval`, on models/mlp_fmnist.onnx and
 * the first 256 Fashion-MNIST training images (one epoch of 4 steps of 64):
 *   - trained with --mean 0.5 --std 0.25, the per-epoch test accuracy the trainer prints is
 *     exactly what `infopro eval --mean 0.5 --std 0.25` reports on the written model (eval
 *     normalises the test images itself), eval without them the same (the written model carries
 *     its normalisation in its metadata), and eval given the dataset's defaults another
 *     cross-entropy;
 *   - the trained weights differ from those of a run with the dataset's default normalisation
 *     (so the training images were normalised with the options too), and a run that gives the
 *     defaults explicitly (ipro_dataset_default_normalization, printed back as flags) writes a
 *     model byte-identical to the run without flags;
 *   - a list of the wrong length, or a std of 0, exits 1 with one line naming it; a malformed
 *     number exits 2.
 * Skipped when Fashion-MNIST is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataset.h"
#include "support/check.h"
#include "support/command.h"

static char directory[] = "/tmp/ipro_test_train_normalization_XXXXXX";

static const char common[] = "train models/mlp_fmnist.onnx --data fashion-mnist --limit 256 "
                             "--epochs 1 --batch 64 --test-limit 500";

/* Trains with `flags` into directory/<name>.onnx; returns the printed test accuracy (-1 when the
 * run failed). */
static double train(const char *flags, const char *name) {
  char arguments[2048];
  snprintf(arguments, sizeof arguments, "%s %s --out '%s/%s.onnx'", common, flags, directory, name);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "%s: exit status %d: %s", arguments, r.exit_status, r.err);
  const char *line = strstr(r.out, "epoch 1/1  loss ");
  double loss = -1, accuracy = -1;
  CHECK_MSG(line && sscanf(line, "epoch 1/1  loss %lf  test accuracy %lf", &loss, &accuracy) == 2,
            "%s: no epoch line in: %s", arguments, r.out);
  return accuracy;
}

/* Evaluates directory/<name>.onnx with `flags`: accuracy and cross-entropy, -1 on failure. */
static void evaluate(const char *name, const char *flags, double *accuracy, double *loss) {
  char arguments[2048];
  snprintf(arguments, sizeof arguments, "eval '%s/%s.onnx' --data fashion-mnist --limit 500 %s",
           directory, name, flags);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  *accuracy = *loss = -1;
  const char *line = strstr(r.out, "accuracy ");
  const char *entropy = strstr(r.out, "cross-entropy ");
  CHECK_MSG(r.exit_status == 0 && line && entropy && sscanf(line, "accuracy %lf", accuracy) == 1 &&
                sscanf(entropy, "cross-entropy %lf", loss) == 1,
            "%s: exit status %d: %s%s", arguments, r.exit_status, r.out, r.err);
}

/* The whole file, malloc'd (NULL when unreadable). */
static char *read_file(const char *name, size_t *size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.onnx", directory, name);
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  fseek(file, 0, SEEK_END);
  long length = ftell(file);
  fseek(file, 0, SEEK_SET);
  char *data = length > 0 ? malloc((size_t)length) : NULL;
  *size = data && fread(data, 1, (size_t)length, file) == (size_t)length ? (size_t)length : 0;
  fclose(file);
  return data;
}

static bool same_file(const char *a, const char *b) {
  size_t size_a = 0, size_b = 0;
  char *data_a = read_file(a, &size_a), *data_b = read_file(b, &size_b);
  bool same = data_a && data_b && size_a == size_b && memcmp(data_a, data_b, size_a) == 0;
  CHECK_MSG(data_a && data_b && size_a > 0, "cannot read %s.onnx or %s.onnx", a, b);
  free(data_a);
  free(data_b);
  return same;
}

static void trained_with_options(void) {
  double trained = train("--mean 0.5 --std 0.25", "custom");
  double accuracy, loss, default_accuracy, default_loss;
  evaluate("custom", "--mean 0.5 --std 0.25", &accuracy, &loss);
  CHECK_MSG(accuracy == trained && accuracy >= 0,
            "eval --mean 0.5 --std 0.25 reports accuracy %.4f, the trainer printed %.4f", accuracy,
            trained);
  float mean[IPRO_DATASET_MAX_CHANNELS], std[IPRO_DATASET_MAX_CHANNELS];
  ipro_dataset_default_normalization(IPRO_DATASET_FASHION_MNIST, mean, std);
  char flags[128];
  snprintf(flags, sizeof flags, "--mean %.9g --std %.9g", (double)mean[0], (double)std[0]);
  evaluate("custom", flags, &default_accuracy, &default_loss);
  CHECK_MSG(default_loss != loss,
            "eval gives cross-entropy %.6f with the training's normalisation and the dataset's",
            loss);
  /* without options, eval takes the normalisation the written model carries (its metadata) */
  double carried_accuracy, carried_loss;
  evaluate("custom", "", &carried_accuracy, &carried_loss);
  CHECK_MSG(carried_accuracy == accuracy && carried_loss == loss,
            "eval without options: accuracy %.4f, cross-entropy %.6f; with the training's "
            "normalisation given: %.4f, %.6f",
            carried_accuracy, carried_loss, accuracy, loss);
  train("", "default");
  train(flags, "explicit");
  CHECK_MSG(same_file("default", "explicit"), "train %s and train without it differ", flags);
  CHECK_MSG(!same_file("default", "custom"),
            "training with --mean 0.5 --std 0.25 gives the default run's weights");
}

static void refusals(void) {
  static const struct {
    const char *flags, *needle;
    int status;
  } cases[] = {
      {"--mean 0.1,0.2", "--mean", 1},
      {"--std 0", "std", 1},
      {"--mean x", "--mean", 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char arguments[1024];
    snprintf(arguments, sizeof arguments, "%s %s", common, cases[i].flags);
    ipro_command_result r;
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == cases[i].status && strstr(r.err, cases[i].needle) &&
                  (cases[i].status != 1 || r.err_lines == 1),
              "%s: exit status %d (expected %d), stderr: %s", arguments, r.exit_status,
              cases[i].status, r.err);
  }
}

int main(void) {
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  refusals();
  trained_with_options();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
