/* Image classification datasets for training and evaluation: which one (a SPEC string), loading
 * a split into memory, and the per-channel normalisation a network sees.
 *
 * A SPEC names a dataset and the directory holding its files in their official distribution
 * format:
 *   fashion-mnist[:DIR]  IDX files, DIR defaults to /usr/share/datasets/fashion-mnist
 *   mnist:DIR            IDX files
 *   cifar10:DIR          CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin)
 *   cifar100:DIR         CIFAR-100 binary version (train.bin, test.bin; the fine label is used)
 *   imagefolder:DIR      DIR/train/CLASS/[FOLDERS/]IMAGE.png|jpg|jpeg and DIR/val/CLASS/...
 *                        (torchvision's ImageFolder convention; dataset_imagefolder.c)
 *   npz:FILE             a NumPy .npz holding x_train, y_train, x_test, y_test (dataset_npz.c)
 * Every file is looked for as NAME.gz, then NAME (zlib reads both); a CIFAR DIR may also be the
 * folder above the archive's own cifar-10-batches-bin / cifar-100-binary.
 *
 * A loaded split is raw uint8 pixels [count, channels, height, width], exactly as stored, and
 * int32 labels (IDX and CIFAR store a byte a label, widened on load; image folders and npz files
 * hold up to IPRO_DATASET_MAX_CLASSES classes). Normalisation happens when batches are made
 * (batch_loader.h), with torchvision's convention: ToTensor then Normalize, i.e. pixel x becomes
 * (x/255 - mean[c]) / std[c] in float32. Each failure is one message naming the file concerned. */
#ifndef IPRO_DATASET_H
#define IPRO_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/error.h"

#define IPRO_DATASET_MAX_CHANNELS 4
/* The most classes a dataset may have: a compiled program's bound (schemas/program.md), so that
 * whatever loads can also be compiled and its checkpoint resumed. */
#define IPRO_DATASET_MAX_CLASSES 1000000
#define IPRO_FASHION_MNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
/* Uncropped images are kept just large enough to cover 8/7 of the model's input on each side
 * (rounded up): torchvision's Resize(256) for a 224 crop. Smaller images are kept as they are. */
#define IPRO_DATASET_CROP_COVER(size) (((size)*8 + 6) / 7)

typedef enum {
  IPRO_DATASET_MNIST,
  IPRO_DATASET_FASHION_MNIST,
  IPRO_DATASET_CIFAR10,
  IPRO_DATASET_CIFAR100,
  IPRO_DATASET_IMAGEFOLDER,
  IPRO_DATASET_NPZ,
} ipro_dataset_kind;

typedef enum { IPRO_SPLIT_TRAIN, IPRO_SPLIT_TEST } ipro_dataset_split;

typedef struct {
  ipro_dataset_kind kind;
  char directory[512]; /* the folder, or for npz the file */
  /* imagefolder: the size every image is converted to (the model's input), set by the caller
   * before loading; npz: channels, when set, settles an NCHW/NHWC ambiguity. */
  int channels, height, width;
  /* npz: when set, the model's class count (its output width): every label must be below it,
   * and it is the data's class count, so that data lacking the last classes still fits. */
  int classes;
  bool strict; /* imagefolder: an unreadable image fails the load instead of being skipped */
  /* imagefolder, training split: keep every image uncropped, for random-resized-crop
   * (batch_loader.h), instead of fitting it to the model's input. */
  bool uncropped;
} ipro_dataset_spec;

typedef struct {
  ipro_dataset_kind kind;
  ipro_dataset_split split;
  int64_t count;
  int channels, height, width;
  int num_classes;
  uint8_t *images; /* [count, channels, height, width], raw pixels; NULL when uncropped */
  /* A split loaded with spec.uncropped: image i is [channels, uncropped_sizes[2i],
   * uncropped_sizes[2i+1]] (CHW) at uncropped_pixels + uncropped_offsets[i], kept at
   * ipro_image_kept_size for covering IPRO_DATASET_CROP_COVER times height x width. */
  uint8_t *uncropped_pixels;
  int64_t *uncropped_offsets;
  int32_t *uncropped_sizes;
  int32_t *labels; /* [count], each in 0..num_classes-1 */
  /* Normalisation, per channel: the dataset's conventional constants after loading; change them
   * with ipro_dataset_set_normalization. */
  float mean[IPRO_DATASET_MAX_CHANNELS], std[IPRO_DATASET_MAX_CHANNELS];
  size_t bytes; /* host memory held by images (or the uncropped arrays) and labels */
  /* imagefolder: the class folder names in index order; NULL for the other kinds. */
  char **class_names;
  /* imagefolder: images skipped as unreadable (not in count), and why, each message naming the
   * path: undecodable, or not a file once links are followed (a dangling link...). */
  int64_t skipped;
  char **skipped_paths;
  /* imagefolder: files left out because their extension is that of an image format torchvision
   * reads but infopro does not decode (.bmp, .pgm, .ppm, .tif, .tiff, .webp; not .gif, which
   * torchvision does not take either): how many, which of those extensions (as ".bmp, .webp"),
   * and the first one's path. */
  int64_t unread_format_files;
  char unread_formats[64];
  char *unread_format_example;
} ipro_dataset;

