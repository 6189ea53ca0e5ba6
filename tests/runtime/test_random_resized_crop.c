/* Random-resized-crop and flip for image folders (batch_loader.h, image_resample.h), against
 * oracles computed here without the code under test:
 *   - geometry: every box lies inside its image; a box that is not the fallback must come from
 *     some unrounded (width, height) within half a pixel of it whose area is 8%..100% of the
 *     image and whose aspect ratio is 3/4..4/3 (searched by brute force on a grid); a 2 x 100 and
 *     a 100 x 2 image can never fit a try, and give the analytic centre crop (3 x 2 at column 48,
 *     2 x 3 at row 48);
 *   - distribution: on a 1000 x 1000 image the accepted area fraction is at most 1/2 with the
 *     probability integrated here from the scale and log-ratio densities (0.532), flips happen
 *     half the time, and the top offset is uniform over its range (mean 1/2);
 *   - resampling: a box of the output's size is copied exactly, and a box twice the output's
 *     size is the [1 3 3 1]/8 filter (PIL's bilinear at scale 1/2) with the taps clamped to the box
 *     and renormalised, by brute force;
 *   - a flipped example is the exact mirror of the unflipped one for the same box;
 *   - reproducibility: batches depend only on (seed, epoch): the background thread and a
 *     synchronous loader agree byte for byte, an epoch started on a fresh loader equals the same
 *     epoch after others (what resuming relies on), and another seed gives other batches;
 *   - an uncropped image folder keeps a 28 x 28 PNG for a 28 x 28 model as it is (the IDX pixels),
 *     a 20 x 40 image for a 10 x 10 model at 12 x 24 (covering 8/7 of 10, ratio kept), and
 *     reports the bytes it holds; the loader refuses uncropped data without random-resized-crop
 *     and the other way round.
 * The image-folder part is skipped when Fashion-MNIST is missing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/batch_loader.h"
#include "runtime/image_resample.h"
#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"

/* Some unrounded (w*, h*) within half a pixel of (w, h) meets the area and ratio bounds. */
static bool box_explained(int w, int h, double area) {
  for (int i = 0; i <= 40; i++)
    for (int j = 0; j <= 40; j++) {
      double ws = w - 0.5 + i / 40.0, hs = h - 0.5 + j / 40.0;
      if (ws <= 0 || hs <= 0) continue;
      double a = ws * hs / area, r = ws / hs;
      if (a >= 0.08 - 1e-9 && a <= 1 + 1e-9 && r >= 0.75 - 1e-9 && r <= 4.0 / 3.0 + 1e-9)
        return true;
    }
  return false;
}

static void geometry(void) {
  static const int sizes[][2] = {{37, 37}, {37, 60}, {300, 40}, {40, 300}, {5, 5}, {3, 4}};
  int outside = 0, unexplained = 0, boxes = 0;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (uint64_t seed = 0; seed < 4; seed++)
      for (int64_t example = 0; example < 500; example++) {
        int height = sizes[s][0], width = sizes[s][1];
        ipro_crop_box b = ipro_batch_resized_crop_choice(seed, 7, example, height, width, true);
        boxes++;
        if (b.top < 0 || b.left < 0 || b.height < 1 || b.width < 1 || b.top + b.height > height ||
            b.left + b.width > width)
          outside++;
        else if (!b.fallback && !box_explained(b.width, b.height, (double)height * width))
          unexplained++;
      }
  CHECK_MSG(outside == 0, "%d of %d boxes leave their image", outside, boxes);
  CHECK_MSG(unexplained == 0, "%d of %d boxes have an area or ratio out of bounds", unexplained,
            boxes);

  int wrong = 0;
  for (int64_t example = 0; example < 200; example++) {
    ipro_crop_box wide = ipro_batch_resized_crop_choice(1, 0, example, 2, 100, false);
    ipro_crop_box tall = ipro_batch_resized_crop_choice(1, 0, example, 100, 2, false);
    wrong += !(wide.fallback && wide.top == 0 && wide.height == 2 && wide.width == 3 &&
               wide.left == 48 && !wide.flip);
    wrong += !(tall.fallback && tall.left == 0 && tall.width == 2 && tall.height == 3 &&
               tall.top == 48 && !tall.flip);
  }
  CHECK_MSG(wrong == 0, "%d fallback boxes differ from the analytic centre crop", wrong);
}

