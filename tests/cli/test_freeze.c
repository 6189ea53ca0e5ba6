/* `--freeze PATTERN` as a user runs it, on ResNet-8 and Fashion-MNIST, with PyTorch saying which
 * parameters the patterns name: models/golden/resnet8_fmnist_frozen_train.ipgd holds a gradient
 * for each parameter PyTorch trained with the stem and first block's requires_grad False (the
 * modules conv1, bn1 and layer1), resnet8_fmnist_train.ipgd one for every parameter.
 *  - `train --freeze conv1 --freeze bn1 --freeze layer1 -K 2 --out`: says it froze as many
 *    parameters as PyTorch left out, naming the first three PyTorch lists; the written model holds
 * those byte for byte as loaded and every parameter PyTorch trained changed, and the frozen
 * BatchNormalizations' running statistics moved (training mode, as PyTorch's); the trainer's
 * allocator-measured peak keeps the plan's bounds (support/memory_checks.h).
 *  - End to end, the frozen stem keeps no activations for a backward pass: the trainer's
 *    allocator-measured peak is below 70% of the unfrozen run's (both measured, neither planned).
 *  - Refused with one message, exit status 1 and no model written: a pattern that names no
 *    tensor (the message shows how the model names its parameters), one that names a running
 *    statistic, freezing everything, and a --cuts inside the frozen stem. 65 patterns are a
 *    usage error (exit status 2).
 *  - `compile --freeze layer1`: its runner refuses --freeze (fixed when compiled) and writes
 *    layer1 back as loaded.
 *  - `--freeze-statistics layer2`: the written model holds layer2's running statistics as loaded
 *    while every other BatchNormalization's moved and every parameter changed, layer2's
 *    BatchNormalizations' scale and bias included (the gradients themselves are checked against
 *    PyTorch's bn.eval() in runtime.test_golden_training); a pattern naming no BatchNormalization
 *    is refused.
 *  - A checkpoint of a run with --freeze layer1 resumes with it (layer1 still as loaded) and is
 *    refused without it or with another, the message naming --freeze as a likely cause. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/graph.h"
#include "support/check.h"
#include "support/command.h"
#include "support/golden.h"
#include "support/memory_checks.h"

static char directory[] = "/tmp/ipro-freeze-XXXXXX";
static const char common[] =
    "models/resnet8_fmnist.onnx --data fashion-mnist --epochs 1 --limit 256 --test-limit 256 "
    "--batch 128";
static const char stem[] = "--freeze conv1 --freeze bn1 --freeze layer1";

/* Whether golden holds "PREFIX<name>". */
static bool golden_has(const ipro_golden_file *golden, const char *prefix, const char *name) {
  char key[600];
  snprintf(key, sizeof key, "%s%s", prefix, name);
  return ipro_golden_find(golden, key) != NULL;
}

static int golden_count(const ipro_golden_file *golden, const char *prefix) {
  int n = 0;
  for (int i = 0; i < golden->count; i++)
    n += strncmp(golden->tensors[i].name, prefix, strlen(prefix)) == 0;
  return n;
}

static ipro_graph *load(const char *path) {
  ipro_graph *graph = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_load(path, &graph, &err), &err);
  return graph;
}

/* Whether trained's tensor `name` holds the bytes of loaded's. */
static bool unchanged(const ipro_graph *loaded, const ipro_graph *trained, const char *name) {
  int a = ipro_graph_find_tensor(loaded, name), b = ipro_graph_find_tensor(trained, name);
  CHECK_MSG(a >= 0 && b >= 0, "tensor '%s' missing from a model", name);
  if (a < 0 || b < 0) return false;
  const ipro_tensor *x = &loaded->tensors[a], *y = &trained->tensors[b];
  return x->data_bytes == y->data_bytes && memcmp(x->data, y->data, x->data_bytes) == 0;
}

/* The trained model at path against the bundled one: PyTorch's frozen parameters (a gradient in
 * `all` but not in `frozen_run`) as loaded, the others and every running statistic changed; with
 * only_layer1, the frozen ones are layer1's alone. */
