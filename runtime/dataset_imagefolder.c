/* `--data imagefolder:DIR`: the layout torchvision's ImageFolder made common,
 * DIR/train/CLASS/IMAGE and DIR/val/CLASS/IMAGE with .png, .jpg or .jpeg images.
 *
 * A class's images are every such file below its folder, in folders nested to any depth, found
 * and ordered as torchvision finds them (imagefolder_listing.h: sorted os.walk roots following
 * links, then names; a link looping back is not walked again). An entry named like an image
 * that is not a file once links are followed (a dangling link...) counts as an image that cannot
 * be decoded, and files of formats torchvision reads but this does not (.bmp, .webp...) are left
 * out, counted in the dataset for the caller to report (cli/data_source.c prints one line).
 *
 * Class indices are the positions of DIR/train's class folders sorted by name (byte order, as
 * Python's sorted() gives), and DIR/val's folders are mapped through the same names, so a val
 * class unknown to train is an error rather than a silently shifted label. A folder without
 * DIR/train (one made for evaluation) takes the val split's classes from DIR/val's own folders.
 * An empty class folder is an error too: it would make a class that can never be seen; and so is
 * a class folder none of whose images can be decoded.
 *
 * Every image is decoded once, at load, into the uint8 CHW array the other datasets hold
 * (image_decode.h: channel conversion, resize on the shorter side, centre crop to the model's
 * input), by one worker thread per core pulling the next file index from a shared counter. Each
 * image's slot in the array is fixed by its index, so the result does not depend on the threads'
 * timing. An image that cannot be decoded (or was listed as not being a file) is left out and its
 * message kept in skipped_paths for the caller to report, or fails the load when the spec is
 * strict.
 *
 * An uncropped split (spec->uncropped, for random-resized-crop) keeps each image at its own size,
 * shrunk only as far as covering 8/7 of the model's input (ipro_image_kept_size): each worker
 * allocates its images, and once all are decoded they are gathered into one block in index order,
 * so the load briefly holds them twice. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "image_decode.h"
#include "imagefolder_listing.h"

#define MAX_WORKERS 16

typedef struct {
  char **items;
  int count, capacity;
} name_list;

static void name_list_free(name_list *list) {
  for (int i = 0; i < list->count; i++)
    free(list->items[i]);
  free(list->items);
  memset(list, 0, sizeof *list);
}

static bool name_list_add(name_list *list, const char *name) {
  if (list->count == list->capacity) {
    int capacity = list->capacity ? list->capacity * 2 : 16;
    char **grown = realloc(list->items, sizeof(char *) * (size_t)capacity);
    if (!grown) return false;
    list->items = grown, list->capacity = capacity;
  }
  size_t length = strlen(name) + 1;
  list->items[list->count] = malloc(length);
  if (!list->items[list->count]) return false;
  memcpy(list->items[list->count++], name, length);
  return true;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of folder's subfolders (links to folders included): the class folders. */
static ipro_status list_class_folders(const char *folder, name_list *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  DIR *dir = opendir(folder);
  if (!dir)
    return ipro_error_set(err, "imagefolder: cannot open folder %s: %s", folder, strerror(errno));
  struct dirent *entry;
  ipro_status status = IPRO_OK;
  while (status == IPRO_OK && (entry = readdir(dir))) {
    if (entry->d_name[0] == '.') continue;
    char *path = ipro_imagefolder_join_path(folder, entry->d_name);
    struct stat info;
    bool wanted = path && stat(path, &info) == 0 && S_ISDIR(info.st_mode);
    free(path);
    if (wanted && !name_list_add(out, entry->d_name))
      status = ipro_error_set(err, "imagefolder: out of memory listing %s", folder);
  }
  closedir(dir);
  if (status != IPRO_OK) {
    name_list_free(out);
    return status;
  }
  if (out->count) qsort(out->items, (size_t)out->count, sizeof(char *), compare_names);
  return IPRO_OK;
}

/* ---- decoding on worker threads ---- */

typedef struct {
  const ipro_dataset_spec *spec;
  char **paths;
  char **failures; /* per image: the message when it could not be decoded */
  uint8_t *images;
  size_t image_bytes;
  uint8_t **kept;     /* uncropped: each image's pixels */
  int32_t *kept_size; /* uncropped: [2 * count], each image's height and width */
  int64_t count;
  int64_t next; /* under lock */
  pthread_mutex_t lock;
} decode_job;

