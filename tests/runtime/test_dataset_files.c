/* Reading the two file formats, and every way they can be wrong.
 *
 * Tiny IDX and CIFAR files are written here byte by byte from the published layouts (IDX: big-
 * endian magic and sizes; CIFAR: label bytes then 3072 CHW pixels per record), some through zlib's
 * gzwrite, with pixels that are a known function of their position, and must come back exactly.
 * Broken copies (missing, wrong magic, truncated, mismatched counts, labels out of range, corrupt
 * gzip, bad SPEC strings) must give one message naming the file; the sanitizer build checks that
 * nothing crashes or leaks on the way. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "runtime/dataset.h"
#include "support/check.h"

static char root[] = "/tmp/ipro_dataset_XXXXXX";
static ipro_error err;

static const char *path_of(const char *relative) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", root, relative);
  return path;
}

/* Writes bytes to root/relative, gzipped when the name ends in .gz. */
static void write_file(const char *relative, const uint8_t *bytes, size_t size) {
  const char *path = path_of(relative);
  size_t length = strlen(path);
  if (length > 3 && !strcmp(path + length - 3, ".gz")) {
    gzFile file = gzopen(path, "wb");
    if (!file || (size && gzwrite(file, bytes, (unsigned)size) != (int)size)) abort();
    gzclose(file);
  } else {
    FILE *file = fopen(path, "wb");
    if (!file) abort();
    if (size) fwrite(bytes, 1, size, file);
    fclose(file);
  }
}

static uint8_t idx_pixel(int i, int y, int x) { return (uint8_t)(i * 37 + y * 11 + x * 3 + 1); }

/* An IDX file: magic 0x000008NN, NN big-endian sizes, then the bytes. */
static size_t idx_bytes(uint8_t *out, int dimensions, const uint32_t *sizes, const uint8_t *data,
                        size_t data_size) {
  uint8_t *p = out;
  *p++ = 0, *p++ = 0, *p++ = 8, *p++ = (uint8_t)dimensions;
  for (int d = 0; d < dimensions; d++)
    for (int b = 3; b >= 0; b--)
      *p++ = (uint8_t)(sizes[d] >> (8 * b));
  memcpy(p, data, data_size);
  return (size_t)(p - out) + data_size;
}

enum { N = 5, ROWS = 3, COLS = 4 };
static uint8_t images_file[16 + N * ROWS * COLS], labels_file[8 + N];
static size_t images_size, labels_size;

static void make_idx(const uint8_t *labels) {
  uint8_t pixels[N * ROWS * COLS];
  for (int i = 0; i < N; i++)
    for (int y = 0; y < ROWS; y++)
      for (int x = 0; x < COLS; x++)
        pixels[(i * ROWS + y) * COLS + x] = idx_pixel(i, y, x);
  uint32_t image_sizes[3] = {N, ROWS, COLS}, label_sizes[1] = {N};
  images_size = idx_bytes(images_file, 3, image_sizes, pixels, sizeof pixels);
  labels_size = idx_bytes(labels_file, 1, label_sizes, labels, N);
}

static bool message_has(const char *a, const char *b) {
  return strstr(err.message, a) && (!b || strstr(err.message, b));
}

/* Loads SPEC's train split, expecting failure with a message containing both strings. */
static void expect_failure(const char *spec, const char *first, const char *second) {
  ipro_dataset data;
  err.message[0] = 0;
  ipro_status status = ipro_dataset_open(spec, IPRO_SPLIT_TRAIN, &data, &err);
  CHECK_MSG(status == IPRO_ERROR, "%s loaded though broken (expected '%s')", spec, first);
  CHECK_MSG(message_has(first, second), "message '%s' lacks '%s' / '%s'", err.message, first,
            second ? second : "");
  CHECK(data.images == NULL && data.labels == NULL);
  if (getenv("IPRO_TEST_VERBOSE")) printf("%s\n", err.message);
}

