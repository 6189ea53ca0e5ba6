/* The batch loader (batch_loader.h), on a synthetic dataset whose pixels are a known function of
 * (example, channel, row, column) and whose first pixel is the example's own number.
 *
 * Checked against independent facts: an epoch's order is a permutation, the same for the same
 * (seed, epoch) and different across epochs, and each element lands in each position about
 * equally often; a normalised pixel equals (x/255 - mean)/std computed here in double; a forced
 * crop is the image shifted with (0 - mean)/std in the border, a forced flip is the exact mirror;
 * batches made on the background thread (two slots, or one released by a caller that copied its
 * batch) and in the caller's memory are byte-identical to a synchronous run's; a failure in a batch
 * surfaces at that batch on both paths; and bad options are refused with a message. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/batch_loader.h"
#include "runtime/counting_allocator.h"
#include "support/check.h"

enum { COUNT = 103, CHANNELS = 3, HEIGHT = 5, WIDTH = 7, PLANE = HEIGHT * WIDTH };
enum { FLOATS = CHANNELS * PLANE };

/* Two loaders' difference as the process's allocator saw them made (runtime/counting_allocator.h,
 * which reads nothing of the loader's own count): the bytes one holds fewer, within a few blocks'
 * rounding. */
static void check_allocator_difference(const char *what, int64_t measured, int64_t expected) {
  if (!ipro_counting_allocator_start()) {
    printf("not checked: %s in the allocator's bytes (this build's allocator does not count)\n",
           what);
    return;
  }
  CHECK_MSG(measured >= expected - 512 && measured <= expected + 512,
            "%s: the allocator saw %lld bytes fewer held, the loader says %lld", what,
            (long long)measured, (long long)expected);
}

static uint8_t pixel_of(int64_t i, int c, int y, int x) {
  return (c | y | x) ? (uint8_t)(i * 13 + c * 71 + y * 17 + x * 5 + 1) : (uint8_t)i;
}

static ipro_dataset make_dataset(void) {
  ipro_dataset data = {.kind = IPRO_DATASET_CIFAR10,
                       .count = COUNT,
                       .channels = CHANNELS,
                       .height = HEIGHT,
                       .width = WIDTH,
                       .num_classes = 10};
  data.images = malloc((size_t)COUNT * FLOATS);
  data.labels = malloc(sizeof *data.labels * COUNT);
  for (int64_t i = 0; i < COUNT; i++) {
    data.labels[i] = (int32_t)(i % 10);
    for (int c = 0; c < CHANNELS; c++)
      for (int y = 0; y < HEIGHT; y++)
        for (int x = 0; x < WIDTH; x++)
          data.images[i * FLOATS + c * PLANE + y * WIDTH + x] = pixel_of(i, c, y, x);
  }
  ipro_dataset_default_normalization(data.kind, data.mean, data.std);
  return data;
}

/* The example a batch image came from, read back from its first pixel under mean 0, std 1. */
static int64_t example_of(const float *image) { return lround(image[0] * 255.0); }