static void distribution(void) {
  enum { N = 4000 };
  int small = 0, flips = 0, fallbacks = 0, slack = 0;
  double position = 0;
  for (int64_t example = 0; example < N; example++) {
    ipro_crop_box b = ipro_batch_resized_crop_choice(11, 3, example, 1000, 1000, true);
    small += (double)b.height * b.width <= 0.5 * 1000 * 1000;
    flips += b.flip;
    fallbacks += b.fallback;
    if (b.height < 1000) position += (double)b.top / (1000 - b.height), slack++;
  }
  /* Accepted when scale s <= exp(-|log r|): density 1 for s < 3/4, -log(s)/log(4/3) above. */
  double above = (0.25 + 0.75 * log(0.75)) / log(4.0 / 3.0);
  double expected = (0.5 - 0.08) / (0.75 - 0.08 + above);
  double sd = sqrt(expected * (1 - expected) / N);
  CHECK_MSG(fabs((double)small / N - expected) < 4 * sd,
            "area fraction <= 1/2 in %.4f of boxes, expected %.4f", (double)small / N, expected);
  CHECK_MSG(fabs((double)flips / N - 0.5) < 4 * sqrt(0.25 / N), "%d flips of %d", flips, N);
  CHECK_MSG(fallbacks == 0, "%d fallbacks on a square image", fallbacks);
  CHECK_MSG(slack > N / 2 && fabs(position / slack - 0.5) < 4 * sqrt(1.0 / 12 / slack),
            "mean relative top offset %.4f over %d boxes", position / slack, slack);
}

static void resampling(void) {
  enum { H = 23, W = 31 };
  static uint8_t image[2 * H * W], out[2 * 8 * 10];
  for (int i = 0; i < 2 * H * W; i++)
    image[i] = (uint8_t)((i * 37 + (i / W) * 11) % 251);
  int wrong = 0;
  CHECK(ipro_image_resize_box(image, H, W, 2, 5, 7, 8, 10, 8, 10, out));
  for (int c = 0; c < 2; c++)
    for (int y = 0; y < 8; y++)
      for (int x = 0; x < 10; x++)
        wrong += out[(c * 8 + y) * 10 + x] != image[c * H * W + (5 + y) * W + 7 + x];
  CHECK_MSG(wrong == 0, "a box of the output's size is not copied exactly: %d pixels", wrong);
  CHECK(ipro_image_resize_box(image, H, W, 2, 3, 9, 16, 20, 8, 10, out));
  int worst = 0;
  for (int c = 0; c < 2; c++)
    for (int y = 0; y < 8; y++)
      for (int x = 0; x < 10; x++) {
        int want = ipro_test_halved(image + c * H * W, W, 3, 9, 16, 20, y, x);
        int have = out[(c * 8 + y) * 10 + x];
        if (abs(want - have) > worst) worst = abs(want - have);
      }
  CHECK_MSG(worst <= 1, "a box halved differs from [1 3 3 1]/8 by %d levels", worst);
}

/* An uncropped dataset of COUNT images of varied sizes, pixel values a function of position. */
enum { COUNT = 40, CHANNELS = 3, HEIGHT = 6, WIDTH = 8 };

static ipro_dataset make_uncropped(void) {
  ipro_dataset data = {.kind = IPRO_DATASET_IMAGEFOLDER,
                       .count = COUNT,
                       .channels = CHANNELS,
                       .height = HEIGHT,
                       .width = WIDTH,
                       .num_classes = 4};
  data.labels = malloc(sizeof *data.labels * COUNT);
  data.uncropped_offsets = malloc(sizeof(int64_t) * COUNT);
  data.uncropped_sizes = malloc(sizeof(int32_t) * 2 * COUNT);
  size_t total = 0;
  for (int i = 0; i < COUNT; i++) {
    data.uncropped_sizes[2 * i] = 7 + i % 5, data.uncropped_sizes[2 * i + 1] = 9 + (i * 3) % 7;
    data.uncropped_offsets[i] = (int64_t)total;
    total += (size_t)CHANNELS * data.uncropped_sizes[2 * i] * data.uncropped_sizes[2 * i + 1];
    data.labels[i] = i % 4;
  }
  data.uncropped_pixels = malloc(total);
  for (size_t p = 0; p < total; p++)
    data.uncropped_pixels[p] = (uint8_t)((p * 29 + p / 7) % 256);
  for (int c = 0; c < CHANNELS; c++)
    data.mean[c] = 0.5f, data.std[c] = 0.25f;
  return data;
}