static void check_trained(const char *what, const char *path, const ipro_golden_file *all,
                          const ipro_golden_file *frozen_run, bool only_layer1) {
  char bundled[1024];
  ipro_test_path(bundled, sizeof bundled, "models/resnet8_fmnist.onnx");
  ipro_graph *loaded = load(bundled), *trained = load(path);
  if (!loaded || !trained) {
    ipro_graph_free(loaded);
    ipro_graph_free(trained);
    return;
  }
  int frozen = 0, trained_count = 0, statistics = 0;
  for (int i = 0; i < all->count; i++) {
    const char *key = all->tensors[i].name;
    if (strncmp(key, "after2:", 7) == 0 && strstr(key, ".running_")) {
      CHECK_MSG(!unchanged(loaded, trained, key + 7), "%s: running statistic '%s' did not move",
                what, key + 7);
      statistics++;
    }
    if (strncmp(key, "grad:", 5) != 0) continue;
    const char *name = key + 5;
    bool is_frozen =
        only_layer1 ? strncmp(name, "layer1.", 7) == 0 : !golden_has(frozen_run, "grad:", name);
    CHECK_MSG(unchanged(loaded, trained, name) == is_frozen, "%s: '%s' %s", what, name,
              is_frozen ? "was trained, though frozen" : "came back as loaded, though trained");
    frozen += is_frozen;
    trained_count += !is_frozen;
  }
  CHECK_MSG(frozen > 0 && trained_count > 0 && statistics > 0,
            "%s: %d frozen, %d trained, %d running statistics checked", what, frozen, trained_count,
            statistics);
  ipro_graph_free(loaded);
  ipro_graph_free(trained);
}

static uint64_t trainer_bytes(const char *out) {
  const char *field = strstr(out, "\"trainer_allocator_measured_bytes\"");
  return field ? strtoull(strchr(field, ':') + 1, NULL, 10) : 0;
}

static void trains_the_rest(const ipro_golden_file *all, const ipro_golden_file *frozen_run) {
  char arguments[2048], out[700], said[128];
  snprintf(out, sizeof out, "%s/frozen.onnx", directory);
  snprintf(arguments, sizeof arguments, "train %s %s -K 2 --json - --out %s", common, stem, out);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "train --freeze: exit status %d: %s", r.exit_status, r.err);
  int left_out = golden_count(all, "grad:") - golden_count(frozen_run, "grad:");
  /* how many, and the first three by name, in the order PyTorch lists its parameters */
  snprintf(said, sizeof said, "frozen by --freeze: %d parameters (", left_out);
  CHECK_MSG(strstr(r.err, said) != NULL, "train --freeze does not say '%s' in its log: %s", said,
            r.err);
  char names[600] = "values: ";
  for (int i = 0, named = 0; i < all->count && named < 3; i++) {
    const char *key = all->tensors[i].name;
    if (strncmp(key, "grad:", 5) != 0 || golden_has(frozen_run, "grad:", key + 5)) continue;
    size_t used = strlen(names);
    snprintf(names + used, sizeof names - used, "%s%s", named++ ? ", " : "", key + 5);
  }
  strcat(names, ", ...); ");
  CHECK_MSG(strstr(r.err, names) != NULL, "train --freeze does not name '%s': %s", names, r.err);
  check_trained("train -K 2", out, all, frozen_run, false);
  /* unplanned: 0.1% of the plan or 64 KiB (the K = 2 runs' unplanned bytes do not shrink with the
   * plan: 37,816 measured with these three frozen, 41,888 with none, in the Release build) */
  ipro_test_check_train_memory("ResNet-8 b128 K = 2 --freeze", r.out,
                               (ipro_test_memory_bounds){1u << 20, 0.001, 64u << 10, 0.01, 0});

  /* end to end, with and without: measured peaks */
  uint64_t measured[2];
  for (int frozen = 0; frozen < 2; frozen++) {
    snprintf(arguments, sizeof arguments, "train %s %s --json -", common, frozen ? stem : "");
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 0, "train end to end: exit status %d: %s", r.exit_status, r.err);
    measured[frozen] = trainer_bytes(r.out);
  }
  CHECK_MSG(measured[0] > 0 && measured[1] > 0 && measured[1] < measured[0] * 7 / 10,
            "a frozen stem's trainer measured %llu bytes, the whole network's %llu",
            (unsigned long long)measured[1], (unsigned long long)measured[0]);
}