static void test_shuffle(void) {
  enum { N = 1000 };
  static int64_t a[N], b[N], c[N], d[N];
  ipro_batch_shuffle(42, 0, N, a);
  ipro_batch_shuffle(42, 0, N, b);
  ipro_batch_shuffle(42, 1, N, c);
  ipro_batch_shuffle(43, 0, N, d);
  static int seen[N];
  int out_of_range = 0, fixed = 0;
  for (int i = 0; i < N; i++) {
    if (a[i] < 0 || a[i] >= N)
      out_of_range++;
    else
      seen[a[i]]++;
    fixed += a[i] == i;
  }
  int not_once = 0;
  for (int i = 0; i < N; i++)
    not_once += seen[i] != 1;
  CHECK_EQ_INT(out_of_range, 0);
  CHECK_EQ_INT(not_once, 0);
  CHECK_MSG(fixed < 10, "%d of %d elements stayed in place", fixed, N);
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(memcmp(a, c, sizeof a) != 0);
  CHECK(memcmp(a, d, sizeof a) != 0);
  int64_t one = -1;
  ipro_batch_shuffle(42, 0, 1, &one);
  CHECK_EQ_INT(one, 0);

  /* Uniformity: over 4000 epochs of 4 elements each element lands in each position ~1000 times
   * (standard deviation ~27); a biased Fisher-Yates (drawing from [0, i) or [0, n)) fails this. */
  enum { EPOCHS = 4000, SMALL = 4 };
  int positions[SMALL][SMALL] = {{0}};
  for (int e = 0; e < EPOCHS; e++) {
    int64_t order[SMALL];
    ipro_batch_shuffle(7, e, SMALL, order);
    for (int p = 0; p < SMALL; p++)
      positions[order[p]][p]++;
  }
  for (int element = 0; element < SMALL; element++)
    for (int p = 0; p < SMALL; p++)
      CHECK_MSG(positions[element][p] > 850 && positions[element][p] < 1150,
                "element %d at position %d %d times of %d", element, p, positions[element][p],
                EPOCHS);
}

static void test_normalization(ipro_dataset *data) {
  int far = 0;
  for (int c = 0; c < CHANNELS; c++)
    for (int x = 0; x < 256; x++) {
      double expected = (x / 255.0 - data->mean[c]) / data->std[c];
      far += !(fabs(ipro_dataset_normalize_pixel(data, c, (uint8_t)x) - expected) <= 1e-6);
    }
  CHECK_EQ_INT(far, 0);
  CHECK(fabs(ipro_dataset_normalize_pixel(data, 0, 255) - (1 - 0.4914) / 0.2470) < 1e-6);
  CHECK(fabs(ipro_dataset_normalize_pixel(data, 2, 0) - (0 - 0.4465) / 0.2616) < 1e-6);

  ipro_error err;
  float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.25f, 0.25f, 0.0f};
  CHECK(ipro_dataset_set_normalization(data, mean, std, 1, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "1 mean/std values given for 3 channels"), "%s", err.message);
  CHECK(ipro_dataset_set_normalization(data, mean, std, 3, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "channel 2"), "%s", err.message);
  std[2] = 0.25f;
  CHECK_OK(ipro_dataset_set_normalization(data, mean, std, 3, &err), &err);
  CHECK(ipro_dataset_normalize_pixel(data, 1, 255) == 2.0f);
  CHECK(ipro_dataset_normalize_pixel(data, 1, 0) == -2.0f);
}

/* Runs one epoch, checking each batch's shape and returning the examples in order. */
static int64_t run_epoch(ipro_batch_loader *loader, int64_t epoch, int64_t *examples,
                         int64_t *last_count) {
  ipro_error err;
  CHECK_OK(ipro_batch_loader_start_epoch(loader, epoch, &err), &err);
  const ipro_batch *batch;
  int64_t seen = 0, batches = 0;
  while (ipro_batch_loader_next(loader, &batch, &err) == IPRO_OK && batch) {
    CHECK_EQ_INT(batch->index, batches);
    CHECK_EQ_INT(batch->epoch, epoch);
    for (int64_t i = 0; i < batch->count; i++) {
      examples[seen] = example_of(batch->images + i * FLOATS);
      CHECK_EQ_INT(batch->labels[i], examples[seen] % 10);
      seen++;
    }
    *last_count = batch->count;
    batches++;
  }
  CHECK_EQ_INT(batches, ipro_batch_loader_batches_per_epoch(loader));
  return seen;
}

