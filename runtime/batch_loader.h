/* Batches for training and evaluation: float32 NCHW images, normalised, with int64 labels, drawn
 * from a loaded dataset split (dataset.h) in a shuffled or fixed order, optionally augmented, and
 * optionally prepared on a background thread while the caller trains on the previous batch.
 *
 * Determinism. Every batch is a pure function of (dataset, options, seed, epoch, batch index), so
 * the background thread and a synchronous run give identical batches whatever the thread timing,
 * and a run resumed at epoch e sees what an uninterrupted one saw. The random numbers:
 *   - splitmix64 (Steele, Lea, Flood 2014; the reference seeding generator of xoshiro) mixes
 *     (seed, stream, epoch) into a key;
 *   - the epoch's order is a Fisher-Yates shuffle (from the last index down, swapping i with an
 *     unbiased draw from [0, i] by rejection) driven by xoshiro256** (Blackman, Vigna 2018) seeded
 *     with four splitmix64 outputs of the shuffle key;
 *   - each example's augmentation is one splitmix64 hash of the augmentation key and the example's
 *     index, so it depends on nothing else the loader does.
 *
 * Augmentation follows torchvision's Compose([RandomCrop(size, padding=P), RandomHorizontalFlip(),
 * ToTensor(), Normalize(mean, std)]) on the uint8 image: the image is padded with P zero pixels on
 * every side, an HxW window is taken at offset (dy, dx), each uniform in [0, 2P], then mirrored
 * left-right with probability 1/2. A padded pixel is therefore a 0 pixel normalised:
 * (0 - mean[c]) / std[c].
 *
 * Image folders kept uncropped (dataset.h) are augmented instead as torchvision's
 * Compose([RandomResizedCrop(size), RandomHorizontalFlip(), ToTensor(), Normalize(mean, std)]):
 * a box of the uncropped image is chosen as RandomResizedCrop.get_params does (scale (0.08, 1),
 * ratio (3/4, 4/3), up to 10 tries, then the centre crop of the whole image clamped to the ratio
 * bounds), resized to the model's input with the bilinear filter (image_resample.h), and mirrored
 * with probability 1/2. Its random numbers come from xoshiro256** seeded by splitmix64 outputs
 * of the (seed, epoch) key and the example's index, so they too depend on nothing else the loader
 * does. An uncropped split is loaded only for this augmentation, and the loader refuses it
 * without. */
#ifndef IPRO_BATCH_LOADER_H
#define IPRO_BATCH_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "dataset.h"

typedef struct {
  int64_t batch_size;
  uint64_t seed;
  bool shuffle;     /* false: examples in dataset order every epoch */
  int64_t limit;    /* use only the first `limit` examples (a fixed subset); 0: all */
  bool drop_last;   /* drop the final batch when it would be smaller than batch_size */
  int crop_padding; /* random crop with this much zero padding; 0: no crop */
  bool flip;        /* random horizontal flip with probability 1/2 */
  /* random-resized-crop: set exactly when the dataset is an uncropped image folder (crop_padding
   * must then be 0) */
  bool random_resized_crop;
  bool background; /* prepare the next batch on a worker thread */
  /* With background: one batch buffer instead of two, for a caller that copies each batch away
   * and then says so with ipro_batch_loader_release, from which point the worker prepares the
   * next batch in the same buffer (the trainer, whose image block is the second buffer). */
  bool one_slot;
  /* Without background: memory of batch_size images where each batch's images are made, instead
   * of a buffer of the loader's own (a test pass making its batches in the training block);
   * NULL: the loader's own. */
  float *image_memory;
} ipro_batch_options;

typedef struct {
  float *images;   /* [count, channels, height, width] */
  int64_t *labels; /* [count] */
  int64_t count;   /* examples: batch_size, or fewer in a kept final batch */
  int64_t index;   /* batch number within the epoch */
  int64_t epoch;
} ipro_batch;

typedef struct ipro_batch_loader ipro_batch_loader;

