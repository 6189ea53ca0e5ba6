/* `infopro train` on users' own data, through the binary: the first 256 Fashion-MNIST training
 * and 128 test images, ordered by class as an image folder lists them, written once as PNG class
 * folders (libpng) and once as an .npz (zip of .npy), both by tests/support/user_data.c. ResNet-8
 * trains one short epoch (8 steps of 32) from each. The two inputs go through independent readers
 * (libpng + resize vs zip + npy) to the same pixels, so the runs must print the same training
 * loss, test accuracy and test loss to the digit; the image-folder run also prints its class
 * mapping and decoding rate and writes TRAINED.classes.txt beside --out. `infopro eval` of the
 * written model on the image folder's val split, given the --mean/--std the training printed,
 * scores exactly the training's last test pass; those printed values are the training images'
 * mean and standard deviation as this test computes them (two passes in double) to float32's
 * precision (printed with four digits they were not: this check fails then, the scores happen not
 * to move at four digits on this data); without them, eval reads them from the written model's
 * metadata (`infopro train --out` puts them there) and scores the same, and of a model without
 * them (the untrained file) it warns once that it normalises otherwise. eval of a folder holding
 * only val/ scores the same (and its --json names each class by its folder and counts the
 * folder's files as its images); the trained models (--out, --out-inference) carry their class
 * names and eval refuses the folder once a class folder is renamed; so does --resume of the run's
 * checkpoint (versions 2 and 3 hold the class names), leaving it as it was, while a version-1
 * checkpoint (no names) still resumes. A missing folder or file is one message naming it.
 * Skipped when Fashion-MNIST is missing. */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/checkpoint.h"
#include "runtime/dataset.h"
#include "runtime/framed_file.h"
#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"

static char directory[] = "/tmp/ipro_test_train_user_data_XXXXXX";

/* Mean and standard deviation of the training images' pixels / 255, in two passes over them in
 * double: the oracle for what `train` prints (it sums integers in one pass). */
static void pixel_statistics(const ipro_dataset *train, double *mean, double *std) {
  int64_t n = train->count * 784;
  double sum = 0, squares = 0;
  for (int64_t i = 0; i < n; i++)
    sum += train->images[i] / 255.0;
  *mean = sum / (double)n;
  for (int64_t i = 0; i < n; i++)
    squares += (train->images[i] / 255.0 - *mean) * (train->images[i] / 255.0 - *mean);
  *std = sqrt(squares / (double)n);
}

static bool write_inputs(const char *folder, const char *npz, double *mean, double *std) {
  ipro_dataset all_train, all_test, train, test;
  ipro_error err = {{0}};
  if (ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TRAIN, &all_train, &err) != IPRO_OK ||
      ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TEST, &all_test, &err) != IPRO_OK)
    return false;
  bool ok = ipro_test_sorted_by_label(&all_train, 256, &train) &&
            ipro_test_sorted_by_label(&all_test, 128, &test) &&
            ipro_test_write_image_folder(folder, "train", &train) &&
            ipro_test_write_image_folder(folder, "val", &test);
  if (ok) pixel_statistics(&train, mean, std);
  int64_t *labels = malloc(sizeof(int64_t) * 384);
  for (int i = 0; labels && i < 384; i++)
    labels[i] = i < 256 ? train.labels[i] : test.labels[i - 256];
  ipro_test_npy arrays[4] = {
      {"x_train", "|u1", 4, {256, 1, 28, 28}, train.images, 256 * 784, false},
      {"y_train", "<i8", 1, {256}, labels, 256 * sizeof(int64_t), false},
      {"x_test", "|u1", 4, {128, 1, 28, 28}, test.images, 128 * 784, false},
      {"y_test", "<i8", 1, {128}, labels + 256, 128 * sizeof(int64_t), false},
  };
  ok = ok && labels && ipro_test_write_npz(npz, arrays, 4, true, true);
  free(labels);
  ipro_dataset_free(&train);
  ipro_dataset_free(&test);
  ipro_dataset_free(&all_train);
  ipro_dataset_free(&all_test);
  return ok;
}

/* The "epoch 1/1  loss ..." line up to the time it took. */
static bool epoch_figures(const char *out, char *figures, size_t size) {
  const char *line = strstr(out, "epoch 1/1  loss ");
  const char *end = line ? strstr(line, "test loss ") : NULL;
  if (!end) return false;
  end += strlen("test loss ");
  while (*end && *end != ' ')
    end++;
  snprintf(figures, size, "%.*s", (int)(end - line), line);
  return true;
}

