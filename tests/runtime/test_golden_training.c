/* Training matches PyTorch: for models/resnet8_fmnist.onnx with its exported weights and a fixed
 * batch of 8, the loss, every parameter's gradient, and every parameter and BatchNorm running
 * statistic after two SGD steps (lr 0.05, momentum 0.9, Nesterov, weight decay 1e-4) equal the
 * values models/export_models.py recorded with PyTorch, within 1e-4 relative (plus a small
 * absolute floor for values near zero), on oneDNN with reference fallback and on the reference
 * kernels alone. Then the same with the stem and first block frozen (--freeze conv1, bn1,
 * layer1; models/golden/resnet8_fmnist_frozen_train.ipgd, where PyTorch set requires_grad False
 * on those modules' parameters): the parameters trained are exactly those PyTorch computed
 * gradients for, and the frozen ones come back unchanged while their BatchNorms' running
 * statistics move, as PyTorch's do (its batch is drawn where no ReLU input lies nearer its kink
 * than 5.3e-6 of its RMS, export_models.py's FROZEN_TRAIN_SEED: the first batch put one within
 * 5.8e-8, which oneDNN's two-thread AVX-512 statistics carried across zero). And with layer2's BatchNormalizations' running statistics
 * frozen (--freeze-statistics layer2; resnet8_fmnist_frozen_statistics_train.ipgd, PyTorch's
 * bn.eval() on them): every parameter trains, their scale and bias through the inference form's
 * gradient, and their running statistics stay as loaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/trainer.h"
#include "support/check.h"
#include "support/golden.h"

/* Compares n values; reports the worst element of a failing tensor. */
static void compare(const char *what, const char *backend, const float *got, const float *want,
                    int64_t n, double relative, double absolute) {
  double worst = 0;
  int64_t at = 0;
  for (int64_t i = 0; i < n; i++) {
    double excess = fabs((double)got[i] - want[i]) - (relative * fabs((double)want[i]) + absolute);
    if (excess > worst || isnan(got[i])) worst = isnan(got[i]) ? INFINITY : excess, at = i;
  }
  CHECK_MSG(worst <= 0, "%s (%s): element %lld is %.8g, PyTorch says %.8g", what, backend,
            (long long)at, got[at], want[at]);
}

/* models/export_models.py's FROZEN_PREFIXES and FROZEN_STATISTICS_PREFIX */
static const char *const frozen_prefixes[] = {"conv1", "bn1", "layer1"};
static const char *const frozen_statistics[] = {"layer2"};

typedef enum { NOTHING_FROZEN, FROZEN_STEM, FROZEN_STATISTICS } frozen_part;