static void test_orders(const ipro_dataset *data) {
  ipro_error err;
  ipro_batch_loader *loader;
  int64_t examples[COUNT], order[COUNT], last;

  /* Dataset order, last partial batch kept; every value the normalisation formula. */
  ipro_batch_options plain = {.batch_size = 10};
  CHECK_OK(ipro_batch_loader_create(data, &plain, &loader, &err), &err);
  CHECK_EQ_INT(ipro_batch_loader_batches_per_epoch(loader), 11);
  CHECK_EQ_INT(run_epoch(loader, 0, examples, &last), COUNT);
  CHECK_EQ_INT(last, 3);
  int misplaced = 0;
  for (int64_t i = 0; i < COUNT; i++)
    misplaced += examples[i] != i;
  CHECK_EQ_INT(misplaced, 0);
  ipro_batch_loader_destroy(loader);

  /* Shuffled: the order ipro_batch_shuffle gives, the same when resuming, new each epoch. */
  ipro_batch_options shuffled = {.batch_size = 10, .shuffle = true, .seed = 99, .drop_last = true};
  CHECK_OK(ipro_batch_loader_create(data, &shuffled, &loader, &err), &err);
  CHECK_EQ_INT(ipro_batch_loader_batches_per_epoch(loader), 10);
  int64_t epoch0[COUNT], epoch2[COUNT], resumed[COUNT];
  CHECK_EQ_INT(run_epoch(loader, 0, epoch0, &last), 100);
  CHECK_EQ_INT(last, 10);
  run_epoch(loader, 1, examples, &last);
  run_epoch(loader, 2, epoch2, &last);
  ipro_batch_loader_destroy(loader);
  CHECK_OK(ipro_batch_loader_create(data, &shuffled, &loader, &err), &err);
  run_epoch(loader, 2, resumed, &last);
  ipro_batch_loader_destroy(loader);
  ipro_batch_shuffle(99, 0, COUNT, order);
  CHECK(memcmp(epoch0, order, 100 * sizeof(int64_t)) == 0);
  CHECK(memcmp(epoch2, resumed, 100 * sizeof(int64_t)) == 0);
  CHECK(memcmp(epoch0, epoch2, 100 * sizeof(int64_t)) != 0);

  /* A fixed subset: only the first 50 examples, each once per epoch. */
  ipro_batch_options subset = {.batch_size = 8, .shuffle = true, .seed = 5, .limit = 50};
  CHECK_OK(ipro_batch_loader_create(data, &subset, &loader, &err), &err);
  for (int64_t epoch = 0; epoch < 3; epoch++) {
    CHECK_EQ_INT(run_epoch(loader, epoch, examples, &last), 50);
    int counts[COUNT] = {0}, wrong = 0;
    for (int i = 0; i < 50; i++)
      counts[examples[i]]++;
    for (int i = 0; i < COUNT; i++)
      wrong += counts[i] != (i < 50);
    CHECK_EQ_INT(wrong, 0);
  }
  ipro_batch_loader_destroy(loader);
}

