/* Dataset SPEC strings, the file names of each official distribution, and normalisation
 * constants (see dataset.h). The byte formats themselves are read in dataset_formats.c. */
#include "dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  ipro_dataset_kind kind;
  const char *name;
  const char *default_directory; /* NULL: the SPEC must name one */
  const char *archive_folder;    /* the folder the official archive extracts to, or NULL */
  int channels, num_classes;
  float mean[3], std[3];
} dataset_info;

/* Constants: MNIST and Fashion-MNIST as used in the PyTorch examples and the Fashion-MNIST
 * benchmarks; CIFAR as computed over the training pixels and quoted across the literature. */
static const dataset_info datasets[] = {
    {IPRO_DATASET_MNIST, "mnist", NULL, NULL, 1, 10, {0.1307f}, {0.3081f}},
    {IPRO_DATASET_FASHION_MNIST,
     "fashion-mnist",
     IPRO_FASHION_MNIST_DEFAULT_DIR,
     NULL,
     1,
     10,
     {0.2860f},
     {0.3530f}},
    {IPRO_DATASET_CIFAR10,
     "cifar10",
     NULL,
     "cifar-10-batches-bin",
     3,
     10,
     {0.4914f, 0.4822f, 0.4465f},
     {0.2470f, 0.2435f, 0.2616f}},
    {IPRO_DATASET_CIFAR100,
     "cifar100",
     NULL,
     "cifar-100-binary",
     3,
     100,
     {0.5071f, 0.4865f, 0.4409f},
     {0.2673f, 0.2564f, 0.2762f}},
    /* Users' own data: channels, classes and normalisation come from the files. */
    {IPRO_DATASET_IMAGEFOLDER, "imagefolder", NULL, NULL, 0, 0, {0}, {0}},
    {IPRO_DATASET_NPZ, "npz", NULL, NULL, 0, 0, {0}, {0}},
};

static const dataset_info *info_of(ipro_dataset_kind kind) {
  for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
    if (datasets[i].kind == kind) return &datasets[i];
  return NULL;
}

const char *ipro_dataset_kind_name(ipro_dataset_kind kind) {
  const dataset_info *info = info_of(kind);
  return info ? info->name : "unknown";
}

ipro_status ipro_dataset_parse_spec(const char *text, ipro_dataset_spec *out, ipro_error *err) {
  static const char *usage = "expected fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR, "
                             "imagefolder:DIR or npz:FILE";
  memset(out, 0, sizeof *out);
  const char *colon = strchr(text, ':');
  size_t name_length = colon ? (size_t)(colon - text) : strlen(text);
  const dataset_info *info = NULL;
  for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
    if (strlen(datasets[i].name) == name_length && !strncmp(datasets[i].name, text, name_length))
      info = &datasets[i];
  if (!info)
    return ipro_error_set(err, "dataset '%s': unknown dataset name '%.*s'; %s", text,
                          (int)name_length, text, usage);
  out->kind = info->kind;
  const char *directory = colon ? colon + 1 : info->default_directory;
  if (!directory || !*directory)
    return ipro_error_set(err, "dataset '%s': %s needs %s (%s:%s)", text, info->name,
                          info->kind == IPRO_DATASET_NPZ ? "a file" : "a directory", info->name,
                          info->kind == IPRO_DATASET_NPZ ? "FILE" : "DIR");
  if (strlen(directory) >= sizeof out->directory)
    return ipro_error_set(err, "dataset '%s': directory name longer than %zu characters", text,
                          sizeof out->directory - 1);
  strcpy(out->directory, directory);
  return IPRO_OK;
}