static void run(const ipro_golden_file *golden, const char *model, bool reference,
                frozen_part frozen) {
  const char *backend = reference ? "reference" : "onednn";
  const ipro_golden_tensor *input = ipro_golden_find(golden, "input");
  const ipro_golden_tensor *labels_f = ipro_golden_find(golden, "labels");
  int64_t batch = input->dims[0];
  int64_t labels[64];
  for (int64_t i = 0; i < batch && i < 64; i++)
    labels[i] = (int64_t)labels_f->data[i];

  ipro_trainer_options options = {
      .batch = batch,
      .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD),
      .reference = reference,
      .n_frozen =
          frozen == FROZEN_STEM ? (int)(sizeof frozen_prefixes / sizeof frozen_prefixes[0]) : 0,
      .frozen = frozen_prefixes,
      .n_frozen_statistics = frozen == FROZEN_STATISTICS
                                 ? (int)(sizeof frozen_statistics / sizeof frozen_statistics[0])
                                 : 0,
      .frozen_statistics = frozen_statistics};
  ipro_error err = {{0}};
  ipro_trainer *trainer = NULL;
  CHECK_OK(ipro_trainer_create(model, &options, &trainer, &err), &err);
  if (!trainer) return;
  const float learning_rate = 0.05f;
  float loss = 0;
  CHECK_OK(ipro_trainer_step(trainer, input->data, labels, learning_rate, &loss, &err), &err);
  const ipro_golden_tensor *loss1 = ipro_golden_expect(golden, "loss_step1", 1);
  if (loss1) compare("loss_step1", backend, &loss, loss1->data, 1, 1e-5, 0);

  const ipro_training_graph *training = ipro_trainer_module_training(trainer, 0);
  const ipro_graph *graph = ipro_trainer_module_graph(trainer, 0);
  int gradients_checked = 0;
  for (int p = 0; p < training->n_parameters; p++) {
    const ipro_tensor *param = &graph->tensors[training->parameters[p]];
    char key[512];
    snprintf(key, sizeof key, "grad:%s", param->name);
    const ipro_golden_tensor *want = ipro_golden_find(golden, key);
    CHECK_MSG(want != NULL, "no golden gradient for %s", param->name);
    CHECK_MSG(training->gradients[p] >= 0, "%s has no gradient", param->name);
    if (!want || training->gradients[p] < 0) continue;
    float *got = calloc((size_t)want->count, sizeof(float));
    CHECK_OK(ipro_executor_read_tensor(ipro_trainer_module_executor(trainer, 0),
                                       training->gradients[p], got,
                                       sizeof(float) * (size_t)want->count, &err),
             &err);
    /* Gradients are small sums of many products: an absolute floor relative to the tensor's
     * scale keeps cancellation noise from failing elements that are nearly zero. */
    double scale = 0;
    for (int64_t i = 0; i < want->count; i++)
      scale = fmax(scale, fabs(want->data[i]));
    compare(key, backend, got, want->data, want->count, 1e-4, 1e-4 * scale + 1e-7);
    free(got);
    gradients_checked++;
  }
  CHECK_EQ_INT(gradients_checked, training->n_parameters);
  int golden_gradients = 0; /* the parameters PyTorch trained */
  for (int i = 0; i < golden->count; i++)
    golden_gradients += strncmp(golden->tensors[i].name, "grad:", 5) == 0;
  CHECK_EQ_INT(training->n_parameters, golden_gradients);

  CHECK_OK(ipro_trainer_step(trainer, input->data, labels, learning_rate, &loss, &err), &err);
  const ipro_golden_tensor *loss2 = ipro_golden_expect(golden, "loss_step2", 1);
  if (loss2) compare("loss_step2", backend, &loss, loss2->data, 1, 1e-4, 0);
  int states_checked = 0;
  for (int i = 0; i < golden->count; i++) {
    const ipro_golden_tensor *want = &golden->tensors[i];
    if (strncmp(want->name, "after2:", 7) != 0) continue;
    float *got = calloc((size_t)want->count, sizeof(float));
    CHECK_OK(
        ipro_trainer_read(trainer, want->name + 7, got, sizeof(float) * (size_t)want->count, &err),
        &err);
    double scale = 0;
    for (int64_t k = 0; k < want->count; k++)
      scale = fmax(scale, fabs(want->data[k]));
    compare(want->name, backend, got, want->data, want->count, 1e-4, 1e-5 * scale + 1e-7);
    free(got);
    states_checked++;
  }
  /* after2: holds every float state_dict entry: each parameter and each BN statistic */
  CHECK_MSG(states_checked >= training->n_parameters, "only %d of at least %d states checked",
            states_checked, training->n_parameters);
  ipro_trainer_free(trainer);
}

static void run_golden(const char *golden_name, frozen_part frozen) {
  char model[1024], golden_path[1024];
  ipro_test_path(model, sizeof model, "models/resnet8_fmnist.onnx");
  ipro_test_path(golden_path, sizeof golden_path, golden_name);
  ipro_error err = {{0}};
  ipro_golden_file golden;
  CHECK_OK(ipro_golden_load(golden_path, &golden, &err), &err);
  CHECK_MSG(golden.count > 0, "%s holds no tensors", golden_path);
  if (golden.count == 0) return;
  run(&golden, model, true, frozen);
  run(&golden, model, false, frozen);
  ipro_golden_release(&golden);
}

int main(void) {
  run_golden("models/golden/resnet8_fmnist_train.ipgd", NOTHING_FROZEN);
  run_golden("models/golden/resnet8_fmnist_frozen_train.ipgd", FROZEN_STEM);
  run_golden("models/golden/resnet8_fmnist_frozen_statistics_train.ipgd", FROZEN_STATISTICS);
  return ipro_test_finish();
}