static void refused(void) {
  static const struct {
    const char *options;
    int status;
    const char *says[2];
  } cases[] = {
      {"--freeze layer9",
       1,
       {"--freeze 'layer9' matches none of the model's tensors", "'conv1.weight'"}},
      {"--freeze bn1.running_mean",
       1,
       {"--freeze 'bn1.running_mean' matches no trainable parameter", "running statistic"}},
      {"--freeze '*'", 1, {"--freeze freezes all", "nothing would train"}},
      {"--freeze conv1 --freeze bn1 --freeze layer1 --cuts /layer1/layer1.0/Relu_1_output_0",
       1,
       {"is not a cut point", "--freeze froze every parameter before it"}},
  };
  char out[700];
  snprintf(out, sizeof out, "%s/refused.onnx", directory);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char arguments[2048];
    snprintf(arguments, sizeof arguments, "train %s %s --out %s", common, cases[i].options, out);
    ipro_command_result r;
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == cases[i].status && strstr(r.err, cases[i].says[0]) &&
                  strstr(r.err, cases[i].says[1]) && r.err_lines == 1,
              "%s: exit status %d: %s", cases[i].options, r.exit_status, r.err);
    CHECK_MSG(access(out, F_OK) != 0, "%s: wrote %s", cases[i].options, out);
  }
  char arguments[4096];
  int used = snprintf(arguments, sizeof arguments, "train %s", common);
  for (int p = 0; p < 65; p++)
    used += snprintf(arguments + used, sizeof arguments - (size_t)used, " --freeze layer1");
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 2 && strstr(r.err, "at most 64 patterns"),
            "65 patterns: exit status %d: %s", r.exit_status, r.err);
}

static void frozen_statistics(const ipro_golden_file *all) {
  char arguments[2048], out[700], bundled[1024];
  snprintf(out, sizeof out, "%s/statistics.onnx", directory);
  snprintf(arguments, sizeof arguments, "train %s --freeze-statistics layer2 --out %s", common,
           out);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  ipro_test_path(bundled, sizeof bundled, "models/resnet8_fmnist.onnx");
  ipro_graph *loaded = load(bundled), *trained = r.exit_status == 0 ? load(out) : NULL;
  /* layer2's BatchNormalizations, counted in the model by the running means they read */
  int layer2_norms = 0;
  for (int n = 0; loaded && n < loaded->n_nodes; n++) {
    const ipro_tensor *mean = loaded->nodes[n].op == IPRO_OP_BATCH_NORMALIZATION
                                  ? ipro_node_input(loaded, &loaded->nodes[n], 3)
                                  : NULL;
    layer2_norms += mean && strncmp(mean->name, "layer2.", 7) == 0;
  }
  char said[96];
  snprintf(said, sizeof said, "frozen by --freeze-statistics: %d BatchNormalizations",
           layer2_norms);
  CHECK_MSG(r.exit_status == 0 && layer2_norms > 0 && strstr(r.out, said),
            "--freeze-statistics layer2: exit status %d, '%s' not said: %s%s", r.exit_status, said,
            r.out, r.err);
  int kept = 0, moved = 0;
  for (int i = 0; loaded && trained && i < all->count; i++) {
    const char *key = all->tensors[i].name, *name = key + 7;
    bool statistic = strncmp(key, "after2:", 7) == 0 && strstr(key, ".running_");
    bool parameter = strncmp(key, "grad:", 5) == 0;
    if (parameter) name = key + 5;
    if (!statistic && !parameter) continue;
    bool stays = statistic && strncmp(name, "layer2.", 7) == 0;
    CHECK_MSG(unchanged(loaded, trained, name) == stays, "--freeze-statistics layer2: '%s' %s",
              name, stays ? "moved" : "came back as loaded");
    kept += stays;
    moved += !stays;
  }
  /* each of them keeps its mean and variance */
  CHECK_MSG(kept == 2 * layer2_norms && moved > 0, "--freeze-statistics layer2: %d kept, %d moved",
            kept, moved);
  ipro_graph_free(loaded);
  ipro_graph_free(trained);
  snprintf(arguments, sizeof arguments, "train %s --freeze-statistics layer9 --out %s", common,
           out);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && strstr(r.err, "--freeze-statistics 'layer9' names the running "
                                                "statistics of no BatchNormalization"),
            "--freeze-statistics layer9: exit status %d: %s", r.exit_status, r.err);
}

