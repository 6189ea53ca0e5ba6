/* `imagefolder:DIR` datasets, with the IDX reader and brute-force formulas as oracles:
 *   - 200 training and 100 test Fashion-MNIST images written as PNG class folders
 *     (tests/support/user_data.c) load, at the images' own 28x28 size, to exactly the IDX pixels
 *     and labels in the folders' order, with classes named and numbered by sorted folder name;
 *   - grey made RGB repeats the grey value in each channel; an RGB PNG made grey is BT.601 luma
 *     computed here per pixel; a 28x28 image fitted to 14x14 is the [1 3 3 1]/8 filter (PIL's
 *     bilinear at scale 1/2) applied by brute force; a 20x40 image fitted to 10x10 is resized to
 *     10x20 and its centre columns kept;
 *   - a grey JPEG written at quality 100 with libjpeg decodes to within 3 levels of its pixels;
 *   - a corrupt and a truncated PNG are skipped and named (the rest still loads), or fail the load
 *     under strict; an empty class folder, a class folder (train or val) none of whose images
 *     decodes, and a val class unknown to train are one error each;
 *   - a folder holding only val/ loads its val split with val's own classes.
 * Skipped when Fashion-MNIST is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* after stdio.h, which it needs */
#include <jpeglib.h>

#include "runtime/dataset.h"
#include "runtime/image_decode.h"
#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"

static char directory[] = "/tmp/ipro_test_imagefolder_XXXXXX";
static ipro_dataset train, test;

static ipro_status load(ipro_dataset_split split, int channels, int size, bool strict,
                        ipro_dataset *out, ipro_error *err) {
  ipro_dataset_spec spec = {.kind = IPRO_DATASET_IMAGEFOLDER,
                            .channels = channels,
                            .height = size,
                            .width = size,
                            .strict = strict};
  snprintf(spec.directory, sizeof spec.directory, "%s", directory);
  return ipro_dataset_load(&spec, split, out, err);
}

static void same_as_idx(void) {
  ipro_dataset got;
  ipro_error err = {{0}};
  const ipro_dataset *oracles[2] = {&train, &test};
  for (int s = 0; s < 2; s++) {
    CHECK_OK(load(s ? IPRO_SPLIT_TEST : IPRO_SPLIT_TRAIN, 1, 28, false, &got, &err), &err);
    if (!got.images) continue;
    const ipro_dataset *oracle = oracles[s];
    CHECK_EQ_INT(got.count, oracle->count);
    CHECK_EQ_INT(got.num_classes, 10);
    CHECK_EQ_INT(got.skipped, 0);
    CHECK_MSG(got.count == oracle->count &&
                  !memcmp(got.images, oracle->images, (size_t)got.count * 784) &&
                  !memcmp(got.labels, oracle->labels, sizeof *got.labels * (size_t)got.count),
              "split %d: pixels or labels differ from the IDX files", s);
    CHECK(got.class_names && !strcmp(got.class_names[0], "c0") &&
          !strcmp(got.class_names[9], "c9"));
    ipro_dataset_free(&got);
  }
  /* grey -> RGB */
  CHECK_OK(load(IPRO_SPLIT_TEST, 3, 28, false, &got, &err), &err);
  bool replicated = got.images && got.channels == 3;
  for (int64_t i = 0; replicated && i < got.count; i++)
    for (int c = 0; c < 3; c++)
      replicated &= !memcmp(got.images + ((size_t)i * 3 + (size_t)c) * 784,
                            test.images + (size_t)i * 784, 784);
  CHECK_MSG(replicated, "grey images made RGB do not repeat the grey value");
  ipro_dataset_free(&got);
  /* 28 -> 14 */
  CHECK_OK(load(IPRO_SPLIT_TEST, 1, 14, false, &got, &err), &err);
  int worst = 0;
  for (int64_t i = 0; got.images && i < got.count; i++)
    for (int y = 0; y < 14; y++)
      for (int x = 0; x < 14; x++) {
        int want = ipro_test_halved(test.images + (size_t)i * 784, 28, 0, 0, 28, 28, y, x),
            have = got.images[(size_t)i * 196 + (size_t)y * 14 + (size_t)x];
        if (abs(want - have) > worst) worst = abs(want - have);
      }
  CHECK_MSG(got.images && worst <= 1, "28->14 resize differs from [1 3 3 1]/8 by %d levels", worst);
  ipro_dataset_free(&got);
}

/* A PNG written byte by byte here (zlib for the image data and the CRCs), not by libpng, whose
 * reader is under test: signature, IHDR of the given bit depth and colour type, one IDAT of
 * `height` rows of row_bytes (each after filter byte 0), IEND; no gAMA or sRGB chunk, as most
 * tools' 16-bit and alpha PNGs come. */