/* "fashion-mnist", "mnist", "cifar10", "cifar100" (the names SPEC strings use). */
const char *ipro_dataset_kind_name(ipro_dataset_kind kind);

ipro_status ipro_dataset_parse_spec(const char *text, ipro_dataset_spec *out, ipro_error *err);

/* Loads one split into *out (zeroed first; freed again on failure). */
ipro_status ipro_dataset_load(const ipro_dataset_spec *spec, ipro_dataset_split split,
                              ipro_dataset *out, ipro_error *err);
/* parse_spec then load, for callers holding the SPEC text. */
ipro_status ipro_dataset_open(const char *spec_text, ipro_dataset_split split, ipro_dataset *out,
                              ipro_error *err);
void ipro_dataset_free(ipro_dataset *data);

/* The conventional constants for a dataset (the mean and standard deviation of its training
 * pixels scaled to [0, 1]): MNIST 0.1307 / 0.3081, Fashion-MNIST 0.2860 / 0.3530, CIFAR-10 and
 * CIFAR-100 per RGB channel. Fills `channels` entries of each array. Image folders and npz files
 * have no conventional constants: their loaded split's own per-channel mean and standard
 * deviation are used (the trainer gives the test split the training split's). */
void ipro_dataset_default_normalization(ipro_dataset_kind kind, float *mean, float *std);
/* Whether a channel's normalisation can be used: both finite, the std positive. */
bool ipro_normalization_usable(float mean, float std);
/* Replaces the normalisation; count must equal data->channels and every channel's be usable. */
ipro_status ipro_dataset_set_normalization(ipro_dataset *data, const float *mean, const float *std,
                                           int count, ipro_error *err);
/* (pixel/255 - mean[channel]) / std[channel], computed in float32 as torchvision does. */
float ipro_dataset_normalize_pixel(const ipro_dataset *data, int channel, uint8_t pixel);

/* ---- the format readers ipro_dataset_load dispatches to (dataset_formats.c) ----
 * Each fills count, images, labels and bytes of *out and checks every label against
 * out->num_classes, which the caller sets first. On failure *out holds no memory. */

/* An IDX pair: unsigned-byte images with 3 dimensions (magic 0x00000803) and labels with 1
 * (magic 0x00000801). Sets channels to 1 and height, width from the header. Paths name the files
 * exactly (no .gz search; gzip or not is detected). */
ipro_status ipro_dataset_read_idx(const char *images_path, const char *labels_path,
                                  ipro_dataset *out, ipro_error *err);
/* CIFAR binary records, concatenated over the files: label_bytes label bytes (the last one is the
 * class; earlier ones, CIFAR-100's coarse label, are checked against coarse_classes) then
 * channels*height*width pixel bytes in CHW order; the caller sets channels, height and width. */
ipro_status ipro_dataset_read_cifar(const char *const *paths, int path_count, int label_bytes,
                                    int coarse_classes, ipro_dataset *out, ipro_error *err);

/* DIR/train or DIR/val of an image folder: every image below each class folder, nested folders
 * included, in torchvision ImageFolder's order, decoded (on worker threads), converted to
 * spec->channels, resized on its shorter side and centre-cropped to spec->height x spec->width,
 * or, with spec->uncropped, kept uncropped (see ipro_dataset's uncropped arrays). Class indices
 * follow the sorted folder names of DIR/train, or of DIR/val when the val split is read from a
 * folder without DIR/train; at most IPRO_DATASET_MAX_CLASSES class folders. A class folder with
 * no image, or none that decodes, is an error. */
ipro_status ipro_dataset_read_imagefolder(const ipro_dataset_spec *spec, ipro_dataset_split split,
                                          ipro_dataset *out, ipro_error *err);
/* x_train/y_train or x_test/y_test of a NumPy .npz (stored or deflated members). num_classes is
 * spec->classes when set (a label at or above it is an error), else one more than the largest
 * label of both splits; a label at or above IPRO_DATASET_MAX_CLASSES is an error either way. */
ipro_status ipro_dataset_read_npz(const ipro_dataset_spec *spec, ipro_dataset_split split,
                                  ipro_dataset *out, ipro_error *err);

/* Finds DIRECTORY/NAME.gz or DIRECTORY/NAME, trying each directory in turn; writes the first
 * that exists into path, or fails with a message listing every place it looked. */
ipro_status ipro_dataset_find_file(const char *const *directories, int directory_count,
                                   const char *name, char *path, size_t path_size, ipro_error *err);

#endif