static void test_augmentation(const ipro_dataset *data) {
  enum { P = 2 };
  float plain[FLOATS], flipped[FLOATS], shifted[FLOATS];
  ipro_pixel_table table;
  ipro_batch_pixel_table(data, &table);
  const ipro_pixel_table *t = &table;
  ipro_batch_fill_example(data, 17, 0, (ipro_augment_choice){0, 0, false}, t, plain);
  int wrong = 0;
  for (int c = 0; c < CHANNELS; c++)
    for (int y = 0; y < HEIGHT; y++)
      for (int x = 0; x < WIDTH; x++)
        wrong += plain[c * PLANE + y * WIDTH + x] !=
                 ipro_dataset_normalize_pixel(data, c, pixel_of(17, c, y, x));
  CHECK_EQ_INT(wrong, 0);

  /* The centred window without flip is the image itself; with flip, its mirror. */
  ipro_batch_fill_example(data, 17, P, (ipro_augment_choice){P, P, false}, t, shifted);
  CHECK(memcmp(plain, shifted, sizeof plain) == 0);
  ipro_batch_fill_example(data, 17, P, (ipro_augment_choice){P, P, true}, t, flipped);
  wrong = 0;
  for (int c = 0; c < CHANNELS; c++)
    for (int y = 0; y < HEIGHT; y++)
      for (int x = 0; x < WIDTH; x++)
        wrong += flipped[c * PLANE + y * WIDTH + x] != plain[c * PLANE + y * WIDTH + WIDTH - 1 - x];
  CHECK_EQ_INT(wrong, 0);

  /* The top-left window: the image moves down and right by P; the border is a 0 pixel. */
  ipro_batch_fill_example(data, 17, P, (ipro_augment_choice){0, 0, false}, t, shifted);
  wrong = 0;
  for (int c = 0; c < CHANNELS; c++)
    for (int y = 0; y < HEIGHT; y++)
      for (int x = 0; x < WIDTH; x++) {
        float expected = y < P || x < P ? (0 - data->mean[c]) / data->std[c]
                                        : plain[c * PLANE + (y - P) * WIDTH + x - P];
        wrong += !(fabsf(shifted[c * PLANE + y * WIDTH + x] - expected) <= 1e-6f);
      }
  CHECK_EQ_INT(wrong, 0);

  /* The random choices cover [0, 2P] and flip about half the time. */
  int offsets[2 * P + 1] = {0}, flips = 0, outside = 0;
  for (int64_t e = 0; e < 2000; e++) {
    ipro_augment_choice choice = ipro_batch_augment_choice(3, 1, e, P, true);
    if (choice.dy < 0 || choice.dy > 2 * P || choice.dx < 0 || choice.dx > 2 * P)
      outside++;
    else
      offsets[choice.dy]++, offsets[choice.dx]++;
    flips += choice.flip;
  }
  CHECK_EQ_INT(outside, 0);
  for (int o = 0; o <= 2 * P; o++)
    CHECK_MSG(offsets[o] > 600, "offset %d: %d", o, offsets[o]);
  CHECK_MSG(flips > 900 && flips < 1100, "%d flips in 2000", flips);
  ipro_augment_choice none = ipro_batch_augment_choice(3, 1, 5, 0, false);
  CHECK(none.dy == 0 && none.dx == 0 && !none.flip);

  /* A flip-only loader: each image is the original or its mirror, both occur. */
  ipro_error err;
  ipro_batch_loader *loader;
  ipro_batch_options options = {.batch_size = COUNT, .flip = true, .seed = 11};
  CHECK_OK(ipro_batch_loader_create(data, &options, &loader, &err), &err);
  CHECK_OK(ipro_batch_loader_start_epoch(loader, 0, &err), &err);
  const ipro_batch *batch = NULL;
  CHECK_OK(ipro_batch_loader_next(loader, &batch, &err), &err);
  int originals = 0, mirrors = 0, neither = 0;
  for (int64_t i = 0; batch && i < batch->count; i++) {
    ipro_batch_fill_example(data, i, 0, (ipro_augment_choice){0, 0, false}, t, plain);
    ipro_batch_fill_example(data, i, 0, (ipro_augment_choice){0, 0, true}, t, flipped);
    const float *image = batch->images + i * FLOATS;
    bool original = !memcmp(image, plain, sizeof plain),
         mirror = !memcmp(image, flipped, sizeof plain);
    originals += original, mirrors += mirror && !original, neither += !original && !mirror;
  }
  CHECK_EQ_INT(neither, 0);
  CHECK_MSG(originals > 30 && mirrors > 30, "%d originals, %d mirrors", originals, mirrors);
  ipro_batch_loader_destroy(loader);
}

/* Runs epochs on a synchronous loader, a background one, and a background one with one slot
 * whose batches are copied away and released before the next is asked for (the trainer's use),
 * with the same options, and compares. */
