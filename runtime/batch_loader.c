/* The batch loader: assembles batches from batch_loader_examples.c's pieces, either on demand or
 * on a worker thread one batch ahead of the caller (double buffering; see batch_loader.h).
 *
 * Threading. Two slots hold batches; batch k always goes to slot k % 2. The worker fills batch k
 * once its slot is free, i.e. once the caller has moved past batch k - 2, so while the caller
 * trains on batch k - 1 the worker prepares batch k. The caller takes batches in order, so no
 * timing can reorder them, and since each batch is a pure function of (seed, epoch, index) the
 * contents match a synchronous run exactly. With one_slot there is one slot, and the worker fills
 * batch k once the caller has released batch k - 1 (it copies each batch away first). The order
 * array and the epoch number are written only in start_epoch, after the worker has been stopped and
 * is idle, and published under the lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch_loader.h"

typedef enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_HELD } slot_state;

typedef struct {
  ipro_batch batch;
  slot_state state;
  ipro_status status;
  ipro_error error;
} slot;

struct ipro_batch_loader {
  const ipro_dataset *data;
  ipro_batch_options options;
  int64_t examples, batches;
  size_t example_floats;
  ipro_pixel_table table;
  int64_t *order;
  uint8_t *scratch; /* random-resized-crop: one resized example before normalisation */
  slot slots[2];
  int slot_count;
  size_t bytes;

  /* Under lock once the worker runs. */
  int64_t epoch;
  bool started;     /* start_epoch has been called */
  bool active;      /* the worker may produce batches of the current epoch */
  bool worker_busy; /* the worker is filling a slot outside the lock */
  bool stopping;    /* destroy asked the worker to finish */
  int64_t produced; /* batches the worker has taken on this epoch */
  int64_t consumed; /* batches handed to the caller this epoch */
  bool failed;      /* a batch of this epoch failed: failure repeats until start_epoch */
  ipro_error failure;
  bool has_thread;
  int64_t made;       /* examples made so far, by whichever thread makes batches */
  double making_time; /* seconds spent making them */
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t changed;
};

static double seconds_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

static ipro_status make_examples(const ipro_batch_loader *loader, int64_t index, ipro_batch *batch,
                                 ipro_error *err) {
  const ipro_dataset *data = loader->data;
  const ipro_batch_options *options = &loader->options;
  int64_t first = index * options->batch_size, count = loader->examples - first;
  if (count > options->batch_size) count = options->batch_size;
  batch->count = count;
  batch->index = index;
  batch->epoch = loader->epoch;
  for (int64_t i = 0; i < count; i++) {
    int64_t example = loader->order[first + i];
    int32_t label = data->labels[example];
    if (label < 0 || label >= data->num_classes)
      return ipro_error_set(err,
                            "%s, batch %lld of epoch %lld: label %d of example %lld is outside "
                            "0..%d",
                            ipro_dataset_kind_name(data->kind), (long long)index,
                            (long long)loader->epoch, label, (long long)example,
                            data->num_classes - 1);
    float *out = batch->images + (size_t)i * loader->example_floats;
    if (options->random_resized_crop) {
      ipro_crop_box box = ipro_batch_resized_crop_choice(
          options->seed, loader->epoch, example, data->uncropped_sizes[2 * example],
          data->uncropped_sizes[2 * example + 1], options->flip);
      if (!ipro_batch_fill_resized_crop(data, example, box, &loader->table, loader->scratch, out))
        return ipro_error_set(err, "%s, batch %lld of epoch %lld: out of memory resizing a crop",
                              ipro_dataset_kind_name(data->kind), (long long)index,
                              (long long)loader->epoch);
    } else {
      ipro_augment_choice choice = ipro_batch_augment_choice(options->seed, loader->epoch, example,
                                                             options->crop_padding, options->flip);
      ipro_batch_fill_example(data, example, options->crop_padding, choice, &loader->table, out);
    }
    batch->labels[i] = label;
  }
  return IPRO_OK;
}

/* Makes a batch and says how long that took; the caller adds it to the loader's figures (the
 * worker under the lock). */
static ipro_status make_batch(const ipro_batch_loader *loader, int64_t index, ipro_batch *batch,
                              double *seconds, ipro_error *err) {
  double start = seconds_now();
  ipro_status status = make_examples(loader, index, batch, err);
  *seconds = seconds_now() - start;
  return status;
}

static void *worker_main(void *argument) {
  ipro_batch_loader *loader = argument;
  pthread_mutex_lock(&loader->lock);
  for (;;) {
    slot *target = NULL;
    while (!loader->stopping) {
      if (loader->active && loader->produced < loader->batches) {
        target = &loader->slots[loader->produced % loader->slot_count];
        if (target->state == SLOT_FREE) break;
      }
      target = NULL;
      pthread_cond_wait(&loader->changed, &loader->lock);
    }
    if (!target) break;
    int64_t index = loader->produced++;
    target->state = SLOT_FILLING;
    loader->worker_busy = true;
    pthread_mutex_unlock(&loader->lock);
    double seconds = 0;
    target->status = make_batch(loader, index, &target->batch, &seconds, &target->error);
    pthread_mutex_lock(&loader->lock);
    loader->made += target->batch.count;
    loader->making_time += seconds;
    target->state = SLOT_READY;
    loader->worker_busy = false;
    if (target->status != IPRO_OK) loader->produced = loader->batches; /* nothing after a failure */
    pthread_cond_broadcast(&loader->changed);
  }
  pthread_mutex_unlock(&loader->lock);
  return NULL;
}