static void *decode_worker(void *argument) {
  decode_job *job = argument;
  for (;;) {
    pthread_mutex_lock(&job->lock);
    int64_t i = job->next++;
    pthread_mutex_unlock(&job->lock);
    if (i >= job->count) return NULL;
    if (job->failures[i]) continue; /* listed with its problem: not an image file */
    ipro_error err = {{0}};
    const ipro_dataset_spec *spec = job->spec;
    ipro_status status;
    if (spec->uncropped) {
      int height = 0, width = 0;
      status = ipro_image_decode_kept(
          job->paths[i], spec->channels, IPRO_DATASET_CROP_COVER(spec->height),
          IPRO_DATASET_CROP_COVER(spec->width), &job->kept[i], &height, &width, &err);
      job->kept_size[2 * i] = height, job->kept_size[2 * i + 1] = width;
    } else {
      status = ipro_image_decode(job->paths[i], spec->channels, spec->height, spec->width,
                                 job->images + (size_t)i * job->image_bytes, &err);
    }
    if (status != IPRO_OK) {
      size_t length = strlen(err.message) + 1;
      job->failures[i] = malloc(length);
      if (job->failures[i]) memcpy(job->failures[i], err.message, length);
    }
  }
}

static void decode_all(decode_job *job) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int workers = cores < 1 ? 1 : cores > MAX_WORKERS ? MAX_WORKERS : (int)cores;
  if (workers > job->count) workers = (int)job->count;
  pthread_t threads[MAX_WORKERS];
  int started = 0;
  pthread_mutex_init(&job->lock, NULL);
  for (int t = 0; t < workers; t++)
    if (pthread_create(&threads[t], NULL, decode_worker, job) == 0) started++;
  if (!started) decode_worker(job);
  for (int t = 0; t < started; t++)
    pthread_join(threads[t], NULL);
  pthread_mutex_destroy(&job->lock);
}

/* Leaves out the images that failed (keeping order), moving their messages to out. */
static ipro_status keep_decoded(decode_job *job, int32_t *labels, ipro_dataset *out,
                                ipro_error *err) {
  int64_t kept = 0, failed = 0;
  for (int64_t i = 0; i < job->count; i++)
    failed += job->failures[i] != NULL;
  if (failed) {
    out->skipped_paths = calloc((size_t)failed, sizeof(char *));
    if (!out->skipped_paths) return ipro_error_set(err, "imagefolder: out of memory");
  }
  for (int64_t i = 0; i < job->count; i++) {
    if (job->failures[i]) {
      out->skipped_paths[out->skipped++] = job->failures[i];
      job->failures[i] = NULL;
      continue;
    }
    if (kept != i && job->kept) {
      job->kept[kept] = job->kept[i], job->kept[i] = NULL;
      job->kept_size[2 * kept] = job->kept_size[2 * i];
      job->kept_size[2 * kept + 1] = job->kept_size[2 * i + 1];
    } else if (kept != i) {
      memmove(job->images + (size_t)kept * job->image_bytes,
              job->images + (size_t)i * job->image_bytes, job->image_bytes);
    }
    labels[kept] = labels[i];
    kept++;
  }
  out->count = kept;
  return IPRO_OK;
}

/* A class folder whose every image failed to decode would leave its class without an example,
 * as an empty folder would (which is an error), so it is one too, rather than warnings that
 * scroll past while training goes on without the class. */
static ipro_status check_every_class_decoded(const decode_job *job, const int32_t *labels,
                                             char *const *class_names, int class_count,
                                             const char *split_folder, ipro_error *err) {
  int64_t *listed = calloc((size_t)class_count, sizeof *listed);
  int64_t *decoded = calloc((size_t)class_count, sizeof *decoded);
  const char **first_failure = calloc((size_t)class_count, sizeof *first_failure);
  ipro_status status =
      listed && decoded && first_failure
          ? IPRO_OK
          : ipro_error_set(err, "imagefolder: out of memory counting %d classes", class_count);
  for (int64_t i = 0; status == IPRO_OK && i < job->count; i++) {
    listed[labels[i]]++;
    if (!job->failures[i])
      decoded[labels[i]]++;
    else if (!first_failure[labels[i]])
      first_failure[labels[i]] = job->failures[i];
  }
  for (int c = 0; status == IPRO_OK && c < class_count; c++)
    if (listed[c] && !decoded[c])
      status = ipro_error_set(err,
                              "imagefolder: class folder %s/%s: none of its %lld image files "
                              "could be read, so the class would have no example (the first: %s)",
                              split_folder, class_names[c], (long long)listed[c],
                              first_failure[c] ? first_failure[c] : "out of memory");
  free(listed);
  free(decoded);
  free(first_failure);
  return status;
}

