/* libFuzzer target for the dataset readers: the first byte picks a reader from the table below,
 * the next four give the length of the first file, and the rest is split into that reader's
 * files, written to a private temporary folder (the readers take paths, and gzip is detected
 * from the bytes). Every file must load or fail with a message, never crash, overflow or leak.
 *
 * Rows: IDX (images, labels), CIFAR-10, CIFAR-100, a NumPy .npz (the first file), and one image
 * file (the first file, PNG or JPEG by its bytes) decoded, fitted and kept uncropped as an image
 * folder's images are. To fuzz a new reader, add a function with the signature of dataset_reader
 * and a row to `readers`, and seed tests/fuzz/corpus/dataset/ with files that start with its row
 * index. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/dataset.h"
#include "runtime/image_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the dataset in files[0..1] into *out (zeroed). */
typedef ipro_status (*dataset_reader)(const char *const *files, ipro_dataset *out, ipro_error *err);

static ipro_status read_idx(const char *const *files, ipro_dataset *out, ipro_error *err) {
  out->num_classes = 10;
  return ipro_dataset_read_idx(files[0], files[1], out, err);
}

static ipro_status read_cifar10(const char *const *files, ipro_dataset *out, ipro_error *err) {
  out->channels = 3, out->height = 32, out->width = 32, out->num_classes = 10;
  return ipro_dataset_read_cifar(files, 2, 1, 0, out, err);
}

static ipro_status read_cifar100(const char *const *files, ipro_dataset *out, ipro_error *err) {
  out->channels = 3, out->height = 32, out->width = 32, out->num_classes = 100;
  return ipro_dataset_read_cifar(files, 1, 2, 20, out, err);
}

static ipro_status read_npz(const char *const *files, ipro_dataset *out, ipro_error *err) {
  ipro_dataset_spec spec = {.kind = IPRO_DATASET_NPZ};
  snprintf(spec.directory, sizeof spec.directory, "%s", files[0]);
  return ipro_dataset_read_npz(&spec, IPRO_SPLIT_TRAIN, out, err);
}

/* One image as the image folder decodes it, at both channel counts, fitted and kept uncropped
 * for random-resized-crop; no dataset comes of it. */
static ipro_status read_image(const char *const *files, ipro_dataset *out, ipro_error *err) {
  (void)out;
  uint8_t pixels[3 * 24 * 20];
  if (ipro_image_decode(files[0], 1, 24, 20, pixels, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_image_decode(files[0], 3, 20, 24, pixels, err) != IPRO_OK) return IPRO_ERROR;
  uint8_t *kept = NULL;
  int height = 0, width = 0;
  ipro_status status = ipro_image_decode_kept(files[0], 3, 9, 7, &kept, &height, &width, err);
  free(kept);
  return status;
}

static const dataset_reader readers[] = {read_idx, read_cifar10, read_cifar100, read_npz,
                                         read_image};

static char folder[64];
static char paths[2][96];

/* Removed before each write: ext4 flushes a file truncated and rewritten when it is closed,
 * which made every execution wait for the disk (100 runs a second instead of thousands). */
static int write_file(const char *path, const uint8_t *bytes, size_t size) {
  unlink(path);
  FILE *file = fopen(path, "wb");
  if (!file) return -1;
  size_t written = size ? fwrite(bytes, 1, size, file) : 0;
  return fclose(file) == 0 && written == size ? 0 : -1;
}

static void remove_files(void) {
  for (int f = 0; f < 2; f++)
    unlink(paths[f]);
  rmdir(folder);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  if (!folder[0]) {
    /* Memory-backed /dev/shm where there is one. */
    snprintf(folder, sizeof folder, "%s/ipro_fuzz_dataset_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(folder)) abort();
    for (int f = 0; f < 2; f++)
      snprintf(paths[f], sizeof paths[f], "%s/file%d", folder, f);
    atexit(remove_files);
  }
  dataset_reader reader = readers[data[0] % (sizeof readers / sizeof readers[0])];
  size_t first =
      (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
  data += 5, size -= 5;
  if (first > size) first = size;
  if (write_file(paths[0], data, first) || write_file(paths[1], data + first, size - first))
    abort();
  const char *files[2] = {paths[0], paths[1]};
  ipro_dataset dataset;
  memset(&dataset, 0, sizeof dataset);
  ipro_error err;
  if (reader(files, &dataset, &err) == IPRO_OK) {
    for (int64_t i = 0; i < dataset.count; i++)
      if (dataset.labels[i] < 0 || dataset.labels[i] >= dataset.num_classes) abort();
    ipro_dataset_free(&dataset);
  }
  return 0;
}