static bool write_raw_png(const char *path, int width, int height, int depth, int colour_type,
                          const uint8_t *row, size_t row_bytes) {
  size_t raw_size = (size_t)height * (row_bytes + 1);
  uLongf packed_size = compressBound(raw_size);
  uint8_t *raw = calloc(raw_size, 1), *packed = malloc(packed_size);
  bool ok = raw && packed;
  for (int y = 0; ok && y < height; y++)
    memcpy(raw + (size_t)y * (row_bytes + 1) + 1, row, row_bytes);
  ok = ok && compress(packed, &packed_size, raw, raw_size) == Z_OK;
  FILE *file = ok ? fopen(path, "wb") : NULL;
  if (file) {
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, file);
    uint8_t header[13] = {(uint8_t)(width >> 24),
                          (uint8_t)(width >> 16),
                          (uint8_t)(width >> 8),
                          (uint8_t)width,
                          (uint8_t)(height >> 24),
                          (uint8_t)(height >> 16),
                          (uint8_t)(height >> 8),
                          (uint8_t)height,
                          (uint8_t)depth,
                          (uint8_t)colour_type,
                          0,
                          0,
                          0};
    const struct {
      const char *type;
      const uint8_t *data;
      size_t size;
    } chunks[3] = {
        {"IHDR", header, sizeof header}, {"IDAT", packed, packed_size}, {"IEND", NULL, 0}};
    for (int c = 0; c < 3; c++) {
      uint8_t size[4] = {(uint8_t)(chunks[c].size >> 24), (uint8_t)(chunks[c].size >> 16),
                         (uint8_t)(chunks[c].size >> 8), (uint8_t)chunks[c].size};
      uLong crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)chunks[c].type, 4);
      if (chunks[c].size) crc = crc32(crc, chunks[c].data, (uInt)chunks[c].size);
      uint8_t crc_bytes[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
                              (uint8_t)crc};
      fwrite(size, 1, 4, file);
      fwrite(chunks[c].type, 1, 4, file);
      if (chunks[c].size) fwrite(chunks[c].data, 1, chunks[c].size, file);
      fwrite(crc_bytes, 1, 4, file);
    }
    ok = fclose(file) == 0;
  }
  free(raw), free(packed);
  return ok && file;
}

/* 16-bit samples and alpha read as PIL's convert and torchvision's read_image read them: a 16-bit
 * grey 0x8080 is 128 (libpng's simplified API took it as linear light and made it 186), and alpha
 * is dropped, not composited onto black (a grey 200 at alpha 128 was 146, an RGB pixel at alpha 0
 * was black). */
static void depth_and_alpha(void) {
  char path[700];
  ipro_error err = {{0}};
  uint8_t row[8 * 4], got[8 * 8 * 3];
  for (int x = 0; x < 8; x++)
    row[2 * x] = 0x80, row[2 * x + 1] = 0x80;
  snprintf(path, sizeof path, "%s/grey16.png", directory);
  CHECK(write_raw_png(path, 8, 8, 16, 0, row, 16));
  CHECK_OK(ipro_image_decode(path, 1, 8, 8, got, &err), &err);
  CHECK_MSG(got[0] == 128 && got[63] == 128, "16-bit grey 0x8080 read as %d", got[0]);
  for (int x = 0; x < 8; x++)
    row[2 * x] = 200, row[2 * x + 1] = 128;
  snprintf(path, sizeof path, "%s/grey_alpha.png", directory);
  CHECK(write_raw_png(path, 8, 8, 8, 4, row, 16));
  CHECK_OK(ipro_image_decode(path, 1, 8, 8, got, &err), &err);
  CHECK_MSG(got[0] == 200 && got[63] == 200, "grey 200 at alpha 128 read as %d", got[0]);
  for (int x = 0; x < 8; x++)
    row[4 * x] = 10, row[4 * x + 1] = 200, row[4 * x + 2] = 90, row[4 * x + 3] = 0;
  snprintf(path, sizeof path, "%s/rgba.png", directory);
  CHECK(write_raw_png(path, 8, 8, 8, 6, row, 32));
  CHECK_OK(ipro_image_decode(path, 3, 8, 8, got, &err), &err);
  /* CHW: the red plane, then the green, then the blue */
  CHECK_MSG(got[0] == 10 && got[64] == 200 && got[128] == 90 && got[63] == 10,
            "RGB (10, 200, 90) at alpha 0 read as (%d, %d, %d)", got[0], got[64], got[128]);
}