static ipro_status check_options(const ipro_dataset *data, const ipro_batch_options *options,
                                 ipro_error *err) {
  const char *name = ipro_dataset_kind_name(data->kind);
  bool uncropped = data->uncropped_pixels != NULL;
  if (uncropped != options->random_resized_crop)
    return ipro_error_set(err,
                          "batch loader: %s dataset %s: random-resized-crop needs an image folder "
                          "kept uncropped, and an uncropped one is only for random-resized-crop",
                          name, uncropped ? "is uncropped" : "holds cropped images");
  if (options->random_resized_crop && options->crop_padding)
    return ipro_error_set(err, "batch loader: random-resized-crop excludes crop padding %d",
                          options->crop_padding);
  if (!(data->images || uncropped) || !data->labels || data->count <= 0 || data->channels < 1 ||
      data->channels > IPRO_DATASET_MAX_CHANNELS || data->height < 1 || data->width < 1 ||
      data->num_classes < 1)
    return ipro_error_set(err, "batch loader: %s dataset is empty or not loaded", name);
  if (options->batch_size < 1)
    return ipro_error_set(err, "batch loader: batch size %lld must be at least 1",
                          (long long)options->batch_size);
  if (options->limit < 0 || options->limit > data->count)
    return ipro_error_set(err, "batch loader: cannot use the first %lld of %lld %s examples",
                          (long long)options->limit, (long long)data->count, name);
  if (options->image_memory && options->background)
    return ipro_error_set(err, "batch loader: images in the caller's memory need no background");
  if (options->crop_padding < 0 || options->crop_padding > 4096)
    return ipro_error_set(err, "batch loader: crop padding %d is outside 0..4096",
                          options->crop_padding);
  return IPRO_OK;
}

ipro_status ipro_batch_loader_create(const ipro_dataset *data, const ipro_batch_options *options,
                                     ipro_batch_loader **out, ipro_error *err) {
  *out = NULL;
  if (check_options(data, options, err)) return IPRO_ERROR;
  ipro_batch_loader *loader = calloc(1, sizeof *loader);
  if (!loader) return ipro_error_set(err, "batch loader: out of memory");
  loader->data = data;
  loader->options = *options;
  loader->examples = options->limit ? options->limit : data->count;
  int64_t batch_size = options->batch_size;
  loader->batches = options->drop_last ? loader->examples / batch_size
                                       : (loader->examples + batch_size - 1) / batch_size;
  loader->example_floats = (size_t)data->channels * data->height * data->width;
  ipro_batch_pixel_table(data, &loader->table);
  pthread_mutex_init(&loader->lock, NULL);
  pthread_cond_init(&loader->changed, NULL);
  loader->slot_count = options->background && !options->one_slot ? 2 : 1;

  if (loader->batches == 0) {
    ipro_error_set(err, "batch loader: %lld examples make no complete batch of %lld",
                   (long long)loader->examples, (long long)batch_size);
    goto fail;
  }
  size_t image_bytes = (size_t)batch_size * loader->example_floats * sizeof(float);
  size_t label_bytes = (size_t)batch_size * sizeof(int64_t);
  size_t order_bytes = (size_t)loader->examples * sizeof(int64_t);
  loader->order = malloc(order_bytes);
  bool allocated = loader->order != NULL;
  size_t scratch_bytes = options->random_resized_crop ? loader->example_floats : 0;
  if (scratch_bytes) {
    loader->scratch = malloc(scratch_bytes);
    allocated = allocated && loader->scratch;
  }
  size_t own_image_bytes = options->image_memory ? 0 : image_bytes;
  for (int s = 0; s < loader->slot_count; s++) {
    loader->slots[s].batch.images =
        options->image_memory ? options->image_memory : malloc(image_bytes);
    loader->slots[s].batch.labels = malloc(label_bytes);
    allocated = allocated && loader->slots[s].batch.images && loader->slots[s].batch.labels;
  }
  loader->bytes =
      order_bytes + scratch_bytes + (size_t)loader->slot_count * (own_image_bytes + label_bytes);
  if (!allocated) {
    ipro_error_set(err, "batch loader: out of memory for %zu bytes of batches", loader->bytes);
    goto fail;
  }
  if (options->background) {
    int code = pthread_create(&loader->thread, NULL, worker_main, loader);
    if (code) {
      ipro_error_set(err, "batch loader: cannot start its thread: %s", strerror(code));
      goto fail;
    }
    loader->has_thread = true;
  }
  *out = loader;
  return IPRO_OK;
fail:
  ipro_batch_loader_destroy(loader);
  return IPRO_ERROR;
}