static void compare_threads(const ipro_dataset *data, ipro_batch_options options) {
  ipro_error err;
  ipro_batch_loader *sync = NULL, *background = NULL, *single = NULL;
  options.background = false;
  CHECK_OK(ipro_batch_loader_create(data, &options, &sync, &err), &err);
  options.background = true;
  int64_t before = ipro_counting_allocator_in_use();
  CHECK_OK(ipro_batch_loader_create(data, &options, &background, &err), &err);
  int64_t two_slots = ipro_counting_allocator_in_use() - before;
  options.one_slot = true;
  before = ipro_counting_allocator_in_use();
  CHECK_OK(ipro_batch_loader_create(data, &options, &single, &err), &err);
  int64_t one_slot = ipro_counting_allocator_in_use() - before;
  if (!sync || !background || !single) return;
  /* one slot holds one batch of images and labels fewer than two: in the loader's own count, and
   * as the process's allocator saw the two loaders made */
  size_t slot_bytes = (size_t)options.batch_size * (FLOATS * sizeof(float) + sizeof(int64_t));
  CHECK_EQ_INT((int64_t)(ipro_batch_loader_bytes(background) - ipro_batch_loader_bytes(single)),
               (int64_t)slot_bytes);
  check_allocator_difference("one slot", two_slots - one_slot, (int64_t)slot_bytes);
  float *copied_images = malloc((size_t)options.batch_size * FLOATS * sizeof(float));
  int64_t *copied_labels = malloc((size_t)options.batch_size * sizeof(int64_t));
  int differences = 0, batches = 0;
  for (int64_t epoch = 3; epoch < 6; epoch++) {
    CHECK_OK(ipro_batch_loader_start_epoch(sync, epoch, &err), &err);
    CHECK_OK(ipro_batch_loader_start_epoch(background, epoch, &err), &err);
    CHECK_OK(ipro_batch_loader_start_epoch(single, epoch, &err), &err);
    const ipro_batch *a, *b, *c;
    for (;;) {
      CHECK_OK(ipro_batch_loader_next(sync, &a, &err), &err);
      CHECK_OK(ipro_batch_loader_next(background, &b, &err), &err);
      CHECK_OK(ipro_batch_loader_next(single, &c, &err), &err);
      if (!a || !b || !c) {
        CHECK(!a && !b && !c);
        break;
      }
      int64_t count = c->count, index = c->index;
      memcpy(copied_images, c->images, (size_t)count * FLOATS * sizeof(float));
      memcpy(copied_labels, c->labels, (size_t)count * sizeof(int64_t));
      ipro_batch_loader_release(single); /* the worker may now overwrite c */
      batches++;
      differences += a->count != b->count || a->index != b->index ||
                     memcmp(a->images, b->images, (size_t)a->count * FLOATS * sizeof(float)) ||
                     memcmp(a->labels, b->labels, (size_t)a->count * sizeof(int64_t));
      differences += a->count != count || a->index != index ||
                     memcmp(a->images, copied_images, (size_t)count * FLOATS * sizeof(float)) ||
                     memcmp(a->labels, copied_labels, (size_t)count * sizeof(int64_t));
    }
  }
  CHECK_EQ_INT(differences, 0);
  CHECK_EQ_INT(batches, 3 * ipro_batch_loader_batches_per_epoch(sync));
  free(copied_images);
  free(copied_labels);
  ipro_batch_loader_destroy(sync);
  ipro_batch_loader_destroy(background);
  ipro_batch_loader_destroy(single);
}