/* The accuracy eval prints for arguments, or -1 when it fails. */
static double eval_accuracy(const char *arguments, ipro_command_result *e) {
  ipro_test_run_infopro(arguments, e);
  const char *scored = strstr(e->out, "\naccuracy ");
  double accuracy = -1;
  if (e->exit_status != 0 || !scored || sscanf(scored + 1, "accuracy %lf", &accuracy) != 1)
    return -1;
  return accuracy;
}

/* eval needs only the split it reads: a folder holding val/ alone (here a link to the image
 * folder's val) scores what the full folder scored. Before, it was refused with "cannot open
 * folder .../train". */
static void val_only(const char *folder, const char *model, double trained_accuracy) {
  char root[700], val[700], link[760], arguments[2048];
  snprintf(root, sizeof root, "%s/../val_only", folder);
  snprintf(val, sizeof val, "%s/val", folder);
  snprintf(link, sizeof link, "%s/val", root);
  CHECK(mkdir(root, 0755) == 0 && symlink(val, link) == 0);
  snprintf(arguments, sizeof arguments, "eval '%s' --data 'imagefolder:%s'", model, root);
  ipro_command_result e;
  double accuracy = eval_accuracy(arguments, &e);
  CHECK_MSG(fabs(accuracy - trained_accuracy) < 1e-9,
            "eval of a folder holding only val: accuracy %.4f (the training's test pass: %.4f); "
            "exit status %d, stderr: %s",
            accuracy, trained_accuracy, e.exit_status, e.err);
}

/* The entries of a folder, . and .. left out; -1 when it cannot be opened. */
static int entries_of(const char *path) {
  DIR *folder = opendir(path);
  if (!folder) return -1;
  int count = 0;
  for (struct dirent *e; (e = readdir(folder));)
    count += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(folder);
  return count;
}

/* eval --json - of an image folder names each class by its folder, and counts as its images the
 * files that folder holds. */
static void json_class_names(const char *folder, const char *model) {
  char arguments[2048];
  snprintf(arguments, sizeof arguments, "eval '%s' --data 'imagefolder:%s' --json -", model,
           folder);
  ipro_command_result e;
  ipro_test_run_infopro(arguments, &e);
  json_error_t error;
  json_t *report = e.exit_status == 0 ? json_loads(e.out, 0, &error) : NULL;
  const json_t *classes = json_object_get(report, "classes");
  CHECK_MSG(json_array_size(classes) == 10, "eval --json - of the folder: exit status %d: %s %s",
            e.exit_status, e.out, e.err);
  for (size_t c = 0; c < json_array_size(classes); c++) {
    const json_t *entry = json_array_get(classes, c);
    char name[8], path[800];
    snprintf(name, sizeof name, "c%zu", c);
    snprintf(path, sizeof path, "%s/val/%s", folder, name);
    const char *named = json_string_value(json_object_get(entry, "name"));
    long long images = json_integer_value(json_object_get(entry, "images"));
    CHECK_MSG(named && strcmp(named, name) == 0 && images == entries_of(path),
              "eval --json -: class %zu is '%s' with %lld images; the folder %s holds %d", c,
              named ? named : "(none)", images, path, entries_of(path));
  }
  json_decref(report);
}

/* The whole of a file into bytes (at most size); its length, or 0 when it cannot be read. */
static size_t read_file(const char *path, uint8_t *bytes, size_t size) {
  FILE *file = fopen(path, "rb");
  if (!file) return 0;
  size_t length = fread(bytes, 1, size, file);
  fclose(file);
  return length;
}

/* The version-1 form of a checkpoint that holds the ten class names c0..c9, written to path: its
 * position and tensors encoded again without the class names and the split (schemas/checkpoint.md:
 * the payload then ends with the class-name count 0, the split flag 0 and the normalisation's
 * channel count 0, which version 1 does not have), under version 1. */
