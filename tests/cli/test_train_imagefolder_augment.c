/* `infopro train --augment` on an image folder, through the binary: the first 96 Fashion-MNIST
 * training and 64 test images written as PNG class folders (tests/support/user_data.c), ResNet-8,
 * batches of 32, a constant learning rate. With --augment the training images are kept uncropped
 * and every batch is random-resized-cropped and flipped on the loader's thread:
 *   - the run says so (the "kept uncropped" decoding line, the header's augmentation, the loader's
 *     images/s beside training's), and its first epoch differs from the same run without
 *     augmentation (the batches really changed);
 *   - two epochs in one run, and one epoch then a resumed second with only --epochs given (the
 *     augmentation comes from the checkpoint), print the same second-epoch figures to the digit:
 *     the crops depend only on (seed, epoch, example).
 * Skipped when Fashion-MNIST is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataset.h"
#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"

static char directory[] = "/tmp/ipro_test_train_imagefolder_augment_XXXXXX";

static bool write_folder(const char *folder) {
  ipro_dataset all_train, all_test, train, test;
  ipro_error err = {{0}};
  if (ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TRAIN, &all_train, &err) != IPRO_OK ||
      ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TEST, &all_test, &err) != IPRO_OK)
    return false;
  bool ok = ipro_test_sorted_by_label(&all_train, 96, &train) &&
            ipro_test_sorted_by_label(&all_test, 64, &test) &&
            ipro_test_write_image_folder(folder, "train", &train) &&
            ipro_test_write_image_folder(folder, "val", &test);
  ipro_dataset_free(&train);
  ipro_dataset_free(&test);
  ipro_dataset_free(&all_train);
  ipro_dataset_free(&all_test);
  return ok;
}

/* The figures of epoch `epoch`'s line "epoch E/T  loss L  test accuracy A  test loss ...": from
 * its loss to its test accuracy, without "epoch E/T", which differs between runs of other
 * lengths whatever they trained. */
static bool epoch_figures(const char *out, int epoch, char *figures, size_t size) {
  char start[32];
  snprintf(start, sizeof start, "epoch %d/", epoch);
  for (const char *line = out; (line = strstr(line, start)) != NULL; line++) {
    const char *end = strchr(line, '\n');
    const char *loss = strstr(line, "  loss ");
    const char *test = strstr(line, "test loss ");
    if (end && loss && test && loss < test && test < end) {
      snprintf(figures, size, "%.*s", (int)(test - loss), loss);
      return true;
    }
  }
  return false;
}

static void run(const char *arguments, ipro_command_result *r) {
  ipro_test_run_infopro(arguments, r);
  CHECK_MSG(r->exit_status == 0, "infopro %s: exit status %d, stderr: %s", arguments,
            r->exit_status, r->err);
}

int main(void) {
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  char folder[600], one_run[600], resumed[600], arguments[2048];
  snprintf(folder, sizeof folder, "%s/images", directory);
  snprintf(one_run, sizeof one_run, "%s/one_run", directory);
  snprintf(resumed, sizeof resumed, "%s/resumed", directory);
  CHECK(write_folder(folder));
  char common[1024];
  snprintf(common, sizeof common,
           "train models/resnet8_fmnist.onnx --data 'imagefolder:%s' --batch 32 --test-limit 64 "
           "--schedule constant --lr 0.05 --seed 5",
           folder);

  static ipro_command_result r;
  char plain[256] = "", augmented[256] = "", straight[256] = "", continued[256] = "";
  snprintf(arguments, sizeof arguments, "%s --epochs 1", common);
  run(arguments, &r);
  CHECK_MSG(epoch_figures(r.out, 1, plain, sizeof plain), "no epoch line: %s", r.out);

  snprintf(arguments, sizeof arguments, "%s --augment --epochs 2 --checkpoint '%s'", common,
           one_run);
  run(arguments, &r);
  /* the 96 images of 28 x 28 are kept whole (smaller than 32 x 32): their pixels, and a few
   * bytes of sizes, offset and label each */
  const char *kept = strstr(r.out, "decoded 96 train images (1 channel, kept uncropped to cover "
                                   "32 x 32 for random-resized-crop: ");
  long long kept_bytes = kept ? atoll(strchr(kept, ':') + 2) : 0;
  CHECK_MSG(kept_bytes >= 96 * 28 * 28 && kept_bytes <= 96 * (28 * 28 + 32),
            "the uncropped images' bytes: %lld (96 images of 28 x 28: %d pixels): %s", kept_bytes,
            96 * 28 * 28, r.out);
  CHECK_MSG(strstr(r.out, "augmentation random-resized-crop + flip") &&
                strstr(r.out, "batches prepared at ") &&
                strstr(r.out, "images/s on the loader's thread (random-resized-crop, flip, "
                              "normalise); trained at "),
            "the augmented run does not report its augmentation: %s", r.out);
  CHECK_MSG(epoch_figures(r.out, 1, augmented, sizeof augmented) &&
                epoch_figures(r.out, 2, straight, sizeof straight),
            "no epoch lines: %s", r.out);
  CHECK_MSG(strcmp(plain, augmented) != 0,
            "the first epoch is the same with and without augmentation: %s", plain);

  snprintf(arguments, sizeof arguments, "%s --augment --epochs 1 --checkpoint '%s'", common,
           resumed);
  run(arguments, &r);
  snprintf(arguments, sizeof arguments,
           "train models/resnet8_fmnist.onnx --data 'imagefolder:%s' --test-limit 64 --epochs 2 "
           "--checkpoint '%s' --resume",
           folder, resumed);
  run(arguments, &r);
  CHECK_MSG(strstr(r.out, "augmentation random-resized-crop + flip") &&
                strstr(r.out, "kept uncropped"),
            "the resumed run lost its augmentation: %s", r.out);
  CHECK_MSG(epoch_figures(r.out, 2, continued, sizeof continued) && !strcmp(straight, continued),
            "epoch 2 differs after resuming:\n  one run: %s\n  resumed: %s", straight, continued);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