static void test_background(const ipro_dataset *data) {
  compare_threads(data, (ipro_batch_options){.batch_size = 8,
                                             .shuffle = true,
                                             .seed = 1234,
                                             .limit = 97,
                                             .crop_padding = 2,
                                             .flip = true});
  compare_threads(data, (ipro_batch_options){.batch_size = 1, .shuffle = true, .seed = 1});
  compare_threads(data, (ipro_batch_options){.batch_size = 16, .drop_last = true, .flip = true});

  /* Clean shutdown: before any epoch, mid-epoch, and an epoch abandoned for another. */
  ipro_error err;
  ipro_batch_loader *loader;
  ipro_batch_options options = {.batch_size = 4, .shuffle = true, .background = true};
  CHECK_OK(ipro_batch_loader_create(data, &options, &loader, &err), &err);
  ipro_batch_loader_destroy(loader);
  CHECK_OK(ipro_batch_loader_create(data, &options, &loader, &err), &err);
  const ipro_batch *batch;
  CHECK_OK(ipro_batch_loader_start_epoch(loader, 0, &err), &err);
  CHECK_OK(ipro_batch_loader_next(loader, &batch, &err), &err);
  int64_t examples[COUNT], fresh[COUNT], last;
  CHECK_EQ_INT(run_epoch(loader, 1, examples, &last), COUNT);
  CHECK_OK(ipro_batch_loader_start_epoch(loader, 0, &err), &err);
  CHECK_OK(ipro_batch_loader_next(loader, &batch, &err), &err);
  ipro_batch_loader_destroy(loader);
  options.background = false;
  CHECK_OK(ipro_batch_loader_create(data, &options, &loader, &err), &err);
  run_epoch(loader, 1, fresh, &last);
  ipro_batch_loader_destroy(loader);
  CHECK(memcmp(examples, fresh, sizeof fresh) == 0);
}

/* A label out of range at example 25 fails batch 2 on both paths, with the same message. */
static void test_failure(ipro_dataset *data) {
  data->labels[25] = 12;
  char messages[2][1024];
  for (int background = 0; background < 2; background++) {
    ipro_error err = {{0}};
    ipro_batch_loader *loader;
    ipro_batch_options options = {.batch_size = 10, .background = background};
    CHECK_OK(ipro_batch_loader_create(data, &options, &loader, &err), &err);
    if (!loader) continue;
    for (int64_t epoch = 0; epoch < 2; epoch++) {
      const ipro_batch *batch;
      CHECK_OK(ipro_batch_loader_start_epoch(loader, epoch, &err), &err);
      CHECK_OK(ipro_batch_loader_next(loader, &batch, &err), &err);
      CHECK_OK(ipro_batch_loader_next(loader, &batch, &err), &err);
      CHECK(ipro_batch_loader_next(loader, &batch, &err) == IPRO_ERROR && batch == NULL);
      CHECK_MSG(strstr(err.message, "batch 2 of epoch") &&
                    strstr(err.message, "label 12 of example 25 is outside 0..9"),
                "%s", err.message);
      snprintf(messages[background], sizeof messages[0], "%s", err.message);
      err.message[0] = 0;
      CHECK(ipro_batch_loader_next(loader, &batch, &err) == IPRO_ERROR && batch == NULL);
      CHECK(!strcmp(err.message, messages[background]));
    }
    ipro_batch_loader_destroy(loader);
  }
  CHECK(!strcmp(messages[0], messages[1]));
  data->labels[25] = 5;
}

/* Images made in the caller's memory: the same batches as in the loader's own buffer, in that
 * memory, and the loader holds that many bytes fewer; with a worker thread it is refused. */
