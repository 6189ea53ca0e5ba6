/* `npz:FILE` datasets against the IDX reader as the oracle: the first 300 Fashion-MNIST training
 * and 100 test images written by tests/support/user_data.c as .npz archives in each form people
 * exchange them (uint8 NCHW stored, float32 NHWC in [0, 1] deflated, grey [N, H, W] with numpy's
 * ZIP64 local headers) load to exactly the IDX pixels and labels; the class count is one more than
 * the largest label of both splits; a layout that could be NCHW or NHWC is settled by the model's
 * channel count when given; labels below the model's class count, when given, are a subset of
 * its classes (its count is theirs) and one at or above it is refused; and each malformed archive
 * (a Fortran-order array, an ambiguous layout, a label of 10^6 or more, a truncated file, a missing
 * array) is one message naming the file. Labels above 255 (an int16 y_train of 0..299, a uint16
 * y_test) load as written, 300 classes by themselves or given a 300-class model; a 299-class model
 * refuses the label 299. The comparisons with the IDX files are skipped when Fashion-MNIST is
 * missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataset.h"
#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"

#define TRAIN 300
#define TEST 100

static char directory[] = "/tmp/ipro_test_npz_XXXXXX";
static ipro_dataset train, test;

typedef enum { AS_NCHW_U8, AS_NHWC_F32, AS_NHW_U8 } layout;

/* x as the layout asks, y as int64. */
static void make_arrays(const ipro_dataset *d, int64_t count, layout how, const char *x_name,
                        const char *y_name, ipro_test_npy *x, ipro_test_npy *y, void **x_data,
                        int64_t **y_data) {
  size_t pixels = (size_t)count * 28 * 28;
  *y_data = malloc(sizeof(int64_t) * (size_t)count);
  for (int64_t i = 0; i < count; i++)
    (*y_data)[i] = d->labels[i];
  *y = (ipro_test_npy){y_name, "<i8", 1, {count}, *y_data, sizeof(int64_t) * (size_t)count, false};
  if (how == AS_NHWC_F32) {
    float *f = malloc(sizeof(float) * pixels);
    for (size_t p = 0; p < pixels; p++)
      f[p] = (float)d->images[p] / 255.0f;
    *x_data = f;
    *x = (ipro_test_npy){x_name, "<f4", 4, {count, 28, 28, 1}, f, sizeof(float) * pixels, false};
  } else {
    *x_data = NULL;
    *x = how == AS_NCHW_U8
             ? (ipro_test_npy){x_name, "|u1", 4, {count, 1, 28, 28}, d->images, pixels, false}
             : (ipro_test_npy){x_name, "|u1", 3, {count, 28, 28}, d->images, pixels, false};
  }
}

static void write_archive(const char *path, layout how, bool deflate, bool zip64) {
  ipro_test_npy arrays[4];
  void *x_data[2];
  int64_t *y_data[2];
  make_arrays(&train, TRAIN, how, "x_train", "y_train", &arrays[0], &arrays[1], &x_data[0],
              &y_data[0]);
  make_arrays(&test, TEST, how, "x_test", "y_test", &arrays[2], &arrays[3], &x_data[1], &y_data[1]);
  CHECK(ipro_test_write_npz(path, arrays, 4, deflate, zip64));
  for (int i = 0; i < 2; i++) {
    free(x_data[i]);
    free(y_data[i]);
  }
}

static void check_same(const char *spec, ipro_dataset_split split, const ipro_dataset *oracle,
                       int64_t count) {
  ipro_dataset got;
  ipro_error err = {{0}};
  CHECK_OK(ipro_dataset_open(spec, split, &got, &err), &err);
  if (!got.images) return;
  CHECK_EQ_INT(got.count, count);
  CHECK_EQ_INT(got.channels, 1);
  CHECK_EQ_INT(got.height, 28);
  CHECK_EQ_INT(got.width, 28);
  CHECK_EQ_INT(got.num_classes, 10);
  CHECK_MSG(got.count == count && !memcmp(got.images, oracle->images, (size_t)count * 784),
            "%s: pixels differ from the IDX files", spec);
  CHECK_MSG(got.count == count &&
                !memcmp(got.labels, oracle->labels, sizeof *got.labels * (size_t)count),
            "%s: labels differ from the IDX files", spec);
  ipro_dataset_free(&got);
}

static void well_formed(void) {
  static const struct {
    layout how;
    bool deflate, zip64;
  } forms[] = {{AS_NCHW_U8, false, false}, {AS_NHWC_F32, true, false}, {AS_NHW_U8, false, true}};
  for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
    char path[600], spec[620];
    snprintf(path, sizeof path, "%s/form%zu.npz", directory, f);
    snprintf(spec, sizeof spec, "npz:%s", path);
    write_archive(path, forms[f].how, forms[f].deflate, forms[f].zip64);
    check_same(spec, IPRO_SPLIT_TRAIN, &train, TRAIN);
    check_same(spec, IPRO_SPLIT_TEST, &test, TEST);
  }
}