/* The kept images of an uncropped split moved into out's one block, in index order. */
static ipro_status gather_uncropped(decode_job *job, ipro_dataset *out, ipro_error *err) {
  size_t total = 0;
  for (int64_t i = 0; i < out->count; i++)
    total +=
        (size_t)job->kept_size[2 * i] * (size_t)job->kept_size[2 * i + 1] * (size_t)out->channels;
  out->uncropped_pixels = malloc(total ? total : 1);
  out->uncropped_offsets = malloc(sizeof(int64_t) * (size_t)out->count);
  out->uncropped_sizes = malloc(sizeof(int32_t) * 2 * (size_t)out->count);
  if (!out->uncropped_pixels || !out->uncropped_offsets || !out->uncropped_sizes)
    return ipro_error_set(err, "imagefolder %s: out of memory for %zu bytes of uncropped images",
                          job->spec->directory, total);
  size_t offset = 0;
  for (int64_t i = 0; i < out->count; i++) {
    size_t bytes =
        (size_t)job->kept_size[2 * i] * (size_t)job->kept_size[2 * i + 1] * (size_t)out->channels;
    memcpy(out->uncropped_pixels + offset, job->kept[i], bytes);
    free(job->kept[i]);
    job->kept[i] = NULL;
    out->uncropped_offsets[i] = (int64_t)offset;
    out->uncropped_sizes[2 * i] = job->kept_size[2 * i];
    out->uncropped_sizes[2 * i + 1] = job->kept_size[2 * i + 1];
    offset += bytes;
  }
  out->bytes =
      total + (sizeof(int64_t) + 2 * sizeof(int32_t) + sizeof *out->labels) * (size_t)out->count;
  return IPRO_OK;
}

/* ---- the split ---- */

/* Every image file of the split with its class index, in torchvision's order. The class is found
 * by binary search in the sorted class names: a scan for each of a split's folders would compare
 * 10^10 names for 100,000 classes. */
static ipro_status collect_images(const char *split_folder, const name_list *classes,
                                  const name_list *split_classes, ipro_imagefolder_files *files,
                                  ipro_error *err) {
  for (int s = 0; s < split_classes->count; s++) {
    char *const *found = bsearch(&split_classes->items[s], classes->items, (size_t)classes->count,
                                 sizeof *classes->items, compare_names);
    if (!found)
      return ipro_error_set(err,
                            "imagefolder: class folder '%s' in %s is not a class of the "
                            "training folder",
                            split_classes->items[s], split_folder);
    char *folder = ipro_imagefolder_join_path(split_folder, split_classes->items[s]);
    if (!folder) return ipro_error_set(err, "imagefolder: out of memory");
    int64_t images_before = files->count, unread_before = files->unread_format_files;
    int32_t label = (int32_t)(found - classes->items);
    /* the unread formats of this class alone, then those of the split so far */
    unsigned formats_before = files->unread_formats;
    files->unread_formats = 0;
    ipro_status status = ipro_imagefolder_list_class(folder, label, files, err);
    char formats[64];
    ipro_imagefolder_unread_format_names(files->unread_formats, formats, sizeof formats);
    files->unread_formats |= formats_before;
    int64_t unread = files->unread_format_files - unread_before;
    if (status == IPRO_OK && files->count == images_before && unread)
      status = ipro_error_set(err,
                              "imagefolder: class folder %s holds no .png, .jpg or .jpeg image: "
                              "its %lld image file%s of formats infopro does not read (%s)",
                              folder, (long long)unread, unread == 1 ? " is" : "s are", formats);
    else if (status == IPRO_OK && files->count == images_before)
      status = ipro_error_set(err,
                              "imagefolder: class folder %s holds no .png, .jpg or .jpeg "
                              "image",
                              folder);
    free(folder);
    if (status != IPRO_OK) return status;
  }
  return IPRO_OK;
}

static ipro_status check_spec(const ipro_dataset_spec *spec, ipro_error *err) {
  if (spec->channels != 1 && spec->channels != 3)
    return ipro_error_set(err,
                          "imagefolder %s: images can be made grey (1 channel) or RGB (3), "
                          "not %d channels",
                          spec->directory, spec->channels);
  if (spec->height < 1 || spec->width < 1 || spec->height > 8192 || spec->width > 8192)
    return ipro_error_set(err,
                          "imagefolder %s: target image size %dx%d is not 1..8192 (the "
                          "model's input size must be known)",
                          spec->directory, spec->width, spec->height);
  return IPRO_OK;
}