static bool write_version_1(const uint8_t *bytes, size_t size, const char *path) {
  ipro_checkpoint checkpoint;
  ipro_error err;
  if (ipro_checkpoint_decode(bytes, size, path, &checkpoint, &err) != IPRO_OK) return false;
  bool named = checkpoint.n_class_names == 10;
  uint8_t *encoded = NULL;
  size_t encoded_size = 0;
  checkpoint.split.K = 0;
  checkpoint.n_normalization = 0;
  bool ok = named && ipro_checkpoint_set_class_names(&checkpoint, NULL, 0, &err) == IPRO_OK &&
            ipro_checkpoint_encode(&checkpoint, &encoded, &encoded_size, &err) == IPRO_OK &&
            encoded_size >= IPRO_FRAME_HEADER_BYTES + 12;
  ipro_checkpoint_release(&checkpoint);
  if (!ok) return free(encoded), false;
  size_t payload = encoded_size - 12 - IPRO_FRAME_HEADER_BYTES;
  uint8_t header[IPRO_FRAME_HEADER_BYTES];
  memcpy(header, encoded, 8);
  uint32_t crc = ipro_crc32(encoded + IPRO_FRAME_HEADER_BYTES, payload);
  for (int i = 0; i < 4; i++)
    header[8 + i] = i == 0, header[12 + i] = (uint8_t)(crc >> (8 * i));
  for (int i = 0; i < 8; i++)
    header[16 + i] = (uint8_t)((uint64_t)payload >> (8 * i));
  FILE *file = fopen(path, "wb");
  ok = file && fwrite(header, 1, sizeof header, file) == sizeof header &&
       fwrite(encoded + IPRO_FRAME_HEADER_BYTES, 1, payload, file) == payload;
  ok = file && fclose(file) == 0 && ok;
  free(encoded);
  return ok;
}

/* --resume of the image-folder run's checkpoint on the folder with class c0 renamed z0: the
 * labels would shift by one, so it is refused with one message naming index 0 and both names,
 * before anything is trained, and the checkpoint keeps its bytes. Before, it printed
 * "classes: 0=c1 ... 9=z0" and trained on with exit status 0. The same checkpoint in version 1
 * (no class names) resumes as before, for one more epoch (--epochs 2: a checkpoint at the end of
 * its run has nothing more to train). */
static void resume_renamed(const char *folder, const char *checkpoint) {
  static uint8_t before[1 << 20], after[1 << 20];
  char file[700], arguments[2048], old_folder[700], old_file[760];
  snprintf(file, sizeof file, "%s/checkpoint.ipck", checkpoint);
  size_t size = read_file(file, before, sizeof before);
  CHECK_MSG(size > 0 && size < sizeof before, "%s: %zu bytes", file, size);
  snprintf(arguments, sizeof arguments,
           "train models/resnet8_fmnist.onnx --data 'imagefolder:%s' --checkpoint '%s' --resume "
           "--epochs 2 --test-limit 128",
           folder, checkpoint);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "cannot resume") &&
                strstr(r.err, "class 0 is 'c1' in the data but 'c0' in the checkpoint") &&
                strstr(r.err, file) && !strstr(r.out, "epoch 2/2"),
            "resume on a folder with a renamed class: exit status %d, stdout: %s, stderr: %s",
            r.exit_status, r.out, r.err);
  CHECK_MSG(read_file(file, after, sizeof after) == size && !memcmp(before, after, size),
            "the refused resume changed %s", file);

  snprintf(old_folder, sizeof old_folder, "%s_version_1", checkpoint);
  snprintf(old_file, sizeof old_file, "%s/checkpoint.ipck", old_folder);
  CHECK(mkdir(old_folder, 0755) == 0 && write_version_1(before, size, old_file));
  snprintf(arguments, sizeof arguments,
           "train models/resnet8_fmnist.onnx --data 'imagefolder:%s' --checkpoint '%s' --resume "
           "--epochs 2 --test-limit 128",
           folder, old_folder);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "resuming from"),
            "resume of a version-1 checkpoint: exit status %d, stdout: %s, stderr: %s",
            r.exit_status, r.out, r.err);
}

/* The trained models (--out and --out-inference) carry the class names they were trained on
 * (metadata infopro.classes): with class folder c0 renamed z0, every label would shift by one
 * (c1 becoming class 0), so eval refuses the folder, naming the first index that differs and both
 * names; the untrained model, which carries no names, is still evaluated. Before, eval scored
 * the shifted labels with exit status 0. */