static void test_idx(void) {
  static const uint8_t labels[N] = {3, 0, 9, 9, 1}, other_labels[N] = {2, 2, 2, 2, 2};
  mkdir(path_of("idx"), 0700);
  make_idx(labels);
  /* gzipped images, plain labels; a plain images file beside the .gz must be ignored. */
  write_file("idx/train-images-idx3-ubyte.gz", images_file, images_size);
  write_file("idx/train-images-idx3-ubyte", images_file, 20);
  write_file("idx/train-labels-idx1-ubyte", labels_file, labels_size);
  char spec[600];
  snprintf(spec, sizeof spec, "mnist:%s", path_of("idx"));
  ipro_dataset data;
  CHECK_OK(ipro_dataset_open(spec, IPRO_SPLIT_TRAIN, &data, &err), &err);
  CHECK_EQ_INT(data.count, N);
  CHECK_EQ_INT(data.channels, 1);
  CHECK_EQ_INT(data.height, ROWS);
  CHECK_EQ_INT(data.width, COLS);
  CHECK_EQ_INT(data.num_classes, 10);
  int wrong = 0;
  for (int i = 0; data.images && i < N; i++) {
    wrong += data.labels[i] != labels[i];
    for (int y = 0; y < ROWS; y++)
      for (int x = 0; x < COLS; x++)
        wrong += data.images[(i * ROWS + y) * COLS + x] != idx_pixel(i, y, x);
  }
  CHECK_EQ_INT(wrong, 0);
  CHECK(data.mean[0] == 0.1307f && data.std[0] == 0.3081f);
  ipro_dataset_free(&data);

  /* The .gz is preferred over the plain file when both exist. */
  make_idx(other_labels);
  write_file("idx/train-labels-idx1-ubyte.gz", labels_file, labels_size);
  CHECK_OK(ipro_dataset_open(spec, IPRO_SPLIT_TRAIN, &data, &err), &err);
  CHECK(data.labels && data.labels[0] == 2);
  ipro_dataset_free(&data);
  make_idx(labels);

  /* The test split uses the t10k names, here uncompressed. */
  write_file("idx/t10k-images-idx3-ubyte", images_file, images_size);
  write_file("idx/t10k-labels-idx1-ubyte", labels_file, labels_size);
  CHECK_OK(ipro_dataset_open(spec, IPRO_SPLIT_TEST, &data, &err), &err);
  CHECK(data.images && data.images[N * ROWS * COLS - 1] == idx_pixel(N - 1, ROWS - 1, COLS - 1));
  ipro_dataset_free(&data);
}

static void test_idx_errors(void) {
  char spec[600];
  snprintf(spec, sizeof spec, "mnist:%s", path_of("bad"));
  mkdir(path_of("bad"), 0700);
  static const uint8_t labels[N] = {1, 2, 3, 4, 5};
  make_idx(labels);

  expect_failure(spec, "train-images-idx3-ubyte.gz", "bad/train-images-idx3-ubyte");

  write_file("bad/train-images-idx3-ubyte", labels_file, labels_size); /* labels' magic */
  write_file("bad/train-labels-idx1-ubyte", labels_file, labels_size);
  expect_failure(spec, "bad/train-images-idx3-ubyte: wrong magic number 0x00000801", NULL);

  write_file("bad/train-images-idx3-ubyte", images_file, 10);
  expect_failure(spec, "bad/train-images-idx3-ubyte: truncated", "header");
  write_file("bad/train-images-idx3-ubyte", images_file, images_size - 1);
  expect_failure(spec, "bad/train-images-idx3-ubyte: truncated", NULL);

  /* A header announcing 2^31-1 images in a short file: truncated, not a huge allocation. */
  uint8_t huge[sizeof images_file];
  memcpy(huge, images_file, images_size);
  huge[4] = 0x7f, huge[5] = huge[6] = huge[7] = 0xff;
  write_file("bad/train-images-idx3-ubyte", huge, images_size);
  expect_failure(spec, "bad/train-images-idx3-ubyte: truncated", NULL);

  uint8_t longer[sizeof images_file + 1] = {0};
  memcpy(longer, images_file, images_size);
  write_file("bad/train-images-idx3-ubyte", longer, images_size + 1);
  expect_failure(spec, "bad/train-images-idx3-ubyte: data continues", NULL);

  write_file("bad/train-images-idx3-ubyte", images_file, images_size);
  uint8_t four_labels[8 + N];
  uint32_t four[1] = {N - 1};
  size_t four_size = idx_bytes(four_labels, 1, four, labels, N - 1);
  write_file("bad/train-labels-idx1-ubyte", four_labels, four_size);
  expect_failure(spec, "bad/train-images-idx3-ubyte holds 5 images", "holds 4 labels");
  /* The same count one short in the header while all five labels follow: the counts, not
   * "data continues after the 4 labels". */
  four_size = idx_bytes(four_labels, 1, four, labels, N);
  write_file("bad/train-labels-idx1-ubyte", four_labels, four_size);
  expect_failure(spec, "bad/train-images-idx3-ubyte holds 5 images", "holds 4 labels");

  /* Images of 65536 x 65536 pixels (2^32, past the limit of one tensor) and a header of zero
   * images: one message, no overflow and no division by zero. */
  uint32_t wide[3] = {1, 65536, 65536}, none[3] = {0, ROWS, COLS};
  uint8_t header_only[16];
  write_file("bad/train-images-idx3-ubyte", header_only,
             idx_bytes(header_only, 3, wide, labels, 0));
  expect_failure(spec, "bad/train-images-idx3-ubyte: 1 images of 65536x65536 is too large", NULL);
  write_file("bad/train-images-idx3-ubyte", header_only,
             idx_bytes(header_only, 3, none, labels, 0));
  expect_failure(spec, "bad/train-images-idx3-ubyte: IDX header gives dimension 0 a size of 0",
                 NULL);
  write_file("bad/train-images-idx3-ubyte", images_file, images_size);

  static const uint8_t out_of_range[N] = {0, 1, 10, 3, 4};
  make_idx(out_of_range);
  write_file("bad/train-labels-idx1-ubyte", labels_file, labels_size);
  expect_failure(spec, "bad/train-labels-idx1-ubyte: label 10 of example 2 is outside 0..9", NULL);
  unlink(path_of("bad/train-labels-idx1-ubyte"));

  /* gzip damage: a stream cut short, and garbage after a valid gzip magic. */
  make_idx(labels);
  write_file("bad/train-labels-idx1-ubyte.gz", labels_file, labels_size);
  FILE *file = fopen(path_of("bad/train-labels-idx1-ubyte.gz"), "rb");
  uint8_t compressed[256];
  size_t compressed_size = file ? fread(compressed, 1, sizeof compressed, file) : 0;
  if (file) fclose(file);
  /* Written as .raw so that write_file does not gzip the bytes again. */
  char damaged[512];
  snprintf(damaged, sizeof damaged, "%s", path_of("bad/train-labels-idx1-ubyte.gz"));
  write_file("bad/damaged.raw", compressed, compressed_size - 4); /* no length trailer */
  rename(path_of("bad/damaged.raw"), damaged);
  expect_failure(spec, "bad/train-labels-idx1-ubyte.gz: truncated: the gzip stream ends early",
                 NULL);
  memset(compressed + 10, 0xA5, compressed_size - 10);
  write_file("bad/damaged.raw", compressed, compressed_size);
  rename(path_of("bad/damaged.raw"), damaged);
  expect_failure(spec, "bad/train-labels-idx1-ubyte.gz: corrupt gzip data", NULL);
}