static void flip_is_mirror(const ipro_dataset *data) {
  ipro_pixel_table table;
  ipro_batch_pixel_table(data, &table);
  static uint8_t scratch[CHANNELS * HEIGHT * WIDTH];
  static float plain[CHANNELS * HEIGHT * WIDTH], mirrored[CHANNELS * HEIGHT * WIDTH];
  int wrong = 0;
  for (int64_t example = 0; example < COUNT; example++) {
    ipro_crop_box box =
        ipro_batch_resized_crop_choice(5, 0, example, data->uncropped_sizes[2 * example],
                                       data->uncropped_sizes[2 * example + 1], true);
    box.flip = false;
    CHECK(ipro_batch_fill_resized_crop(data, example, box, &table, scratch, plain));
    box.flip = true;
    CHECK(ipro_batch_fill_resized_crop(data, example, box, &table, scratch, mirrored));
    for (int c = 0; c < CHANNELS; c++)
      for (int y = 0; y < HEIGHT; y++)
        for (int x = 0; x < WIDTH; x++)
          wrong += mirrored[(c * HEIGHT + y) * WIDTH + x] !=
                   plain[(c * HEIGHT + y) * WIDTH + WIDTH - 1 - x];
  }
  CHECK_MSG(wrong == 0, "%d flipped values are not the mirror's", wrong);
}

/* Every batch of one epoch, concatenated. */
static float *epoch_images(ipro_batch_loader *loader, int64_t epoch, size_t *floats) {
  ipro_error err = {{0}};
  CHECK_OK(ipro_batch_loader_start_epoch(loader, epoch, &err), &err);
  size_t per = (size_t)CHANNELS * HEIGHT * WIDTH, used = 0;
  float *all = calloc((size_t)COUNT * per, sizeof(float));
  const ipro_batch *batch = NULL;
  while (all && ipro_batch_loader_next(loader, &batch, &err) == IPRO_OK && batch) {
    memcpy(all + used, batch->images, (size_t)batch->count * per * sizeof(float));
    used += (size_t)batch->count * per;
  }
  *floats = used;
  return all;
}

static void reproducible(const ipro_dataset *data) {
  ipro_batch_options options = {.batch_size = 8,
                                .seed = 9,
                                .shuffle = true,
                                .flip = true,
                                .random_resized_crop = true,
                                .background = true};
  ipro_batch_loader *threaded = NULL, *fresh = NULL, *other = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_batch_loader_create(data, &options, &threaded, &err), &err);
  options.background = false;
  CHECK_OK(ipro_batch_loader_create(data, &options, &fresh, &err), &err);
  options.seed = 10;
  CHECK_OK(ipro_batch_loader_create(data, &options, &other, &err), &err);
  if (!threaded || !fresh || !other) return;
  size_t n0 = 0, n1 = 0, n2 = 0, n3 = 0;
  float *first = epoch_images(threaded, 0, &n0);
  float *second = epoch_images(threaded, 1, &n1);
  float *second_fresh = epoch_images(fresh, 1, &n2);
  float *second_other = epoch_images(other, 1, &n3);
  size_t bytes = n1 * sizeof(float);
  CHECK_MSG(n1 == (size_t)COUNT * CHANNELS * HEIGHT * WIDTH && n2 == n1 && n3 == n1,
            "epochs hold %zu, %zu, %zu floats", n1, n2, n3);
  CHECK_MSG(n1 == n2 && !memcmp(second, second_fresh, bytes),
            "epoch 1 after epoch 0 on the worker differs from epoch 1 of a fresh synchronous "
            "loader");
  CHECK_MSG(n0 == n1 && memcmp(first, second, bytes), "epochs 0 and 1 are the same");
  CHECK_MSG(n3 == n1 && memcmp(second, second_other, bytes), "seeds 9 and 10 give the same epoch");
  int64_t made = 0;
  double seconds = 0;
  ipro_batch_loader_work(threaded, &made, &seconds);
  CHECK_MSG(made == 2 * COUNT && seconds > 0, "the loader says it made %lld examples in %g s",
            (long long)made, seconds);
  free(first), free(second), free(second_fresh), free(second_other);
  ipro_batch_loader_destroy(threaded);
  ipro_batch_loader_destroy(fresh);
  ipro_batch_loader_destroy(other);

  options.random_resized_crop = false;
  ipro_batch_loader *refused = NULL;
  ipro_status status = ipro_batch_loader_create(data, &options, &refused, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "uncropped"),
            "uncropped data without random-resized-crop: %s", status ? err.message : "accepted");
}