static void renamed_class(const char *folder, const char *model, const char *inference,
                          const char *untrained, const char *checkpoint) {
  char from[2][700], to[2][700], arguments[2048];
  static const char *const splits[2] = {"train", "val"};
  for (int s = 0; s < 2; s++) {
    snprintf(from[s], sizeof from[s], "%s/%s/c0", folder, splits[s]);
    snprintf(to[s], sizeof to[s], "%s/%s/z0", folder, splits[s]);
    CHECK(rename(from[s], to[s]) == 0);
  }
  const char *const trained[2] = {model, inference};
  for (int m = 0; m < 2; m++) {
    snprintf(arguments, sizeof arguments, "eval '%s' --data 'imagefolder:%s'", trained[m], folder);
    ipro_command_result e;
    ipro_test_run_infopro(arguments, &e);
    CHECK_MSG(e.exit_status == 1 && e.err_lines == 1 &&
                  strstr(e.err, "class 0 is 'c1' in the data but 'c0' in the model") &&
                  strstr(e.err, "infopro.classes") && !strstr(e.out, "accuracy"),
              "eval of %s on a folder with a renamed class: exit status %d, stdout: %s, stderr: %s",
              trained[m], e.exit_status, e.out, e.err);
  }
  snprintf(arguments, sizeof arguments, "eval '%s' --data 'imagefolder:%s'", untrained, folder);
  ipro_command_result e;
  CHECK_MSG(eval_accuracy(arguments, &e) >= 0,
            "eval of a model without class names on a renamed folder: exit status %d, stderr: %s",
            e.exit_status, e.err);
  resume_renamed(folder, checkpoint);
  for (int s = 0; s < 2; s++)
    CHECK(rename(to[s], from[s]) == 0);
}