/* The loader keeps a pointer to data, which must outlive it; the normalisation is read from data
 * at creation. */
ipro_status ipro_batch_loader_create(const ipro_dataset *data, const ipro_batch_options *options,
                                     ipro_batch_loader **out, ipro_error *err);
/* Stops the worker (waiting for a batch it is preparing) and frees everything. NULL is allowed. */
void ipro_batch_loader_destroy(ipro_batch_loader *loader);

int64_t ipro_batch_loader_batches_per_epoch(const ipro_batch_loader *loader);
/* Host bytes the loader holds (batch buffers and the order), for the memory report. */
size_t ipro_batch_loader_bytes(const ipro_batch_loader *loader);
/* Examples made so far and the seconds spent making them (on the worker thread, or the
 * caller's), for the report of how fast batches are prepared beside how fast they are used. */
void ipro_batch_loader_work(ipro_batch_loader *loader, int64_t *examples, double *seconds);

/* Begins epoch `epoch` (any value, in any order: resuming at epoch e is just starting it). An
 * epoch in progress is abandoned. */
ipro_status ipro_batch_loader_start_epoch(ipro_batch_loader *loader, int64_t epoch,
                                          ipro_error *err);
/* The epoch's next batch in *batch, or NULL once the epoch is over. The batch stays valid until
 * the next call on the loader. A failure making a batch (a label outside 0..num_classes-1 in a
 * dataset built by hand) is returned here, for the batch where it occurred, and again on every
 * later call until the next start_epoch. */
ipro_status ipro_batch_loader_next(ipro_batch_loader *loader, const ipro_batch **batch,
                                   ipro_error *err);

/* The caller is done with the batch the last ipro_batch_loader_next returned (it copied it away):
 * its buffer may be refilled from now on. Needed with one_slot to prepare the next batch while
 * the caller works; otherwise optional (the next call to next releases it). */
void ipro_batch_loader_release(ipro_batch_loader *loader);

/* ---- the pieces, public so they can be tested alone ---- */

/* Writes the order of examples 0..count-1 for an epoch into order[count]. */
void ipro_batch_shuffle(uint64_t seed, int64_t epoch, int64_t count, int64_t *order);

typedef struct {
  int dy, dx; /* crop offset into the padded image, each in [0, 2 * padding] */
  bool flip;
} ipro_augment_choice;

/* The random choices for one example in one epoch (dy = dx = padding, no flip, when disabled). */
ipro_augment_choice ipro_batch_augment_choice(uint64_t seed, int64_t epoch, int64_t example,
                                              int padding, bool flip);
/* The normalised value of every pixel value in every channel: values[c][x]. */
typedef struct {
  float values[IPRO_DATASET_MAX_CHANNELS][256];
} ipro_pixel_table;
void ipro_batch_pixel_table(const ipro_dataset *data, ipro_pixel_table *table);

/* Normalises example `example` into out[channels * height * width], cropped and flipped as the
 * choice says. */
void ipro_batch_fill_example(const ipro_dataset *data, int64_t example, int padding,
                             ipro_augment_choice choice, const ipro_pixel_table *table, float *out);

/* A box of an uncropped image (rows top.., columns left..) and whether the result is mirrored. */
typedef struct {
  int top, left, height, width;
  bool flip;
  bool fallback; /* none of the 10 tries fitted: the centre crop */
} ipro_crop_box;

/* The random-resized-crop box for one example of height x width in one epoch (flip only when
 * flip is true). */
ipro_crop_box ipro_batch_resized_crop_choice(uint64_t seed, int64_t epoch, int64_t example,
                                             int height, int width, bool flip);
/* Normalises uncropped example `example` into out[channels * height * width]: its box resized to
 * the dataset's height x width (into scratch[channels * height * width]) and mirrored when the
 * box says. False only when out of memory. */
bool ipro_batch_fill_resized_crop(const ipro_dataset *data, int64_t example, ipro_crop_box box,
                                  const ipro_pixel_table *table, uint8_t *scratch, float *out);

#endif