static void colour_and_crop(void) {
  char path[700];
  snprintf(path, sizeof path, "%s/rgb.png", directory);
  uint8_t rgb[20 * 40 * 3], grey[400], oracle[400];
  for (int p = 0; p < 20 * 40; p++)
    for (int c = 0; c < 3; c++)
      rgb[p * 3 + c] = (uint8_t)((p * 7 + c * 91 + (p / 40) * 13) % 256);
  CHECK(ipro_test_write_png(path, 40, 20, 3, rgb));
  ipro_error err = {{0}};
  /* 20x40 -> 10x10: resized to 10x20 (each output pixel the [1 3 3 1]/8 filter), columns 5..14. */
  CHECK_OK(ipro_image_decode(path, 1, 10, 10, grey, &err), &err);
  uint8_t luma[20 * 40];
  for (int p = 0; p < 20 * 40; p++)
    luma[p] =
        (uint8_t)((19595 * rgb[p * 3] + 38470 * rgb[p * 3 + 1] + 7471 * rgb[p * 3 + 2] + 32768) >>
                  16); /* Pillow's (runtime.test_image_as_pillow) */
  int worst = 0;
  for (int y = 0; y < 10; y++)
    for (int x = 0; x < 10; x++) {
      oracle[y * 10 + x] = (uint8_t)ipro_test_halved(luma, 40, 0, 0, 20, 40, y, x + 5);
      int d = abs(oracle[y * 10 + x] - grey[y * 10 + x]);
      if (d > worst) worst = d;
    }
  CHECK_MSG(worst <= 1, "RGB 20x40 fitted to grey 10x10 differs from luma + filter by %d", worst);
}

static void jpeg(void) {
  char path[700];
  snprintf(path, sizeof path, "%s/grey.jpg", directory);
  FILE *file = fopen(path, "wb");
  if (!file) {
    CHECK_MSG(false, "cannot write %s", path);
    return;
  }
  struct jpeg_compress_struct info;
  struct jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  jpeg_stdio_dest(&info, file);
  info.image_width = 28, info.image_height = 28, info.input_components = 1;
  info.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 100, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < 28) {
    JSAMPROW row = test.images + info.next_scanline * 28;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  fclose(file);
  uint8_t got[784];
  ipro_error err = {{0}};
  CHECK_OK(ipro_image_decode(path, 1, 28, 28, got, &err), &err);
  int worst = 0;
  for (int p = 0; p < 784; p++)
    if (abs(got[p] - test.images[p]) > worst) worst = abs(got[p] - test.images[p]);
  CHECK_MSG(worst <= 3, "quality-100 JPEG decodes %d levels away from its pixels", worst);
}

static void write_bytes(const char *path, const void *bytes, size_t length) {
  FILE *file = fopen(path, "wb");
  if (file) {
    fwrite(bytes, 1, length, file);
    fclose(file);
  }
}

static void broken_images(void) {
  char bad[700], cut[700], source[700];
  snprintf(bad, sizeof bad, "%s/train/c3/zz_bad.png", directory);
  snprintf(cut, sizeof cut, "%s/train/c3/zz_cut.png", directory);
  write_bytes(bad, "\x89PNG\r\n\x1a\nthis is not a png", 25);
  snprintf(source, sizeof source, "%s/rgb.png", directory);
  uint8_t bytes[4096];
  FILE *in = fopen(source, "rb");
  size_t length = in ? fread(bytes, 1, sizeof bytes, in) : 0;
  if (in) fclose(in);
  write_bytes(cut, bytes, length * 2 / 3);

  ipro_dataset got;
  ipro_error err = {{0}};
  CHECK_OK(load(IPRO_SPLIT_TRAIN, 1, 28, false, &got, &err), &err);
  CHECK_EQ_INT(got.count, train.count);
  CHECK_EQ_INT(got.skipped, 2);
  CHECK_MSG(got.skipped == 2 && strstr(got.skipped_paths[0], "zz_bad.png") &&
                strstr(got.skipped_paths[1], "zz_cut.png"),
            "skipped images not named");
  CHECK_MSG(got.images && !memcmp(got.images, train.images, (size_t)train.count * 784),
            "the readable images changed when broken ones were skipped");
  ipro_dataset_free(&got);
  ipro_status status = load(IPRO_SPLIT_TRAIN, 1, 28, true, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "zz_bad.png") &&
                strstr(err.message, "strict"),
            "strict load: %s", status ? err.message : "succeeded");
  unlink(bad);
  unlink(cut);
}

