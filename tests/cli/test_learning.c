/* Real learning on real data: ResNet-8 trained for one epoch on the first 10,000 Fashion-MNIST
 * training images (78 steps of 128, SGD 0.1 cosine, the defaults), then scored on the whole
 * 10,000-image test split, end to end and with InfoPro local training at K = 2.
 *
 * Threshold: 65% test accuracy. Chance is 10%, and a linear classifier on raw pixels needs more
 * than one pass over 10,000 images to get there, so 65% can only come from a network that really
 * learned; yet it leaves room below what this recipe reaches (75-76% for both, measured when the
 * test was written: `infopro train models/resnet8_fmnist.onnx --data fashion-mnist --epochs 1
 * --limit 10000 [-K 2]`), so that a change of kernels or thread count that moves the result by a
 * point or two does not fail it, while a broken gradient, optimizer or head (which lands near
 * 10-40%) does. Both runs must also keep the memory promise as measured by the counting
 * allocator and the process's RSS (support/memory_checks.h); `--json` says the split the header
 * printed, and at K = 2 its history record names each module's loss. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"
#include "support/command.h"
#include "support/memory_checks.h"

#define THRESHOLD 0.65

/* --json's one history record at K = 2: the epoch's accuracy, and each module's loss mean under
 * its name, as the log's "local losses (epoch means):" line printed it (to its 4 decimals). */
static void check_local_losses(const char *what, const json_t *report, const char *log,
                               double accuracy) {
  const json_t *record = json_array_get(json_object_get(report, "history"), 0);
  const json_t *local = json_object_get(record, "local_losses");
  static const char *const names[] = {"module 1 reconstruction", "module 1 contrast",
                                      "module 2 cross-entropy"};
  CHECK_MSG(json_is_object(local) && json_object_size(local) == 3,
            "%s: no history record with 3 local losses", what);
  const char *printed = strstr(log, "local losses (epoch means):");
  for (int i = 0; i < 3 && local; i++) {
    const char *at = printed ? strstr(printed, names[i]) : NULL;
    double expected = at ? atof(at + strlen(names[i])) : -1;
    double value = json_number_value(json_object_get(local, names[i]));
    CHECK_MSG(at && expected > 0 && fabs(value - expected) < 5e-5,
              "%s: --json's '%s' is %g; the log printed %.4f", what, names[i], value, expected);
  }
  CHECK_MSG(fabs(json_number_value(json_object_get(record, "test_accuracy")) - accuracy) < 5e-5,
            "%s: the history record's accuracy is not the final line's %.4f", what, accuracy);
}

/* --json's split: end to end K = 1 and no cut; at K = 2 the cut and the first module's heads the
 * header line printed ("cut at NAME; ...", "heads: module 1 SHAPE, DECODER decoder"). */
static void check_split(const char *what, const json_t *report, const char *log, bool local) {
  const json_t *split = json_object_get(report, "split");
  const json_t *cuts = json_object_get(split, "cuts"), *heads = json_object_get(split, "heads");
  CHECK_MSG(json_integer_value(json_object_get(split, "K")) == (local ? 2 : 1) &&
                json_array_size(cuts) == (local ? 1u : 0u) &&
                json_array_size(heads) == (local ? 1u : 0u),
            "%s: --json's split is not K = %d", what, local ? 2 : 1);
  if (local && json_array_size(cuts) == 1 && json_array_size(heads) == 1) {
    const json_t *head = json_array_get(heads, 0);
    char printed_cut[256], printed_heads[256];
    snprintf(printed_cut, sizeof printed_cut, "cut at %s; ",
             json_string_value(json_array_get(cuts, 0)));
    snprintf(printed_heads, sizeof printed_heads, "heads: module 1 %s, %s decoder\n",
             json_string_value(json_object_get(head, "classifier")),
             json_string_value(json_object_get(head, "decoder")));
    CHECK_MSG(strstr(log, printed_cut) && strstr(log, printed_heads),
              "%s: --json's split ('%s', '%s') is not what the header printed: %s", what,
              printed_cut, printed_heads, log);
  }
}

static void check_run(const char *what, const char *arguments, bool local) {
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "%s: exit status %d: %s", what, r.exit_status, r.err);
  /* --json -: the log on stderr, the JSON (the memory report) alone on stdout */
  const char *final = strstr(r.err, "trained 1 epochs in ");
  double accuracy = -1;
  const char *numbers = final ? strstr(final, ": test accuracy") : NULL;
  CHECK_MSG(numbers && sscanf(numbers, ": test accuracy %lf", &accuracy) == 1,
            "%s: no final line in: %s", what, r.err);
  printf("%s: test accuracy %.4f after one epoch on 10,000 images (threshold %.2f)\n", what,
         accuracy, THRESHOLD);
  CHECK_MSG(accuracy >= THRESHOLD, "%s: test accuracy %.4f is below %.2f", what, accuracy,
            THRESHOLD);
  ipro_test_check_train_memory(what, r.out, (ipro_test_memory_bounds){4u << 20, 0.01, 0, 0, 0});
  json_error_t error;
  json_t *report = json_loads(r.out, 0, &error); /* --json -: stdout holds the JSON alone */
  CHECK_MSG(report != NULL, "%s: stdout is not one JSON object (%s): %.300s", what, error.text,
            r.out);
  if (local) check_local_losses(what, report, r.err, accuracy);
  check_split(what, report, r.err, local);
  json_decref(report);
}

int main(void) {
  const char *unavailable = ipro_test_training_unavailable();
  if (unavailable) return ipro_test_skip(unavailable);
  ipro_test_prepare_memory_measurement();
  const char *common = "train models/resnet8_fmnist.onnx --data fashion-mnist --epochs 1 "
                       "--limit 10000 --batch 128 --json -";
  char arguments[512];
  snprintf(arguments, sizeof arguments, "%s", common);
  check_run("end to end", arguments, false);
  snprintf(arguments, sizeof arguments, "%s -K 2", common);
  check_run("InfoPro K = 2", arguments, true);
  return ipro_test_finish();
}