static void test_image_memory(const ipro_dataset *data) {
  ipro_error err;
  ipro_batch_loader *own = NULL, *given = NULL;
  ipro_batch_options options = {.batch_size = 8, .shuffle = true, .seed = 5, .flip = true};
  int64_t before = ipro_counting_allocator_in_use();
  CHECK_OK(ipro_batch_loader_create(data, &options, &own, &err), &err);
  int64_t own_held = ipro_counting_allocator_in_use() - before;
  float *memory = malloc(8 * FLOATS * sizeof(float));
  options.image_memory = memory;
  before = ipro_counting_allocator_in_use();
  CHECK_OK(ipro_batch_loader_create(data, &options, &given, &err), &err);
  int64_t given_held = ipro_counting_allocator_in_use() - before;
  if (!own || !given) return;
  CHECK(ipro_batch_loader_bytes(own) - ipro_batch_loader_bytes(given) ==
        8 * FLOATS * sizeof(float));
  check_allocator_difference("the caller's image memory", own_held - given_held,
                             (int64_t)(8 * FLOATS * sizeof(float)));
  CHECK_OK(ipro_batch_loader_start_epoch(own, 1, &err), &err);
  CHECK_OK(ipro_batch_loader_start_epoch(given, 1, &err), &err);
  int differences = 0, elsewhere = 0;
  const ipro_batch *a, *b;
  for (;;) {
    CHECK_OK(ipro_batch_loader_next(own, &a, &err), &err);
    CHECK_OK(ipro_batch_loader_next(given, &b, &err), &err);
    if (!a || !b) {
      CHECK(!a && !b);
      break;
    }
    elsewhere += b->images != memory;
    differences += a->count != b->count ||
                   memcmp(a->images, memory, (size_t)a->count * FLOATS * sizeof(float)) ||
                   memcmp(a->labels, b->labels, (size_t)a->count * sizeof(int64_t));
  }
  CHECK_EQ_INT(differences, 0);
  CHECK_EQ_INT(elsewhere, 0);
  ipro_batch_loader_destroy(own);
  ipro_batch_loader_destroy(given);
  ipro_batch_loader *threaded = NULL;
  options.background = true;
  CHECK(ipro_batch_loader_create(data, &options, &threaded, &err) == IPRO_ERROR && !threaded);
  CHECK_MSG(strstr(err.message, "need no background"), "%s", err.message);
  free(memory);
}

static void test_bad_options(const ipro_dataset *data) {
  ipro_error err;
  ipro_batch_loader *loader = NULL;
  ipro_batch_options options = {.batch_size = 0};
  CHECK(ipro_batch_loader_create(data, &options, &loader, &err) == IPRO_ERROR && !loader);
  CHECK_MSG(strstr(err.message, "batch size 0"), "%s", err.message);
  options = (ipro_batch_options){.batch_size = 4, .limit = COUNT + 1};
  CHECK(ipro_batch_loader_create(data, &options, &loader, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "first 104 of 103"), "%s", err.message);
  options = (ipro_batch_options){.batch_size = 200, .drop_last = true, .background = true};
  CHECK(ipro_batch_loader_create(data, &options, &loader, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "no complete batch"), "%s", err.message);
  options = (ipro_batch_options){.batch_size = 4, .crop_padding = -1};
  CHECK(ipro_batch_loader_create(data, &options, &loader, &err) == IPRO_ERROR);
  options = (ipro_batch_options){.batch_size = 4};
  CHECK_OK(ipro_batch_loader_create(data, &options, &loader, &err), &err);
  const ipro_batch *batch;
  CHECK(ipro_batch_loader_next(loader, &batch, &err) == IPRO_ERROR);
  CHECK_MSG(strstr(err.message, "before the first start_epoch"), "%s", err.message);
  CHECK(ipro_batch_loader_bytes(loader) ==
        COUNT * sizeof(int64_t) + 4 * (FLOATS * sizeof(float) + sizeof(int64_t)));
  ipro_batch_loader_destroy(loader);
}

int main(void) {
  ipro_counting_allocator_start(); /* before the first measurement (check_allocator_difference) */
  ipro_dataset data = make_dataset();
  test_shuffle();
  test_normalization(&data);
  test_augmentation(&data);
  /* From here on mean 0, std 1, so that example_of can read an image's number back. */
  ipro_error err;
  float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
  CHECK_OK(ipro_dataset_set_normalization(&data, zero, one, 3, &err), &err);
  test_orders(&data);
  test_background(&data);
  test_image_memory(&data);
  test_failure(&data);
  test_bad_options(&data);
  ipro_dataset_free(&data);
  return ipro_test_finish();
}