ipro_status ipro_dataset_read_imagefolder(const ipro_dataset_spec *spec, ipro_dataset_split split,
                                          ipro_dataset *out, ipro_error *err) {
  if (check_spec(spec, err) != IPRO_OK) return IPRO_ERROR;
  char *train_folder = ipro_imagefolder_join_path(spec->directory, "train");
  char *split_folder =
      ipro_imagefolder_join_path(spec->directory, split == IPRO_SPLIT_TRAIN ? "train" : "val");
  name_list classes = {0}, split_classes = {0};
  ipro_imagefolder_files files = {0};
  decode_job job = {.spec = spec};
  /* The classes are DIR/train's. Evaluation reads only DIR/val, so a folder holding val alone
   * takes its classes from val's own folders. */
  const char *class_folder = train_folder;
  struct stat info;
  if (split == IPRO_SPLIT_TEST && train_folder && stat(train_folder, &info) != 0 && errno == ENOENT)
    class_folder = split_folder;
  ipro_status status = train_folder && split_folder
                           ? list_class_folders(class_folder, &classes, err)
                           : ipro_error_set(err, "imagefolder: out of memory");
  if (status == IPRO_OK && classes.count == 0)
    status = ipro_error_set(err, "imagefolder: %s has no class folders", class_folder);
  if (status == IPRO_OK && classes.count > IPRO_DATASET_MAX_CLASSES)
    status = ipro_error_set(err,
                            "imagefolder: %s has %d class folders; at most %d are supported (the "
                            "most classes a compiled program holds)",
                            class_folder, classes.count, IPRO_DATASET_MAX_CLASSES);
  if (status == IPRO_OK) status = list_class_folders(split_folder, &split_classes, err);
  if (status == IPRO_OK && split_classes.count == 0)
    status = ipro_error_set(err, "imagefolder: %s has no class folders", split_folder);
  if (status == IPRO_OK)
    status = collect_images(split_folder, &classes, &split_classes, &files, err);
  if (status == IPRO_OK) {
    out->channels = spec->channels, out->height = spec->height, out->width = spec->width;
    out->num_classes = classes.count;
    out->class_names = classes.items; /* the dataset owns the names from here */
    classes.items = NULL, classes.count = 0;
    /* an entry listed with a problem (a dangling link...) is, from here, an image that failed */
    job.paths = files.paths, job.failures = files.problems;
    job.count = files.count;
    job.image_bytes = (size_t)spec->channels * (size_t)spec->height * (size_t)spec->width;
    if (spec->uncropped) {
      job.kept = calloc((size_t)job.count, sizeof(uint8_t *));
      job.kept_size = calloc((size_t)job.count * 2, sizeof(int32_t));
    } else {
      job.images = malloc(job.image_bytes * (size_t)job.count);
    }
    if (!(job.images || (job.kept && job.kept_size)))
      status = ipro_error_set(err, "imagefolder %s: out of memory for %lld images of %zu bytes",
                              split_folder, (long long)job.count, job.image_bytes);
  }
  if (status == IPRO_OK) {
    decode_all(&job);
    for (int64_t i = 0; spec->strict && i < job.count && status == IPRO_OK; i++)
      if (job.failures[i])
        status =
            ipro_error_set(err, "%s (--strict: unreadable images are errors)", job.failures[i]);
  }
  if (status == IPRO_OK)
    status = check_every_class_decoded(&job, files.labels, out->class_names, out->num_classes,
                                       split_folder, err);
  if (status == IPRO_OK) status = keep_decoded(&job, files.labels, out, err);
  if (status == IPRO_OK && out->count == 0)
    status = ipro_error_set(err, "imagefolder: no image in %s could be decoded", split_folder);
  if (status == IPRO_OK && spec->uncropped) status = gather_uncropped(&job, out, err);
  if (status == IPRO_OK) {
    if (!spec->uncropped) out->bytes = (job.image_bytes + sizeof *out->labels) * (size_t)out->count;
    out->images = job.images, out->labels = files.labels;
    job.images = NULL, files.labels = NULL;
    out->unread_format_files = files.unread_format_files;
    ipro_imagefolder_unread_format_names(files.unread_formats, out->unread_formats,
                                         sizeof out->unread_formats);
    out->unread_format_example = files.unread_format_example;
    files.unread_format_example = NULL;
  }
  free(job.images);
  for (int64_t i = 0; job.kept && i < job.count; i++)
    free(job.kept[i]);
  free(job.kept);
  free(job.kept_size);
  ipro_imagefolder_files_free(&files);
  name_list_free(&split_classes);
  name_list_free(&classes);
  free(train_folder);
  free(split_folder);
  return status;
}