static bool file_exists(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

ipro_status ipro_dataset_find_file(const char *const *directories, int directory_count,
                                   const char *name, char *path, size_t path_size,
                                   ipro_error *err) {
  static const char *suffixes[] = {".gz", ""};
  char looked[768] = "";
  size_t used = 0;
  for (int d = 0; d < directory_count; d++) {
    for (int s = 0; s < 2; s++) {
      int length = snprintf(path, path_size, "%s/%s%s", directories[d], name, suffixes[s]);
      if (length < 0 || (size_t)length >= path_size)
        return ipro_error_set(err, "path too long: %s/%s%s", directories[d], name, suffixes[s]);
      if (file_exists(path)) return IPRO_OK;
      if (used < sizeof looked) {
        int wrote = snprintf(looked + used, sizeof looked - used, "%s%s", used ? ", " : "", path);
        if (wrote > 0) used += (size_t)wrote;
      }
    }
  }
  return ipro_error_set(err, "missing file %s: looked for %s", name, looked);
}

static ipro_status load_idx(const dataset_info *info, const char *directory,
                            ipro_dataset_split split, ipro_dataset *out, ipro_error *err) {
  const char *prefix = split == IPRO_SPLIT_TRAIN ? "train" : "t10k";
  char images_name[64], labels_name[64], images_path[1024], labels_path[1024];
  snprintf(images_name, sizeof images_name, "%s-images-idx3-ubyte", prefix);
  snprintf(labels_name, sizeof labels_name, "%s-labels-idx1-ubyte", prefix);
  if (ipro_dataset_find_file(&directory, 1, images_name, images_path, sizeof images_path, err) ||
      ipro_dataset_find_file(&directory, 1, labels_name, labels_path, sizeof labels_path, err))
    return ipro_error_prefix(err, "%s", info->name);
  return ipro_dataset_read_idx(images_path, labels_path, out, err);
}

static ipro_status load_cifar(const dataset_info *info, const char *directory,
                              ipro_dataset_split split, ipro_dataset *out, ipro_error *err) {
  char names[5][32];
  int count = 0;
  if (info->kind == IPRO_DATASET_CIFAR10 && split == IPRO_SPLIT_TRAIN)
    for (count = 0; count < 5; count++)
      snprintf(names[count], 32, "data_batch_%d.bin", count + 1);
  else if (info->kind == IPRO_DATASET_CIFAR10)
    snprintf(names[count++], 32, "test_batch.bin");
  else
    snprintf(names[count++], 32, "%s.bin", split == IPRO_SPLIT_TRAIN ? "train" : "test");

  char nested[1024];
  snprintf(nested, sizeof nested, "%s/%s", directory, info->archive_folder);
  const char *directories[] = {directory, nested};
  char paths[5][1024];
  const char *path_list[5];
  for (int i = 0; i < count; i++) {
    if (ipro_dataset_find_file(directories, 2, names[i], paths[i], sizeof paths[i], err))
      return ipro_error_prefix(err, "%s", info->name);
    path_list[i] = paths[i];
  }
  out->channels = 3;
  out->height = out->width = 32;
  int label_bytes = info->kind == IPRO_DATASET_CIFAR100 ? 2 : 1;
  return ipro_dataset_read_cifar(path_list, count, label_bytes, 20, out, err);
}

/* The split's own per-channel mean and standard deviation of pixel/255 (a constant channel gets
 * std 1 so that normalising stays finite); of an uncropped split, over the uncropped pixels. */
static void measure_normalization(ipro_dataset *data) {
  for (int c = 0; c < data->channels; c++) {
    double sum = 0, squares = 0, n = 0;
    for (int64_t i = 0; i < data->count; i++) {
      size_t plane = (size_t)data->height * (size_t)data->width;
      const uint8_t *image;
      if (data->uncropped_pixels) {
        plane = (size_t)data->uncropped_sizes[2 * i] * (size_t)data->uncropped_sizes[2 * i + 1];
        image = data->uncropped_pixels + data->uncropped_offsets[i];
      } else {
        image = data->images + (size_t)i * (size_t)data->channels * plane;
      }
      const uint8_t *pixels = image + (size_t)c * plane;
      uint64_t s = 0, q = 0;
      for (size_t p = 0; p < plane; p++) {
        s += pixels[p];
        q += (uint64_t)pixels[p] * pixels[p];
      }
      sum += (double)s;
      squares += (double)q;
      n += (double)plane;
    }
    n *= 255.0;
    double mean = sum / n, variance = squares / (n * 255.0) - mean * mean;
    data->mean[c] = (float)mean;
    data->std[c] = variance > 1e-12 ? (float)sqrt(variance) : 1.0f;
  }
}

ipro_status ipro_dataset_load(const ipro_dataset_spec *spec, ipro_dataset_split split,
                              ipro_dataset *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  const dataset_info *info = info_of(spec->kind);
  if (!info) return ipro_error_set(err, "dataset kind %d is not known", (int)spec->kind);
  out->kind = spec->kind;
  out->split = split;
  out->num_classes = info->num_classes;
  bool idx = spec->kind == IPRO_DATASET_MNIST || spec->kind == IPRO_DATASET_FASHION_MNIST;
  ipro_status status;
  if (spec->kind == IPRO_DATASET_IMAGEFOLDER)
    status = ipro_dataset_read_imagefolder(spec, split, out, err);
  else if (spec->kind == IPRO_DATASET_NPZ)
    status = ipro_dataset_read_npz(spec, split, out, err);
  else
    status = idx ? load_idx(info, spec->directory, split, out, err)
                 : load_cifar(info, spec->directory, split, out, err);
  if (status != IPRO_OK) {
    ipro_dataset_free(out);
    return status;
  }
  if (!info->channels) {
    measure_normalization(out);
    return IPRO_OK;
  }
  if (out->channels != info->channels) {
    ipro_dataset_free(out);
    return ipro_error_set(err, "%s in %s: images have %d channels, expected %d", info->name,
                          spec->directory, out->channels, info->channels);
  }
  ipro_dataset_default_normalization(spec->kind, out->mean, out->std);
  return IPRO_OK;
}

ipro_status ipro_dataset_open(const char *spec_text, ipro_dataset_split split, ipro_dataset *out,
                              ipro_error *err) {
  ipro_dataset_spec spec;
  memset(out, 0, sizeof *out);
  if (ipro_dataset_parse_spec(spec_text, &spec, err)) return IPRO_ERROR;
  return ipro_dataset_load(&spec, split, out, err);
}

void ipro_dataset_free(ipro_dataset *data) {
  if (!data) return;
  free(data->images);
  free(data->labels);
  data->images = NULL, data->labels = NULL;
  free(data->uncropped_pixels);
  free(data->uncropped_offsets);
  free(data->uncropped_sizes);
  data->uncropped_pixels = NULL;
  data->uncropped_offsets = NULL;
  data->uncropped_sizes = NULL;
  for (int c = 0; data->class_names && c < data->num_classes; c++)
    free(data->class_names[c]);
  free(data->class_names);
  data->class_names = NULL;
  for (int64_t i = 0; i < data->skipped; i++)
    free(data->skipped_paths[i]);
  free(data->skipped_paths);
  data->skipped_paths = NULL;
  data->skipped = 0;
  free(data->unread_format_example);
  data->unread_format_example = NULL;
  data->unread_format_files = 0;
  data->count = 0;
  data->bytes = 0;
}

void ipro_dataset_default_normalization(ipro_dataset_kind kind, float *mean, float *std) {
  const dataset_info *info = info_of(kind);
  for (int c = 0; info && c < info->channels; c++) {
    mean[c] = info->mean[c];
    std[c] = info->std[c];
  }
}

bool ipro_normalization_usable(float mean, float std) {
  return isfinite(mean) && isfinite(std) && std > 0;
}

ipro_status ipro_dataset_set_normalization(ipro_dataset *data, const float *mean, const float *std,
                                           int count, ipro_error *err) {
  if (count != data->channels)
    return ipro_error_set(err, "normalisation for %s: %d mean/std values given for %d channels",
                          ipro_dataset_kind_name(data->kind), count, data->channels);
  for (int c = 0; c < count; c++)
    if (!ipro_normalization_usable(mean[c], std[c]))
      return ipro_error_set(err,
                            "normalisation for %s: channel %d has mean %g, std %g (std must be "
                            "positive and both finite)",
                            ipro_dataset_kind_name(data->kind), c, mean[c], std[c]);
  for (int c = 0; c < count; c++) {
    data->mean[c] = mean[c];
    data->std[c] = std[c];
  }
  return IPRO_OK;
}

float ipro_dataset_normalize_pixel(const ipro_dataset *data, int channel, uint8_t pixel) {
  /* Each step rounded to float32 like torchvision's ToTensor (x.float().div(255)) and
   * Normalize ((x - mean) / std). */
  float scaled = (float)pixel / 255.0f;
  float centred = scaled - data->mean[channel];
  return centred / data->std[channel];
}
