/* `infopro train` and `infopro eval` on data of 300 classes, more than a byte's 256, through the
 * binary. The model is the bundled MLP with 300 logits (tests/support/widened_model.h). Each class
 * is a fixed pseudo-random 8x8 grey pattern: an image folder (class folders c000..c299, whose
 * sorted order is their number) holds two training images a class (the pattern and a copy a few
 * levels off) and the pattern itself for val; an .npz holds the same at 28x28 (each pixel repeated)
 * with int64 labels 0..299. The MLP trains a few epochs from each, then eval --json - of the
 * trained model lists 300 classes, class c named c%03d (the folder) with its one val image, and
 * scores most of classes 256..299 right: labels cut to a byte anywhere from the reader to the loss
 * would count those images under classes 0..43, or train them towards those classes, so that
 * almost none could be. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/atomic_file.h"
#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"
#include "support/widened_model.h"

#define CLASSES 300
#define SIDE 8
#define MODEL_SIDE 28
/* Classes past a byte: at least this many of the 44 must be scored right after training (a
 * byte-cut label leaves none or nearly none). */
#define ABOVE_BYTE_RIGHT 30

static char directory[] = "/tmp/ipro_test_train_many_classes_XXXXXX";

/* Pixel p of class c's pattern, or of its training copy shifted by `shift` levels. */
static uint8_t pattern(int c, int p, int shift) {
  uint32_t x = (uint32_t)(c * SIDE * SIDE + p) * 2654435761u + 97u;
  x ^= x >> 16, x *= 2246822519u, x ^= x >> 13;
  int value = (int)(x % 256u) + shift;
  return (uint8_t)(value < 0 ? 0 : value > 255 ? 255 : value);
}

static const int shifts[3] = {0, 6, 0}; /* the two training images, then val's */

static bool write_folder(const char *folder) {
  char path[1024];
  uint8_t pixels[SIDE * SIDE];
  for (int c = 0; c < CLASSES; c++)
    for (int i = 0; i < 3; i++) {
      ipro_error err;
      snprintf(path, sizeof path, "%s/%s/c%03d", folder, i < 2 ? "train" : "val", c);
      if (ipro_make_directories(path, &err) != IPRO_OK) return false;
      snprintf(path + strlen(path), sizeof path - strlen(path), "/%d.png", i);
      for (int p = 0; p < SIDE * SIDE; p++)
        pixels[p] = pattern(c, p, shifts[i]);
      if (!ipro_test_write_png(path, SIDE, SIDE, 1, pixels)) return false;
    }
  return true;
}

/* x_train [600, 1, 28, 28] (two images a class, in class order) and x_test [300, 1, 28, 28] with
 * int64 labels: the patterns with each pixel repeated to cover 28x28. */
static bool write_npz(const char *path) {
  enum { PLANE = MODEL_SIDE * MODEL_SIDE };
  uint8_t *train = malloc(2 * CLASSES * PLANE), *test = malloc(CLASSES * PLANE);
  int64_t *train_labels = malloc(sizeof(int64_t) * 2 * CLASSES);
  int64_t *test_labels = malloc(sizeof(int64_t) * CLASSES);
  bool ok = train && test && train_labels && test_labels;
  for (int c = 0; ok && c < CLASSES; c++)
    for (int i = 0; i < 3; i++) {
      uint8_t *image = i < 2 ? train + (size_t)(2 * c + i) * PLANE : test + (size_t)c * PLANE;
      for (int y = 0; y < MODEL_SIDE; y++)
        for (int x = 0; x < MODEL_SIDE; x++)
          image[y * MODEL_SIDE + x] =
              pattern(c, (y * SIDE / MODEL_SIDE) * SIDE + x * SIDE / MODEL_SIDE, shifts[i]);
      if (i < 2)
        train_labels[2 * c + i] = c;
      else
        test_labels[c] = c;
    }
  ipro_test_npy arrays[4] = {
      {"x_train",
       "|u1",
       4,
       {2 * CLASSES, 1, MODEL_SIDE, MODEL_SIDE},
       train,
       2 * CLASSES * PLANE,
       false},
      {"y_train", "<i8", 1, {2 * CLASSES}, train_labels, sizeof(int64_t) * 2 * CLASSES, false},
      {"x_test", "|u1", 4, {CLASSES, 1, MODEL_SIDE, MODEL_SIDE}, test, CLASSES * PLANE, false},
      {"y_test", "<i8", 1, {CLASSES}, test_labels, sizeof(int64_t) * CLASSES, false},
  };
  ok = ok && ipro_test_write_npz(path, arrays, 4, true, false);
  free(train), free(test), free(train_labels), free(test_labels);
  return ok;
}