/* Through the image-folder reader: kept sizes and pixels, and the bytes reported; false when it
 * could not run (no Fashion-MNIST to make the folder from). */
static bool uncropped_folder(void) {
  ipro_dataset all, some;
  ipro_error err = {{0}};
  if (ipro_dataset_open("fashion-mnist", IPRO_SPLIT_TEST, &all, &err) != IPRO_OK) return false;
  char directory[] = "/tmp/ipro_test_random_resized_crop_XXXXXX";
  CHECK(mkdtemp(directory) != NULL);
  CHECK(ipro_test_sorted_by_label(&all, 30, &some));
  CHECK(ipro_test_write_image_folder(directory, "train", &some));
  char wide[700];
  snprintf(wide, sizeof wide, "%s/train/c0/wide.png", directory);
  static uint8_t pixels[20 * 40];
  for (int i = 0; i < 20 * 40; i++)
    pixels[i] = (uint8_t)(i * 7);
  CHECK(ipro_test_write_png(wide, 40, 20, 1, pixels));

  ipro_dataset_spec spec = {.kind = IPRO_DATASET_IMAGEFOLDER,
                            .channels = 1,
                            .height = 28,
                            .width = 28,
                            .uncropped = true};
  snprintf(spec.directory, sizeof spec.directory, "%s", directory);
  ipro_dataset got;
  CHECK_OK(ipro_dataset_load(&spec, IPRO_SPLIT_TRAIN, &got, &err), &err);
  /* c0's images (NNNNN.png) sort before wide.png, which is kept at 20 x 40 (it covers 32 x 32). */
  int64_t zeros = 0;
  while (zeros < some.count && some.labels[zeros] == 0)
    zeros++;
  int wrong = 0;
  size_t pixel_bytes = 0;
  for (int64_t i = 0; i < got.count; i++) {
    int h = got.uncropped_sizes[2 * i], w = got.uncropped_sizes[2 * i + 1];
    pixel_bytes += (size_t)h * w;
    int64_t from = i < zeros ? i : i - 1; /* the IDX example this one is */
    if (i == zeros)
      wrong += h != 20 || w != 40 ||
               memcmp(got.uncropped_pixels + got.uncropped_offsets[i], pixels, sizeof pixels);
    else
      wrong += h != 28 || w != 28 ||
               memcmp(got.uncropped_pixels + got.uncropped_offsets[i],
                      some.images + (size_t)from * 784, 784);
  }
  CHECK_MSG(got.count == 31 && zeros > 0 && wrong == 0,
            "%d of %lld uncropped images differ from their files", wrong, (long long)got.count);
  /* each image's offset (8 bytes), height and width (4 each) and label (4) besides its pixels */
  CHECK_MSG(got.images == NULL && got.bytes == pixel_bytes + (size_t)got.count * 20,
            "an uncropped split reports %zu bytes for %zu bytes of pixels", got.bytes, pixel_bytes);
  ipro_dataset_free(&got);

  spec.height = spec.width = 10;
  CHECK_OK(ipro_dataset_load(&spec, IPRO_SPLIT_TRAIN, &got, &err), &err);
  const int32_t *kept = got.uncropped_sizes;
  CHECK_MSG(got.count == 31 && kept[2 * zeros] == 12 && kept[2 * zeros + 1] == 24 &&
                kept[0] == 12 && kept[1] == 12,
            "for a 10 x 10 model a 20 x 40 image is kept at %d x %d, a 28 x 28 one at %d x %d",
            kept[2 * zeros], kept[2 * zeros + 1], kept[0], kept[1]);
  ipro_dataset_free(&got);
  ipro_dataset_free(&some);
  ipro_dataset_free(&all);
  ipro_test_remove_directory(directory);
  return true;
}

int main(void) {
  geometry();
  distribution();
  resampling();
  ipro_dataset data = make_uncropped();
  flip_is_mirror(&data);
  reproducible(&data);
  ipro_dataset_free(&data);
  /* the other parts ran; a part that could not run makes the whole test a skip, not a pass */
  if (!uncropped_folder() && ipro_test_failed == 0)
    return ipro_test_skip("the image-folder part: Fashion-MNIST not installed");
  return ipro_test_finish();
}