void ipro_batch_loader_destroy(ipro_batch_loader *loader) {
  if (!loader) return;
  if (loader->has_thread) {
    pthread_mutex_lock(&loader->lock);
    loader->stopping = true;
    pthread_cond_broadcast(&loader->changed);
    pthread_mutex_unlock(&loader->lock);
    pthread_join(loader->thread, NULL);
  }
  for (int s = 0; s < 2; s++) {
    if (!loader->options.image_memory) free(loader->slots[s].batch.images);
    free(loader->slots[s].batch.labels);
  }
  free(loader->order);
  free(loader->scratch);
  pthread_cond_destroy(&loader->changed);
  pthread_mutex_destroy(&loader->lock);
  free(loader);
}

int64_t ipro_batch_loader_batches_per_epoch(const ipro_batch_loader *loader) {
  return loader->batches;
}

size_t ipro_batch_loader_bytes(const ipro_batch_loader *loader) { return loader->bytes; }

void ipro_batch_loader_work(ipro_batch_loader *loader, int64_t *examples, double *seconds) {
  pthread_mutex_lock(&loader->lock);
  *examples = loader->made;
  *seconds = loader->making_time;
  pthread_mutex_unlock(&loader->lock);
}

ipro_status ipro_batch_loader_start_epoch(ipro_batch_loader *loader, int64_t epoch,
                                          ipro_error *err) {
  (void)err;
  pthread_mutex_lock(&loader->lock);
  loader->active = false;
  while (loader->worker_busy)
    pthread_cond_wait(&loader->changed, &loader->lock);
  pthread_mutex_unlock(&loader->lock);

  /* The worker is idle and cannot start a batch until active is set again. */
  if (loader->options.shuffle)
    ipro_batch_shuffle(loader->options.seed, epoch, loader->examples, loader->order);
  else
    for (int64_t i = 0; i < loader->examples; i++)
      loader->order[i] = i;

  pthread_mutex_lock(&loader->lock);
  for (int s = 0; s < 2; s++)
    loader->slots[s].state = SLOT_FREE;
  loader->epoch = epoch;
  loader->produced = loader->consumed = 0;
  loader->failed = false;
  loader->started = loader->active = true;
  pthread_cond_broadcast(&loader->changed);
  pthread_mutex_unlock(&loader->lock);
  return IPRO_OK;
}

void ipro_batch_loader_release(ipro_batch_loader *loader) {
  if (!loader->has_thread) return;
  pthread_mutex_lock(&loader->lock);
  for (int s = 0; s < loader->slot_count; s++)
    if (loader->slots[s].state == SLOT_HELD) loader->slots[s].state = SLOT_FREE;
  pthread_cond_broadcast(&loader->changed);
  pthread_mutex_unlock(&loader->lock);
}

static ipro_status fail_epoch(ipro_batch_loader *loader, const ipro_error *error, ipro_error *err) {
  loader->failed = true;
  loader->failure = *error;
  return ipro_error_set(err, "%s", error->message);
}

ipro_status ipro_batch_loader_next(ipro_batch_loader *loader, const ipro_batch **batch,
                                   ipro_error *err) {
  *batch = NULL;
  if (!loader->started)
    return ipro_error_set(err, "batch loader: next called before the first start_epoch");
  if (loader->failed) return ipro_error_set(err, "%s", loader->failure.message);

  if (!loader->has_thread) {
    if (loader->consumed >= loader->batches) return IPRO_OK;
    slot *target = &loader->slots[0];
    double seconds = 0;
    ipro_status status =
        make_batch(loader, loader->consumed, &target->batch, &seconds, &target->error);
    loader->made += target->batch.count;
    loader->making_time += seconds;
    if (status != IPRO_OK) return fail_epoch(loader, &target->error, err);
    loader->consumed++;
    *batch = &target->batch;
    return IPRO_OK;
  }

  pthread_mutex_lock(&loader->lock);
  for (int s = 0; s < 2; s++)
    if (loader->slots[s].state == SLOT_HELD) loader->slots[s].state = SLOT_FREE;
  pthread_cond_broadcast(&loader->changed);
  if (loader->consumed >= loader->batches) {
    pthread_mutex_unlock(&loader->lock);
    return IPRO_OK;
  }
  slot *target = &loader->slots[loader->consumed % loader->slot_count];
  while (target->state != SLOT_READY)
    pthread_cond_wait(&loader->changed, &loader->lock);
  loader->consumed++;
  ipro_status status = target->status;
  if (status != IPRO_OK) {
    fail_epoch(loader, &target->error, err);
    target->state = SLOT_FREE;
  } else {
    target->state = SLOT_HELD;
    *batch = &target->batch;
  }
  pthread_mutex_unlock(&loader->lock);
  return status;
}