/* Trains the widened model on spec into trained, then checks eval --json - of it on spec's test
 * split: 300 classes, each with its one image (and, for an image folder, its folder's name), and
 * at least ABOVE_BYTE_RIGHT of classes 256..299 right. */
static void train_and_score(const char *what, const char *model, const char *spec,
                            const char *trained, bool named) {
  static ipro_command_result r;
  char arguments[2048];
  snprintf(arguments, sizeof arguments,
           "train '%s' --data '%s' --epochs 12 --batch 20 --optimizer adamw --lr 0.003 "
           "--weight-decay 0 --schedule constant --seed 3 --out '%s'",
           model, spec, trained);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "%s: train exited with %d: %s %s", what, r.exit_status, r.out,
            r.err);
  if (named)
    CHECK_MSG(strstr(r.out, "classes: 0=c000 1=c001 ") && strstr(r.out, " 256=c256 ") &&
                  strstr(r.out, " 299=c299\n"),
              "%s: the class mapping printed is not c000..c299: %s", what, r.out);
  if (r.exit_status != 0) return;

  snprintf(arguments, sizeof arguments, "eval '%s' --data '%s' --json -", trained, spec);
  ipro_test_run_infopro(arguments, &r);
  json_error_t error;
  json_t *report = r.exit_status == 0 ? json_loads(r.out, 0, &error) : NULL;
  const json_t *classes = json_object_get(report, "classes");
  CHECK_MSG(json_array_size(classes) == CLASSES,
            "%s: eval --json - lists %zu classes, not %d: exit status %d: %s %s", what,
            json_array_size(classes), CLASSES, r.exit_status, r.out, r.err);
  int wrong_entries = 0, right = 0, above_byte_right = 0;
  for (size_t c = 0; c < json_array_size(classes); c++) {
    const json_t *entry = json_array_get(classes, c);
    char name[8];
    snprintf(name, sizeof name, "c%03zu", c);
    const char *named_as = json_string_value(json_object_get(entry, "name"));
    long long index = json_integer_value(json_object_get(entry, "class"));
    long long images = json_integer_value(json_object_get(entry, "images"));
    long long correct = json_integer_value(json_object_get(entry, "correct"));
    bool as_expected = index == (long long)c && images == 1 && (correct == 0 || correct == 1) &&
                       (named ? named_as && !strcmp(named_as, name) : !named_as);
    if (!as_expected && wrong_entries++ < 3)
      CHECK_MSG(false, "%s: eval --json -: entry %zu is class %lld named %s with %lld images", what,
                c, index, named_as ? named_as : "(none)", images);
    right += correct == 1;
    above_byte_right += c >= 256 && correct == 1;
  }
  CHECK_MSG(wrong_entries == 0, "%s: %d of the %d classes' entries are not as written", what,
            wrong_entries, CLASSES);
  printf("%s: %d of %d val images right, %d of the 44 of classes 256..299\n", what, right, CLASSES,
         above_byte_right);
  CHECK_MSG(above_byte_right >= ABOVE_BYTE_RIGHT,
            "%s: only %d of the 44 images of classes 256..299 scored right (%d of %d overall)",
            what, above_byte_right, right, CLASSES);
  json_decref(report);
}

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  CHECK(chdir(ipro_test_source_dir()) == 0); /* the bundled model is read from there */
  char model[600], folder[600], npz[600], spec[700], trained[600];
  snprintf(model, sizeof model, "%s/mlp300.onnx", directory);
  snprintf(folder, sizeof folder, "%s/images", directory);
  snprintf(npz, sizeof npz, "%s/patterns.npz", directory);
  bool written = ipro_test_write_widened_mlp(model, CLASSES);
  bool data = write_folder(folder) && write_npz(npz);
  CHECK_MSG(data, "cannot write the data into %s", directory);
  if (written && data) {
    snprintf(spec, sizeof spec, "imagefolder:%s", folder);
    snprintf(trained, sizeof trained, "%s/trained_folder.onnx", directory);
    train_and_score("image folder", model, spec, trained, true);
    snprintf(spec, sizeof spec, "npz:%s", npz);
    snprintf(trained, sizeof trained, "%s/trained_npz.onnx", directory);
    train_and_score("npz", model, spec, trained, false);
  }
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