static void compiled(const ipro_golden_file *all) {
  char command[2048], out[700];
  snprintf(out, sizeof out, "%s/compiled.onnx", directory);
  snprintf(command, sizeof command,
           "compile models/resnet8_fmnist.onnx --data fashion-mnist --batch 128 --freeze layer1 "
           "-o %s/program",
           directory);
  ipro_command_result r;
  ipro_test_run_infopro(command, &r);
  CHECK_MSG(r.exit_status == 0, "compile --freeze: exit status %d: %s", r.exit_status, r.err);
  snprintf(command, sizeof command,
           "%s/program/train --data fashion-mnist --limit 256 --test-limit 256 --freeze layer2",
           directory);
  ipro_test_run_command_expecting(command, &r, 2);
  CHECK_MSG(strstr(r.err, "--freeze was fixed when this program was compiled"), "runner: %s",
            r.err);
  snprintf(command, sizeof command,
           "%s/program/train --data fashion-mnist --epochs 1 --limit 256 --test-limit 256 --out %s",
           directory, out);
  ipro_test_run_command_expecting(command, &r, 0);
  check_trained("compiled --freeze layer1", out, all, NULL, true);
}

static void resumed(const ipro_golden_file *all) {
  char arguments[2048], out[700];
  snprintf(out, sizeof out, "%s/resumed.onnx", directory);
  snprintf(arguments, sizeof arguments, "train %s --freeze layer1 --checkpoint %s/ck", common,
           directory);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "train --checkpoint: exit status %d: %s", r.exit_status, r.err);
  /* the run without --freeze wants layer1's optimizer state, the one with --freeze layer2 has
   * none for layer2's in the checkpoint */
  static const struct {
    const char *options, *says;
  } wrong[] = {{"", "has no tensor 'optimizer/moment1:layer1."},
               {"--freeze layer2", "holds tensor 'optimizer/moment1:layer2."}};
  const char *resume = "models/resnet8_fmnist.onnx --data fashion-mnist --epochs 2 --limit 256 "
                       "--test-limit 256 --resume";
  for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
    snprintf(arguments, sizeof arguments, "train %s %s --checkpoint %s/ck --out %s", resume,
             wrong[i].options, directory, out);
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1 && strstr(r.err, wrong[i].says) &&
                  strstr(r.err, "or of a run with other --freeze options?)") &&
                  access(out, F_OK) != 0,
              "resumed with '%s': exit status %d: %s", wrong[i].options, r.exit_status, r.err);
  }
  snprintf(arguments, sizeof arguments, "train %s --freeze layer1 --checkpoint %s/ck --out %s",
           resume, directory, out);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "resumed with --freeze layer1: exit status %d: %s", r.exit_status,
            r.err);
  check_trained("resumed --freeze layer1", out, all, NULL, true);
}

int main(void) {
  const char *unavailable = ipro_test_training_unavailable();
  if (unavailable) return ipro_test_skip(unavailable);
  ipro_test_prepare_memory_measurement();
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  char path[1024];
  ipro_error err = {{0}};
  ipro_golden_file all = {0}, frozen_run = {0};
  CHECK_OK(
      ipro_golden_load(ipro_test_path(path, sizeof path, "models/golden/resnet8_fmnist_train.ipgd"),
                       &all, &err),
      &err);
  CHECK_OK(ipro_golden_load(
               ipro_test_path(path, sizeof path, "models/golden/resnet8_fmnist_frozen_train.ipgd"),
               &frozen_run, &err),
           &err);
  if (all.count && frozen_run.count) {
    trains_the_rest(&all, &frozen_run);
    refused();
    frozen_statistics(&all);
    compiled(&all);
    resumed(&all);
  }
  ipro_golden_release(&all);
  ipro_golden_release(&frozen_run);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