int main(void) {
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  char folder[600], npz[600], arguments[2048], model[600], classes[600], inference[600],
      checkpoint[600];
  snprintf(folder, sizeof folder, "%s/images", directory);
  snprintf(npz, sizeof npz, "%s/fmnist.npz", directory);
  snprintf(model, sizeof model, "%s/trained.onnx", directory);
  snprintf(classes, sizeof classes, "%s/trained.classes.txt", directory);
  snprintf(inference, sizeof inference, "%s/inference.onnx", directory);
  snprintf(checkpoint, sizeof checkpoint, "%s/ck", directory);
  double mean = 0, std = 0;
  CHECK(write_inputs(folder, npz, &mean, &std));

  static const char common[] =
      "train models/resnet8_fmnist.onnx --epochs 1 --batch 32 --test-limit 128 --seed 3";
  ipro_command_result r;
  char from_folder[256] = "", from_npz[256] = "";
  snprintf(arguments, sizeof arguments,
           "%s --data 'imagefolder:%s' --out '%s' --out-inference '%s' --checkpoint '%s'", common,
           folder, model, inference, checkpoint);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "imagefolder: exit status %d, stderr: %s", r.exit_status, r.err);
  CHECK_MSG(epoch_figures(r.out, from_folder, sizeof from_folder), "imagefolder: no epoch line: %s",
            r.out);
  CHECK_MSG(strstr(r.out, "decoded 256 train images (1 x 28 x 28)") &&
                strstr(r.out, "decoded 128 val images"),
            "imagefolder: no decoding line: %s", r.out);
  CHECK_MSG(strstr(r.out, "classes: 0=c0 1=c1 2=c2") && strstr(r.out, "9=c9\n"),
            "imagefolder: no class mapping: %s", r.out);
  FILE *file = fopen(classes, "r");
  char text[256] = "";
  size_t length = file ? fread(text, 1, sizeof text - 1, file) : 0;
  if (file) fclose(file);
  text[length] = '\0';
  CHECK_MSG(!strncmp(text, "0 c0\n1 c1\n", 10) && strstr(text, "9 c9\n"), "%s holds: %s", classes,
            text);

  /* eval with the normalisation the training printed scores what its test pass scored */
  const char *measured = strstr(r.out, "normalisation measured on the training split: mean ");
  char mean_text[128] = "", std_text[128] = "";
  CHECK_MSG(measured && sscanf(measured,
                               "normalisation measured on the training split: mean %127s std %127s",
                               mean_text, std_text) == 2,
            "imagefolder: no normalisation line: %s", r.out);
  /* the floats themselves, not four digits of them: within float32's rounding of the oracle */
  double printed_mean = strtod(mean_text, NULL), printed_std = strtod(std_text, NULL);
  CHECK_MSG(fabs(printed_mean - mean) <= 1e-6 * mean && fabs(printed_std - std) <= 1e-6 * std,
            "train printed mean %s std %s; the training images have mean %.9f std %.9f", mean_text,
            std_text, mean, std);
  double trained_accuracy = -1, trained_loss = -1, accuracy = -2, loss = -2;
  const char *epoch = strstr(r.out, "test accuracy ");
  CHECK(epoch &&
        sscanf(epoch, "test accuracy %lf  test loss %lf", &trained_accuracy, &trained_loss) == 2);
  snprintf(arguments, sizeof arguments, "eval '%s' --data 'imagefolder:%s' --mean %s --std %s",
           model, folder, mean_text, std_text);
  ipro_command_result e;
  ipro_test_run_infopro(arguments, &e);
  const char *scored = strstr(e.out, "\naccuracy ");
  CHECK_MSG(e.exit_status == 0 && scored &&
                sscanf(scored + 1, "accuracy %lf (%*d/%*d)  mean cross-entropy %lf", &accuracy,
                       &loss) == 2,
            "%s: exit status %d: %s %s", arguments, e.exit_status, e.out, e.err);
  CHECK_MSG(fabs(accuracy - trained_accuracy) < 1e-9 && fabs(loss - trained_loss) <= 5e-5,
            "eval with the printed normalisation: accuracy %.4f, cross-entropy %.6f; the "
            "training's test pass: %.4f, %.4f",
            accuracy, loss, trained_accuracy, trained_loss);

  /* without --mean/--std, eval takes the normalisation the trained model carries (its metadata,
   * written by --out) and scores the same, saying so; a model without it (the untrained file)
   * makes eval warn that it normalises with the split's own statistics */
  snprintf(arguments, sizeof arguments, "eval '%s' --data 'imagefolder:%s'", model, folder);
  ipro_test_run_infopro(arguments, &e);
  scored = strstr(e.out, "\naccuracy ");
  accuracy = loss = -2;
  CHECK_MSG(e.exit_status == 0 && scored &&
                sscanf(scored + 1, "accuracy %lf (%*d/%*d)  mean cross-entropy %lf", &accuracy,
                       &loss) == 2,
            "%s: exit status %d: %s %s", arguments, e.exit_status, e.out, e.err);
  CHECK_MSG(fabs(accuracy - trained_accuracy) < 1e-9 && fabs(loss - trained_loss) <= 5e-5 &&
                e.err_lines == 1 && strstr(e.err, "the model was trained with (its metadata)"),
            "eval with the model's own normalisation: accuracy %.4f, cross-entropy %.6f (the "
            "training's test pass: %.4f, %.4f); stderr: %s",
            accuracy, loss, trained_accuracy, trained_loss, e.err);
  /* `inspect` shows what the model carries */
  snprintf(arguments, sizeof arguments, "inspect '%s'", model);
  ipro_test_run_infopro(arguments, &e);
  char carried[200];
  snprintf(carried, sizeof carried, "metadata    infopro.normalization.mean = %s\n", mean_text);
  CHECK_MSG(e.exit_status == 0 && strstr(e.out, carried), "inspect of the trained model: %s",
            e.out);
  char untrained[1024];
  snprintf(untrained, sizeof untrained, "%s/models/resnet8_fmnist.onnx", ipro_test_source_dir());
  snprintf(arguments, sizeof arguments, "eval '%s' --data 'imagefolder:%s'", untrained, folder);
  ipro_test_run_infopro(arguments, &e);
  CHECK_MSG(e.exit_status == 0 && e.err_lines == 1 && strstr(e.err, "no --mean/--std for"),
            "eval of a model without the normalisation: exit status %d, stderr: %s", e.exit_status,
            e.err);

  val_only(folder, model, trained_accuracy);
  json_class_names(folder, model);
  renamed_class(folder, model, inference, untrained, checkpoint);

  snprintf(arguments, sizeof arguments, "%s --data 'npz:%s'", common, npz);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "npz: exit status %d, stderr: %s", r.exit_status, r.err);
  CHECK_MSG(epoch_figures(r.out, from_npz, sizeof from_npz), "npz: no epoch line: %s", r.out);
  CHECK_MSG(strstr(r.out, "256 training images, 8 steps of 32"), "npz: header: %s", r.out);
  CHECK_MSG(from_folder[0] && !strcmp(from_folder, from_npz),
            "the same images trained differently:\n  imagefolder: %s\n  npz:         %s",
            from_folder, from_npz);

  static const char *const missing[] = {"imagefolder:/nonexistent/images", "npz:/nonexistent.npz"};
  for (int i = 0; i < 2; i++) {
    snprintf(arguments, sizeof arguments, "%s --data %s", common, missing[i]);
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "/nonexistent"),
              "%s: exit status %d, stderr: %s", missing[i], r.exit_status, r.err);
  }
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