/* ---- CIFAR ---- */

enum { CIFAR_PIXELS = 3 * 32 * 32 };

static uint8_t cifar_pixel(int record, int i) { return (uint8_t)(record * 101 + i * 7 + i / 1024); }

/* `count` records numbered from `first`: the label is (first + r) % classes and a CIFAR-100
 * coarse label (first + r) % coarse. */
static void write_cifar(const char *relative, int first, int count, int label_bytes, int classes,
                        int coarse) {
  size_t record_size = (size_t)label_bytes + CIFAR_PIXELS;
  uint8_t *bytes = malloc(record_size * count);
  for (int r = 0; r < count; r++) {
    uint8_t *record = bytes + record_size * r;
    if (label_bytes == 2) record[0] = (uint8_t)((first + r) % coarse);
    record[label_bytes - 1] = (uint8_t)((first + r) % classes);
    for (int i = 0; i < CIFAR_PIXELS; i++)
      record[label_bytes + i] = cifar_pixel(first + r, i);
  }
  write_file(relative, bytes, record_size * count);
  free(bytes);
}

static int cifar_mismatches(const ipro_dataset *data, int first, int classes) {
  int wrong = 0;
  for (int r = 0; data->images && r < data->count; r++) {
    wrong += data->labels[r] != (first + r) % classes;
    for (int i = 0; i < CIFAR_PIXELS; i++)
      wrong += data->images[(size_t)r * CIFAR_PIXELS + i] != cifar_pixel(first + r, i);
  }
  return wrong;
}

