/* The real Fashion-MNIST files (Debian's dataset-fashion-mnist) load with the dataset's published
 * facts: 60,000 training and 10,000 test images of 28x28 in 10 classes, 6,000 and 1,000 images
 * per class (Xiao, Rasul, Vollgraf 2017), and a mean training pixel of 0.2860 and standard
 * deviation 0.3530 on the [0, 1] scale, the constants every Fashion-MNIST recipe normalises with.
 * The test split then goes through the background batch loader unchanged. Skipped when the
 * package is not installed. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "runtime/batch_loader.h"
#include "support/check.h"

static void check_histogram(const ipro_dataset *data, int64_t per_class) {
  int64_t histogram[10] = {0};
  for (int64_t i = 0; i < data->count; i++)
    histogram[data->labels[i]]++;
  for (int c = 0; c < 10; c++)
    CHECK_MSG(histogram[c] == per_class, "class %d has %lld examples, expected %lld", c,
              (long long)histogram[c], (long long)per_class);
}

int main(void) {
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  ipro_error err = {{0}};
  ipro_dataset train, test;

  CHECK_OK(ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TRAIN, &train, &err), &err);
  CHECK_EQ_INT(train.count, 60000);
  CHECK_EQ_INT(train.channels, 1);
  CHECK_EQ_INT(train.height, 28);
  CHECK_EQ_INT(train.width, 28);
  CHECK_EQ_INT(train.num_classes, 10);
  CHECK_EQ_INT(train.bytes, 60000 * (28 * 28 + 4)); /* pixels and a 4-byte label each */
  check_histogram(&train, 6000);
  if (train.images) {
    double sum = 0, squares = 0, n = 60000.0 * 28 * 28;
    for (size_t i = 0; i < (size_t)n; i++) {
      double x = train.images[i] / 255.0;
      sum += x;
      squares += x * x;
    }
    double mean = sum / n, deviation = sqrt(squares / n - mean * mean);
    CHECK_MSG(fabs(mean - 0.2860) < 0.001, "training mean %.5f, expected 0.2860", mean);
    CHECK_MSG(fabs(deviation - 0.3530) < 0.001, "training std %.5f, expected 0.3530", deviation);
    CHECK(train.mean[0] == 0.2860f && train.std[0] == 0.3530f);
  }
  ipro_dataset_free(&train);

  CHECK_OK(ipro_dataset_open("fashion-mnist:" IPRO_FASHION_MNIST_DEFAULT_DIR, IPRO_SPLIT_TEST,
                             &test, &err),
           &err);
  CHECK_EQ_INT(test.count, 10000);
  CHECK_EQ_INT(test.height * test.width, 784);
  check_histogram(&test, 1000);

  /* Evaluation batches: dataset order, nothing dropped, labels and pixels passed through. */
  ipro_batch_options options = {.batch_size = 256, .background = true};
  ipro_batch_loader *loader = NULL;
  CHECK_OK(ipro_batch_loader_create(&test, &options, &loader, &err), &err);
  if (loader) {
    CHECK_EQ_INT(ipro_batch_loader_batches_per_epoch(loader), 40);
    CHECK_OK(ipro_batch_loader_start_epoch(loader, 0, &err), &err);
    const ipro_batch *batch;
    int64_t seen = 0, label_mismatches = 0, pixel_mismatches = 0, last_count = 0;
    while (ipro_batch_loader_next(loader, &batch, &err) == IPRO_OK && batch) {
      for (int64_t i = 0; i < batch->count; i++, seen++) {
        label_mismatches += batch->labels[i] != test.labels[seen];
        size_t last = (size_t)seen * 784 + 783; /* the image's final pixel */
        float expected = ipro_dataset_normalize_pixel(&test, 0, test.images[last]);
        pixel_mismatches += batch->images[(size_t)i * 784 + 783] != expected;
      }
      last_count = batch->count;
    }
    CHECK_EQ_INT(seen, 10000);
    CHECK_EQ_INT(last_count, 10000 - 39 * 256);
    CHECK_EQ_INT(label_mismatches, 0);
    CHECK_EQ_INT(pixel_mismatches, 0);
  }
  ipro_batch_loader_destroy(loader);
  ipro_dataset_free(&test);
  return ipro_test_finish();
}
