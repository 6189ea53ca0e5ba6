/* Checkpoints: everything a training run needs to continue exactly where it stopped, in one
 * binary file DIR/checkpoint.ipck (format: schemas/checkpoint.md). A checkpoint holds
 *   - the training position: epochs completed and steps taken, and the settings the batches and
 *     updates depend on (seed, batch, limit, augmentation, optimizer, learning-rate schedule);
 *   - by name, every tensor of the trainer's programs (one per module) that carries state from
 *     one step to the next: the initializers (parameters and BatchNormalization running statistics)
 * and the STATE tensors except gradients (recomputed every step) and the hyper-parameter vector
 *     (written before every step) — i.e. the optimizer moments;
 *   - (version 2) the class names of the data it was trained on, in label order, so that a run
 *     resumed on an image folder whose class folders were renamed, added or removed (which
 *     renumbers the labels) is refused instead of training on shifted labels;
 *   - (version 3) the split of the run that wrote it (K, the cut tensors, the heads' settings and
 *     each local module's heads: split_record.h), which `--resume` takes when no split is given,
 *     and the input normalisation it trained with (mean and std per channel), which `--resume`
 *     takes when no --mean or --std is given.
 * The file is written to a temporary beside the target and renamed over it, so a crash leaves
 * the previous checkpoint intact. Reading validates everything (magic, version, sizes, CRC-32 of
 * the payload, each tensor's name, dtype and shape against the program) before any tensor is
 * written into a trainer; each failure is one message naming the file. */
#ifndef IPRO_CHECKPOINT_H
#define IPRO_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataset.h"
#include "runtime/lr_schedule.h"
#include "runtime/split_record.h"
#include "runtime/trainer.h"

#define IPRO_CHECKPOINT_FILE "checkpoint.ipck"
/* The version written; the reader takes every version from IPRO_CHECKPOINT_OLDEST_VERSION on
 * (version 1: no class names; versions 1 and 2: no split). */
#define IPRO_CHECKPOINT_VERSION 3
#define IPRO_CHECKPOINT_OLDEST_VERSION 1

typedef struct {
  int64_t epochs_done; /* completed epochs: a resumed run starts at this (0-based) epoch */
  uint64_t steps_done; /* training steps taken so far */
  int64_t total_epochs;
  uint64_t seed;
  int64_t batch;
  int64_t limit; /* training images used (the first `limit`); 0: all */
  int32_t crop_padding;
  bool flip;
  bool random_resized_crop; /* image folders: RandomResizedCrop instead of a padded crop */
  ipro_optimizer_settings optimizer;
  ipro_lr_schedule schedule;
} ipro_training_position;

typedef struct {
  char *name;
  ipro_dtype dtype;
  ipro_shape shape;
  void *data;
  size_t bytes;
} ipro_checkpoint_tensor;

typedef struct {
  ipro_training_position position;
  int n_tensors;
  ipro_checkpoint_tensor *tensors;
  /* The data's class names in label order (owned); none for data without names (not an image
   * folder) and in a version-1 file. */
  int n_class_names;
  char **class_names;
  /* The split of the run that wrote it; split.K == 0 where none is recorded (versions 1 and 2,
   * whose encoding as version 3 says so). */
  ipro_split_record split;
  /* The input normalisation per channel the run trained with; n_normalization 0 where none is
   * recorded (versions 1 and 2). */
  int n_normalization;
  float mean[IPRO_DATASET_MAX_CHANNELS], std[IPRO_DATASET_MAX_CHANNELS];
} ipro_checkpoint;

/* DIR/checkpoint.ipck into path. */
void ipro_checkpoint_path(const char *directory, char *path, size_t size);

/* The in-memory form and the bytes of the file. decode checks everything it can without a
 * trainer; `path` names the file in messages. */
ipro_status ipro_checkpoint_encode(const ipro_checkpoint *checkpoint, uint8_t **bytes, size_t *size,
                                   ipro_error *err);
ipro_status ipro_checkpoint_decode(const uint8_t *bytes, size_t size, const char *path,
                                   ipro_checkpoint *out, ipro_error *err);

/* Whether the checkpoint holds tensor t of module `module`'s program (the rule above; every
 * module of a locally trained network contributes its own). */
bool ipro_checkpoint_holds(ipro_trainer *trainer, int module, int t);

/* Records the normalisation mean[0..channels), std[0..channels): none where channels is 0 or
 * above IPRO_DATASET_MAX_CHANNELS, or a channel's is not usable (ipro_normalization_usable). */
void ipro_checkpoint_set_normalization(ipro_checkpoint *checkpoint, const float *mean,
                                       const float *std, int channels);

/* Replaces the checkpoint's class names with copies of names[0..count). */
ipro_status ipro_checkpoint_set_class_names(ipro_checkpoint *checkpoint, char *const *names,
                                            int count, ipro_error *err);

/* Copies the trainer's tensors, its split and the position into *out. */
ipro_status ipro_checkpoint_capture(ipro_trainer *trainer, const ipro_training_position *position,
                                    ipro_checkpoint *out, ipro_error *err);
/* Checks that the checkpoint holds exactly the tensors the trainer's program keeps, each with
 * its dtype and shape, then writes them into the trainer. */
ipro_status ipro_checkpoint_restore(ipro_trainer *trainer, const ipro_checkpoint *checkpoint,
                                    const char *path, ipro_error *err);

/* Proves, early, that a checkpoint can be written into DIR, to report a bad directory before
 * training: makes DIR and its missing parents, checks that DIR/checkpoint.ipck can be created,
 * then removes the folders it made, whether the check passed or not, so that a run that stops
 * before its first checkpoint (failed, killed, or an aborted MPI job) leaves no empty folder
 * behind; ipro_checkpoint_write makes them again. */
ipro_status ipro_checkpoint_check_directory(const char *directory, ipro_error *err);
/* encode + atomic write of DIR/checkpoint.ipck (DIR is created if missing). */
ipro_status ipro_checkpoint_write(const char *directory, const ipro_checkpoint *checkpoint,
                                  ipro_error *err);
/* The training position alone, from the first bytes of the file (magic, version, position): what
 * is shown of a checkpoint that a run without --resume would replace, and what --resume checks
 * its --epochs against before any work. The file is read through first to check its length and
 * CRC-32 (ipro_frame_check_file, in pieces: a checkpoint of gigabytes is not held), so that
 * figures read from a damaged file are never acted on. */
ipro_status ipro_checkpoint_read_position(const char *path, ipro_training_position *out,
                                          ipro_error *err);
/* Reads and decodes a checkpoint file. */
ipro_status ipro_checkpoint_read(const char *path, ipro_checkpoint *out, ipro_error *err);
void ipro_checkpoint_release(ipro_checkpoint *checkpoint);

#endif