static void test_cifar(void) {
  mkdir(path_of("c10"), 0700);
  for (int b = 1; b <= 5; b++) {
    char name[64];
    snprintf(name, sizeof name, "c10/data_batch_%d.bin%s", b, b % 2 ? "" : ".gz");
    write_cifar(name, (b - 1) * 3, 3, 1, 10, 0);
  }
  write_cifar("c10/test_batch.bin", 100, 2, 1, 10, 0);
  char spec[600];
  snprintf(spec, sizeof spec, "cifar10:%s", path_of("c10"));
  ipro_dataset data;
  CHECK_OK(ipro_dataset_open(spec, IPRO_SPLIT_TRAIN, &data, &err), &err);
  CHECK_EQ_INT(data.count, 15);
  CHECK(data.channels == 3 && data.height == 32 && data.width == 32 && data.num_classes == 10);
  CHECK_EQ_INT(cifar_mismatches(&data, 0, 10), 0);
  CHECK(data.mean[2] == 0.4465f && data.std[1] == 0.2435f);
  CHECK_EQ_INT(data.bytes, 15 * (CIFAR_PIXELS + 4)); /* a label's byte held as 4 */
  ipro_dataset_free(&data);
  CHECK_OK(ipro_dataset_open(spec, IPRO_SPLIT_TEST, &data, &err), &err);
  CHECK_EQ_INT(data.count, 2);
  CHECK_EQ_INT(cifar_mismatches(&data, 100, 10), 0);
  ipro_dataset_free(&data);

  /* CIFAR-100 in the archive's own folder under DIR; the fine (second) label byte is the class. */
  mkdir(path_of("c100"), 0700);
  mkdir(path_of("c100/cifar-100-binary"), 0700);
  write_cifar("c100/cifar-100-binary/train.bin.gz", 0, 130, 2, 100, 20);
  snprintf(spec, sizeof spec, "cifar100:%s", path_of("c100"));
  CHECK_OK(ipro_dataset_open(spec, IPRO_SPLIT_TRAIN, &data, &err), &err);
  CHECK_EQ_INT(data.count, 130);
  CHECK_EQ_INT(data.num_classes, 100);
  CHECK_EQ_INT(cifar_mismatches(&data, 0, 100), 0);
  CHECK(data.labels && data.labels[120] == 20); /* fine label, not the coarse 0 */
  ipro_dataset_free(&data);
  ipro_dataset loaded;
  CHECK(ipro_dataset_open(spec, IPRO_SPLIT_TEST, &loaded, &err) == IPRO_ERROR);
  CHECK_MSG(message_has("c100/test.bin.gz", "c100/cifar-100-binary/test.bin"),
            "'%s' does not list every place looked", err.message);

  /* Broken CIFAR files. */
  snprintf(spec, sizeof spec, "cifar10:%s", path_of("c10"));
  write_cifar("c10/data_batch_3.bin", 8, 3, 1, 20, 0); /* labels 8, 9, 10 */
  expect_failure(spec, "c10/data_batch_3.bin: label 10 of record 2 is outside 0..9", NULL);
  uint8_t record[1 + CIFAR_PIXELS + 100] = {0};
  write_file("c10/data_batch_3.bin", record, 1 + CIFAR_PIXELS + 100);
  expect_failure(spec, "c10/data_batch_3.bin: truncated", "record 1");
  write_file("c10/data_batch_3.bin", record, 0);
  expect_failure(spec, "c10/data_batch_3.bin: empty", NULL);
  unlink(path_of("c10/data_batch_3.bin"));
  expect_failure(spec, "data_batch_3.bin", "c10/cifar-10-batches-bin/data_batch_3.bin");
  snprintf(spec, sizeof spec, "cifar100:%s", path_of("c100"));
  write_cifar("c100/cifar-100-binary/train.bin.gz", 15, 10, 2, 100, 100); /* coarse 15..24 */
  expect_failure(spec, "train.bin.gz: coarse label 20 of record 5 is outside 0..19", NULL);
}

static void test_specs(void) {
  ipro_dataset_spec spec;
  CHECK_OK(ipro_dataset_parse_spec("fashion-mnist", &spec, &err), &err);
  CHECK(spec.kind == IPRO_DATASET_FASHION_MNIST &&
        !strcmp(spec.directory, IPRO_FASHION_MNIST_DEFAULT_DIR));
  CHECK_OK(ipro_dataset_parse_spec("cifar100:/data/c", &spec, &err), &err);
  CHECK(spec.kind == IPRO_DATASET_CIFAR100 && !strcmp(spec.directory, "/data/c"));
  CHECK(ipro_dataset_parse_spec("imagenet:/x", &spec, &err) == IPRO_ERROR);
  CHECK_MSG(message_has("unknown dataset name 'imagenet'", "cifar10:DIR"), "%s", err.message);
  CHECK(ipro_dataset_parse_spec("mnist", &spec, &err) == IPRO_ERROR);
  CHECK_MSG(message_has("mnist needs a directory", NULL), "%s", err.message);
  CHECK(ipro_dataset_parse_spec("cifar10:", &spec, &err) == IPRO_ERROR);
  CHECK(ipro_dataset_parse_spec("mnistx:/d", &spec, &err) == IPRO_ERROR);
  float mean[3], std[3];
  ipro_dataset_default_normalization(IPRO_DATASET_CIFAR100, mean, std);
  CHECK(mean[0] == 0.5071f && mean[1] == 0.4865f && mean[2] == 0.4409f);
  CHECK(std[0] == 0.2673f && std[1] == 0.2564f && std[2] == 0.2762f);
}

int main(void) {
  if (!mkdtemp(root)) return ipro_test_skip("cannot create a temporary directory");
  test_specs();
  test_idx();
  test_idx_errors();
  test_cifar();
  char command[600];
  snprintf(command, sizeof command, "rm -rf '%s'", root);
  if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
  return ipro_test_finish();
}