static void expect_error(const char *path, const char *needle) {
  char spec[620];
  snprintf(spec, sizeof spec, "npz:%s", path);
  ipro_dataset got;
  ipro_error err = {{0}};
  ipro_status status = ipro_dataset_open(spec, IPRO_SPLIT_TRAIN, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, needle) && strstr(err.message, path),
            "%s: expected an error with '%s', got: %s", path, needle,
            status ? err.message : "success");
  if (status == IPRO_OK) ipro_dataset_free(&got);
}

static void malformed(void) {
  static uint8_t pixels[2 * 3 * 4 * 3];
  int64_t labels[2] = {1, 1000000}, good[2] = {0, 1};
  char path[600];
  ipro_test_npy arrays[4] = {
      {"x_train", "|u1", 4, {2, 1, 4, 4}, pixels, 32, true},
      {"y_train", "<i8", 1, {2}, good, sizeof good, false},
      {"x_test", "|u1", 4, {2, 1, 4, 4}, pixels, 32, false},
      {"y_test", "<i8", 1, {2}, good, sizeof good, false},
  };
  snprintf(path, sizeof path, "%s/fortran.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  expect_error(path, "Fortran order");

  arrays[0] = (ipro_test_npy){"x_train", "|u1", 4, {2, 3, 4, 3}, pixels, 72, false};
  snprintf(path, sizeof path, "%s/ambiguous.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  expect_error(path, "ambiguous");

  /* (2, 3, 4, 1): 3 or 1 channels; the model's channel count settles it. */
  arrays[0] = (ipro_test_npy){"x_train", "|u1", 4, {2, 3, 4, 1}, pixels, 24, false};
  snprintf(path, sizeof path, "%s/settled.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  expect_error(path, "ambiguous");
  for (int channels = 1; channels <= 3; channels += 2) {
    ipro_dataset_spec spec = {.kind = IPRO_DATASET_NPZ, .channels = channels};
    snprintf(spec.directory, sizeof spec.directory, "%s", path);
    ipro_dataset got;
    ipro_error err = {{0}};
    CHECK_OK(ipro_dataset_load(&spec, IPRO_SPLIT_TRAIN, &got, &err), &err);
    CHECK_MSG(got.channels == channels && got.height == (channels == 1 ? 3 : 4) &&
                  got.width == (channels == 1 ? 4 : 1),
              "(2, 3, 4, 1) with a %d-channel model read as %d x %d x %d", channels, got.channels,
              got.height, got.width);
    ipro_dataset_free(&got);
  }

  arrays[0] = (ipro_test_npy){"x_train", "|u1", 4, {2, 1, 4, 4}, pixels, 32, false};
  arrays[3].data = labels;
  snprintf(path, sizeof path, "%s/label.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, true, false));
  expect_error(path, "y_test.npy[1] = 1000000 is outside 0..999999 (at most 1000000 classes)");

  arrays[3].data = good;
  /* dtypes it does not read are named as numpy writes them, with what they hold (the message
   * once cut the descr short and ran into the header's next characters) */
  static const float complex_pixels[2 * 2 * 16];
  arrays[0] = (ipro_test_npy){"x_train", "<c8", 4, {2, 1, 4, 4}, complex_pixels, 256, false};
  snprintf(path, sizeof path, "%s/complex.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  expect_error(path, "x_train.npy has dtype '<c8' (complex numbers); infopro reads arrays of");
  static const char text_labels[2 * 4] = "a\0\0\0b\0\0";
  arrays[0] = (ipro_test_npy){"x_train", "|u1", 4, {2, 1, 4, 4}, pixels, 32, false};
  arrays[1] = (ipro_test_npy){"y_train", "<U1", 1, {2}, text_labels, sizeof text_labels, false};
  snprintf(path, sizeof path, "%s/text.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  expect_error(path, "y_train.npy has dtype '<U1' (text)");
  /* a split of no images is refused by name, not read as one whose statistics are NaN */
  arrays[0] = (ipro_test_npy){"x_train", "|u1", 4, {0, 1, 4, 4}, pixels, 0, false};
  arrays[1] = (ipro_test_npy){"y_train", "<i8", 1, {0}, good, 0, false};
  snprintf(path, sizeof path, "%s/empty.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  expect_error(path, "x_train.npy holds no images");
  arrays[0] = (ipro_test_npy){"x_train", "|u1", 4, {2, 1, 4, 4}, pixels, 32, false};
  arrays[1] = (ipro_test_npy){"y_train", "<i8", 1, {2}, good, sizeof good, false};

  snprintf(path, sizeof path, "%s/missing.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 3, false, false));
  expect_error(path, "no array 'y_test'");

  /* A whole archive cut short: the end record is gone. */
  char whole[600];
  snprintf(whole, sizeof whole, "%s/whole.npz", directory);
  CHECK(ipro_test_write_npz(whole, arrays, 4, false, false));
  FILE *in = fopen(whole, "rb");
  uint8_t bytes[4096];
  size_t length = in ? fread(bytes, 1, sizeof bytes, in) : 0;
  if (in) fclose(in);
  snprintf(path, sizeof path, "%s/truncated.npz", directory);
  FILE *out = fopen(path, "wb");
  if (out) {
    fwrite(bytes, 1, length / 2, out);
    fclose(out);
  }
  expect_error(path, "not a zip archive");
}

/* Labels 0 to 2 of both splits: 3 classes by themselves; given the model's count (spec.classes)
 * they are a subset of its 10, and a model of 2 classes refuses the label 2 naming both. */
static void model_classes(void) {
  static uint8_t pixels[2 * 16];
  int64_t train_labels[2] = {0, 1}, test_labels[2] = {0, 2};
  ipro_test_npy arrays[4] = {
      {"x_train", "|u1", 4, {2, 1, 4, 4}, pixels, sizeof pixels, false},
      {"y_train", "<i8", 1, {2}, train_labels, sizeof train_labels, false},
      {"x_test", "|u1", 4, {2, 1, 4, 4}, pixels, sizeof pixels, false},
      {"y_test", "<i8", 1, {2}, test_labels, sizeof test_labels, false},
  };
  char path[600];
  snprintf(path, sizeof path, "%s/subset.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  static const int models[] = {0, 10, 2};
  for (int m = 0; m < 3; m++) {
    ipro_dataset_spec spec = {.kind = IPRO_DATASET_NPZ, .channels = 1, .classes = models[m]};
    snprintf(spec.directory, sizeof spec.directory, "%s", path);
    ipro_dataset got;
    ipro_error err = {{0}};
    ipro_status status = ipro_dataset_load(&spec, IPRO_SPLIT_TRAIN, &got, &err);
    if (models[m] == 2) {
      CHECK_MSG(status == IPRO_ERROR &&
                    strstr(err.message, "y_test.npy[1] = 2, but the model has 2 classes"),
                "labels up to 2 for a 2-class model: %s", status ? err.message : "accepted");
    } else {
      CHECK_OK(status, &err);
      CHECK_EQ_INT(got.num_classes, (models[m] ? models[m] : 3));
    }
    if (status == IPRO_OK) ipro_dataset_free(&got);
  }
}

/* Labels past a byte's range, in two integer dtypes: y_train int16 0..299 (one image a class),
 * y_test uint16 {299, 256}. Each label must load as written: held in a byte, 256..299 would come
 * back as 0..43. */
static void many_classes(void) {
  enum { CLASSES = 300 };
  static uint8_t pixels[CLASSES * 16];
  int16_t train_labels[CLASSES];
  uint16_t test_labels[2] = {299, 256};
  for (int i = 0; i < CLASSES; i++)
    train_labels[i] = (int16_t)i;
  ipro_test_npy arrays[4] = {
      {"x_train", "|u1", 4, {CLASSES, 1, 4, 4}, pixels, sizeof pixels, false},
      {"y_train", "<i2", 1, {CLASSES}, train_labels, sizeof train_labels, false},
      {"x_test", "|u1", 4, {2, 1, 4, 4}, pixels, 32, false},
      {"y_test", "<u2", 1, {2}, test_labels, sizeof test_labels, false},
  };
  char path[600];
  snprintf(path, sizeof path, "%s/many_classes.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, true, false));
  static const int models[] = {0, CLASSES, CLASSES - 1};
  for (int m = 0; m < 3; m++) {
    ipro_dataset_spec spec = {.kind = IPRO_DATASET_NPZ, .channels = 1, .classes = models[m]};
    snprintf(spec.directory, sizeof spec.directory, "%s", path);
    for (int split = 0; split < 2; split++) {
      ipro_dataset got;
      ipro_error err = {{0}};
      ipro_status status =
          ipro_dataset_load(&spec, split ? IPRO_SPLIT_TEST : IPRO_SPLIT_TRAIN, &got, &err);
      if (models[m] == CLASSES - 1) {
        CHECK_MSG(status == IPRO_ERROR &&
                      strstr(err.message, "y_train.npy[299] = 299, but the model has 299 "
                                          "classes (labels 0 to 298)"),
                  "labels up to 299 for a 299-class model: %s", status ? err.message : "accepted");
      } else {
        CHECK_OK(status, &err);
        int64_t count = split ? 2 : CLASSES, wrong = 0;
        for (int64_t i = 0; status == IPRO_OK && i < got.count && i < count; i++)
          wrong += got.labels[i] != (split ? test_labels[i] : train_labels[i]);
        CHECK_MSG(status == IPRO_OK && got.count == count && wrong == 0 &&
                      got.num_classes == CLASSES,
                  "split %d, model of %d classes: %lld of %lld labels differ, %d classes", split,
                  models[m], (long long)wrong, (long long)count, got.num_classes);
      }
      if (status == IPRO_OK) ipro_dataset_free(&got);
    }
  }
}

int main(void) {
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  malformed();
  model_classes();
  many_classes();
  ipro_error err = {{0}};
  if (ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TRAIN, &train, &err) == IPRO_OK &&
      ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TEST, &test, &err) == IPRO_OK)
    well_formed();
  else
    printf("not checked: the archives against the IDX files (Fashion-MNIST not installed at "
           "%s)\n",
           IPRO_FASHION_MNIST_DEFAULT_DIR);
  ipro_dataset_free(&train);
  ipro_dataset_free(&test);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