static void folder_errors(void) {
  char path[700];
  ipro_dataset got;
  ipro_error err = {{0}};
  snprintf(path, sizeof path, "%s/train/c99", directory);
  mkdir(path, 0755);
  ipro_status status = load(IPRO_SPLIT_TRAIN, 1, 28, false, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "c99") && strstr(err.message, "no .png"),
            "empty class folder: %s", status ? err.message : "accepted");
  rmdir(path);
  snprintf(path, sizeof path, "%s/val/unknown", directory);
  mkdir(path, 0755);
  char image[760];
  snprintf(image, sizeof image, "%s/a.png", path);
  CHECK(ipro_test_write_png(image, 28, 28, 1, test.images));
  status = load(IPRO_SPLIT_TEST, 1, 28, false, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "'unknown'") &&
                strstr(err.message, "not a class of the training folder"),
            "unknown val class: %s", status ? err.message : "accepted");
  unlink(image);
  rmdir(path);
}

/* A class folder holding only images that cannot be decoded, in train (c98, two junk files) and
 * then in val (c98 given one good training image): each split's load fails naming the folder and
 * its file count, where before the class was left without an example and the load went on. */
static void undecodable_class(void) {
  char train_class[700], val_class[700], files[4][760];
  snprintf(train_class, sizeof train_class, "%s/train/c98", directory);
  snprintf(val_class, sizeof val_class, "%s/val/c98", directory);
  snprintf(files[0], sizeof files[0], "%s/a.png", train_class);
  snprintf(files[1], sizeof files[1], "%s/b.jpg", train_class);
  snprintf(files[2], sizeof files[2], "%s/a.png", val_class);
  snprintf(files[3], sizeof files[3], "%s/b.png", val_class);
  mkdir(train_class, 0755);
  mkdir(val_class, 0755);
  write_bytes(files[0], "not a png", 9);
  write_bytes(files[1], "not a jpeg", 10);
  ipro_dataset got;
  ipro_error err = {{0}};
  ipro_status status = load(IPRO_SPLIT_TRAIN, 1, 28, false, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "/train/c98:") &&
                strstr(err.message, "none of its 2 image files could be read"),
            "a train class of unreadable images: %s", status ? err.message : "accepted");
  unlink(files[1]);
  CHECK(ipro_test_write_png(files[0], 28, 28, 1, train.images));
  write_bytes(files[2], "not a png", 9);
  write_bytes(files[3], "not a png", 9);
  status = load(IPRO_SPLIT_TEST, 1, 28, false, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "/val/c98:") &&
                strstr(err.message, "none of its 2 image files could be read"),
            "a val class of unreadable images: %s", status ? err.message : "accepted");
  for (int i = 0; i < 4; i++)
    unlink(files[i]);
  rmdir(train_class);
  rmdir(val_class);
}

/* A folder holding only val/ (made for evaluation): its val split loads, with the classes taken
 * from val's own folders, to the same pixels and labels as beside a train folder; its train
 * split is still an error naming the missing train folder. */
static void val_only(void) {
  char root[700];
  snprintf(root, sizeof root, "%s/val_only", directory);
  CHECK(ipro_test_write_image_folder(root, "val", &test));
  ipro_dataset_spec spec = {
      .kind = IPRO_DATASET_IMAGEFOLDER, .channels = 1, .height = 28, .width = 28};
  snprintf(spec.directory, sizeof spec.directory, "%s", root);
  ipro_dataset got;
  ipro_error err = {{0}};
  ipro_status status = ipro_dataset_load(&spec, IPRO_SPLIT_TEST, &got, &err);
  CHECK_MSG(status == IPRO_OK, "the val split of a folder without train: %s", err.message);
  if (status == IPRO_OK) {
    CHECK_EQ_INT(got.count, test.count);
    CHECK_EQ_INT(got.num_classes, 10);
    CHECK_MSG(!memcmp(got.labels, test.labels, sizeof *got.labels * (size_t)test.count) &&
                  !memcmp(got.images, test.images, (size_t)test.count * 784),
              "the val-only folder loaded other labels or pixels");
    ipro_dataset_free(&got);
  }
  status = ipro_dataset_load(&spec, IPRO_SPLIT_TRAIN, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "val_only/train"),
            "the train split of a folder without train: %s", status ? err.message : "accepted");
}

int main(void) {
  ipro_dataset all_train, all_test;
  ipro_error err = {{0}};
  if (ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TRAIN, &all_train, &err) != IPRO_OK ||
      ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TEST, &all_test, &err) != IPRO_OK)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  CHECK(ipro_test_sorted_by_label(&all_train, 200, &train));
  CHECK(ipro_test_sorted_by_label(&all_test, 100, &test));
  ipro_dataset_free(&all_train);
  ipro_dataset_free(&all_test);
  CHECK(ipro_test_write_image_folder(directory, "train", &train));
  CHECK(ipro_test_write_image_folder(directory, "val", &test));
  same_as_idx();
  colour_and_crop();
  depth_and_alpha();
  jpeg();
  broken_images();
  folder_errors();
  undecodable_class();
  val_only();
  ipro_dataset_free(&train);
  ipro_dataset_free(&test);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
