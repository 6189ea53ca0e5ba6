/* Checkpoint files (checkpoint.h; the byte layout is schemas/checkpoint.md). Every integer and
 * float is written byte by byte in little-endian order, so files move between machines. */
#include "checkpoint.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir/checked_size.h"

#include "ir/atomic_file.h"
#include "runtime/framed_file.h"

static const char magic[8] = {'I', 'P', 'R', 'O', 'C', 'K', 'P', 'T'};
#define MAX_NAME_BYTES 4096

void ipro_checkpoint_path(const char *directory, char *path, size_t size) {
  snprintf(path, size, "%s/%s", directory, IPRO_CHECKPOINT_FILE);
}

/* ---- writing ---- */

static void put_position(ipro_byte_writer *w, const ipro_training_position *p) {
  ipro_put_i64(w, p->epochs_done);
  ipro_put_u64(w, p->steps_done);
  ipro_put_i64(w, p->total_epochs);
  ipro_put_u64(w, p->seed);
  ipro_put_i64(w, p->batch);
  ipro_put_i64(w, p->limit);
  ipro_put_u32(w, (uint32_t)p->crop_padding);
  ipro_put_u32(w,
               (p->flip ? 1u : 0u) | (p->random_resized_crop ? 2u : 0u)); /* augmentation flags */
  const ipro_optimizer_settings *o = &p->optimizer;
  ipro_put_u32(w, (uint32_t)o->kind);
  ipro_put_u32(w, o->nesterov ? 1 : 0);
  ipro_put_f32(w, o->momentum);
  ipro_put_f32(w, o->weight_decay);
  ipro_put_f32(w, o->beta1);
  ipro_put_f32(w, o->beta2);
  ipro_put_f32(w, o->epsilon);
  const ipro_lr_schedule *s = &p->schedule;
  ipro_put_u32(w, (uint32_t)s->kind);
  ipro_put_f64(w, s->base_rate);
  ipro_put_i64(w, s->warmup_epochs);
  ipro_put_f64(w, s->gamma);
  ipro_put_u32(w, (uint32_t)s->n_milestones);
  for (int i = 0; i < s->n_milestones; i++)
    ipro_put_i64(w, s->milestones[i]);
}

ipro_status ipro_checkpoint_encode(const ipro_checkpoint *c, uint8_t **bytes, size_t *size,
                                   ipro_error *err) {
  *bytes = NULL;
  *size = 0;
  ipro_byte_writer w = {0};
  ipro_frame_begin(&w);
  put_position(&w, &c->position);
  ipro_put_u32(&w, (uint32_t)c->n_tensors);
  for (int i = 0; i < c->n_tensors; i++) {
    const ipro_checkpoint_tensor *t = &c->tensors[i];
    size_t name_length = strlen(t->name);
    ipro_put_u32(&w, (uint32_t)name_length);
    ipro_put_bytes(&w, t->name, name_length);
    ipro_put_u32(&w, (uint32_t)t->dtype);
    ipro_put_u32(&w, (uint32_t)t->shape.rank);
    for (int d = 0; d < t->shape.rank; d++)
      ipro_put_i64(&w, t->shape.dims[d]);
    ipro_put_u64(&w, t->bytes);
    ipro_put_bytes(&w, t->data, t->bytes);
  }
  ipro_put_u32(&w, (uint32_t)c->n_class_names);
  for (int i = 0; i < c->n_class_names; i++)
    ipro_put_string(&w, c->class_names[i]);
  ipro_put_u32(&w, c->split.K ? 1 : 0); /* version 3: whether the split is recorded */
  if (c->split.K) ipro_split_put(&w, &c->split);
  ipro_put_u32(&w, (uint32_t)c->n_normalization); /* version 3: the normalisation */
  for (int i = 0; i < c->n_normalization; i++)
    ipro_put_f32(&w, c->mean[i]);
  for (int i = 0; i < c->n_normalization; i++)
    ipro_put_f32(&w, c->std[i]);
  if (w.failed) {
    free(w.bytes);
    return ipro_error_set(err, "out of memory encoding a checkpoint");
  }
  ipro_frame_end(&w, magic, IPRO_CHECKPOINT_VERSION);
  *bytes = w.bytes;
  *size = w.size;
  return IPRO_OK;
}

/* ---- reading ---- */

static ipro_status get_position(ipro_byte_reader *r, const char *path, ipro_training_position *p,
                                ipro_error *err) {
  p->epochs_done = ipro_get_i64(r);
  p->steps_done = ipro_get_u64(r);
  p->total_epochs = ipro_get_i64(r);
  p->seed = ipro_get_u64(r);
  p->batch = ipro_get_i64(r);
  p->limit = ipro_get_i64(r);
  p->crop_padding = (int32_t)ipro_get_u32(r);
  uint32_t flip = ipro_get_u32(r); /* augmentation flags: 1 flip, 2 random-resized-crop */
  p->flip = (flip & 1) != 0;
  p->random_resized_crop = (flip & 2) != 0;
  ipro_optimizer_settings *o = &p->optimizer;
  uint32_t optimizer = ipro_get_u32(r), nesterov = ipro_get_u32(r);
  o->kind = (ipro_optimizer_kind)optimizer;
  o->nesterov = nesterov != 0;
  o->momentum = ipro_get_f32(r);
  o->weight_decay = ipro_get_f32(r);
  o->beta1 = ipro_get_f32(r);
  o->beta2 = ipro_get_f32(r);
  o->epsilon = ipro_get_f32(r);
  ipro_lr_schedule *s = &p->schedule;
  uint32_t schedule = ipro_get_u32(r);
  s->kind = (ipro_schedule_kind)schedule;
  s->base_rate = ipro_get_f64(r);
  s->warmup_epochs = ipro_get_i64(r);
  s->gamma = ipro_get_f64(r);
  uint32_t milestones = ipro_get_u32(r);
  if (milestones > IPRO_SCHEDULE_MAX_MILESTONES)
    return ipro_error_set(err, "checkpoint '%s' is malformed: %u schedule milestones (at most %d)",
                          path, milestones, IPRO_SCHEDULE_MAX_MILESTONES);
  s->n_milestones = (int)milestones;
  for (uint32_t i = 0; i < milestones; i++)
    s->milestones[i] = ipro_get_i64(r);
  if (r->short_read) return IPRO_OK; /* reported by the caller */
  if (flip > 3 || nesterov > 1 || optimizer > IPRO_OPTIMIZER_ADAMW ||
      schedule > IPRO_SCHEDULE_STEP || p->epochs_done < 0 || p->total_epochs < 0 || p->batch <= 0 ||
      p->limit < 0 || p->crop_padding < 0)
    return ipro_error_set(err, "checkpoint '%s' is malformed: invalid training position", path);
  return IPRO_OK;
}

static ipro_status get_tensor(ipro_byte_reader *r, const char *path, int index,
                              ipro_checkpoint_tensor *t, ipro_error *err) {
  uint32_t name_length = ipro_get_u32(r);
  if (!r->short_read && (name_length == 0 || name_length > MAX_NAME_BYTES))
    return ipro_error_set(err, "checkpoint '%s' is malformed: tensor %d has a name of %u bytes",
                          path, index, name_length);
  const uint8_t *name = ipro_get_bytes(r, name_length);
  uint32_t dtype = ipro_get_u32(r), rank = ipro_get_u32(r);
  if (r->short_read) return IPRO_OK;
  /* A NUL inside would cut the name short: it could never match, and would be written back
   * shorter (found by tests/fuzz/fuzz_checkpoint.c). */
  if (memchr(name, '\0', name_length))
    return ipro_error_set(
        err, "checkpoint '%s' is malformed: the name of tensor %d holds a NUL byte", path, index);
  t->name = malloc(name_length + 1);
  if (!t->name) return ipro_error_set(err, "out of memory reading '%s'", path);
  memcpy(t->name, name, name_length);
  t->name[name_length] = '\0';
  size_t width = dtype < IPRO_DTYPE_COUNT_ ? ipro_dtype_size((ipro_dtype)dtype) : 0;
  if (width == 0 || rank > IPRO_MAX_RANK)
    return ipro_error_set(err, "checkpoint '%s' is malformed: tensor '%s' has dtype %u, rank %u",
                          path, t->name, dtype, rank);
  t->dtype = (ipro_dtype)dtype;
  t->shape.rank = (int)rank;
  bool negative = false;
  for (uint32_t d = 0; d < rank; d++)
    negative = (t->shape.dims[d] = ipro_get_i64(r)) < 0 || negative;
  uint64_t bytes = ipro_get_u64(r);
  if (r->short_read) return IPRO_OK;
  /* A stored tensor obeys the limit of every tensor (checked_size.h), so its byte count cannot
   * wrap. */
  int64_t elements, expected;
  if (negative || !ipro_shape_size(&t->shape, 1, &elements) ||
      !ipro_checked_mul(elements, (int64_t)width, &expected) || bytes != (uint64_t)expected)
    return ipro_error_set(err,
                          "checkpoint '%s' is malformed: tensor '%s' holds %llu bytes, which "
                          "does not match its shape",
                          path, t->name, (unsigned long long)bytes);
  const uint8_t *data = ipro_get_bytes(r, (size_t)bytes);
  if (r->short_read) return IPRO_OK;
  t->data = malloc(bytes ? (size_t)bytes : 1);
  if (!t->data) return ipro_error_set(err, "out of memory reading '%s'", path);
  if (bytes) memcpy(t->data, data, (size_t)bytes);
  t->bytes = (size_t)bytes;
  return IPRO_OK;
}

/* Version 2's class names, after the tensors. */
static ipro_status get_class_names(ipro_byte_reader *r, const char *path, ipro_checkpoint *out,
                                   ipro_error *err) {
  uint32_t count = ipro_get_u32(r);
  if (r->short_read) return IPRO_OK;
  /* Each name takes at least 5 bytes (its length and one byte), which bounds the count before
   * allocating. */
  if (count > (size_t)(r->end - r->at) / 5)
    return ipro_error_set(err, "checkpoint '%s' is malformed: %u class names announced", path,
                          count);
  if (count == 0) return IPRO_OK;
  out->class_names = calloc(count, sizeof *out->class_names);
  if (!out->class_names) return ipro_error_set(err, "out of memory reading '%s'", path);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t length = ipro_get_u32(r);
    if (r->short_read) return IPRO_OK;
    if (length == 0 || length > MAX_NAME_BYTES)
      return ipro_error_set(err, "checkpoint '%s' is malformed: class %u has a name of %u bytes",
                            path, i, length);
    const uint8_t *name = ipro_get_bytes(r, length);
    if (r->short_read) return IPRO_OK;
    /* as in tensor names: a NUL would cut the name short and be written back shorter */
    if (memchr(name, '\0', length))
      return ipro_error_set(err,
                            "checkpoint '%s' is malformed: the name of class %u holds a NUL "
                            "byte",
                            path, i);
    out->class_names[i] = malloc(length + 1);
    if (!out->class_names[i]) return ipro_error_set(err, "out of memory reading '%s'", path);
    memcpy(out->class_names[i], name, length);
    out->class_names[i][length] = '\0';
    out->n_class_names = (int)i + 1;
  }
  return IPRO_OK;
}

/* Version 3's split, after the class names: a flag, then the record where it is 1. */
static ipro_status get_split(ipro_byte_reader *r, const char *path, ipro_split_record *out,
                             ipro_error *err) {
  uint32_t recorded = ipro_get_u32(r);
  if (r->short_read) return IPRO_OK;
  if (recorded > 1)
    return ipro_error_set(err, "checkpoint '%s' is malformed: split flag %u (0 or 1)", path,
                          recorded);
  if (recorded == 0) return IPRO_OK;
  const char *bad = ipro_split_get(r, out);
  if (bad && !r->short_read)
    return ipro_error_set(err, "checkpoint '%s' is malformed: its split: %s", path, bad);
  return IPRO_OK;
}

/* Version 3's normalisation, after the split: a channel count, then the means and the stds. */
static ipro_status get_normalization(ipro_byte_reader *r, const char *path, ipro_checkpoint *out,
                                     ipro_error *err) {
  uint32_t channels = ipro_get_u32(r);
  if (r->short_read) return IPRO_OK;
  if (channels > IPRO_DATASET_MAX_CHANNELS)
    return ipro_error_set(err, "checkpoint '%s' is malformed: a normalisation of %u channels", path,
                          channels);
  out->n_normalization = (int)channels;
  for (uint32_t i = 0; i < channels; i++)
    out->mean[i] = ipro_get_f32(r);
  for (uint32_t i = 0; i < channels; i++)
    out->std[i] = ipro_get_f32(r);
  if (r->short_read) return IPRO_OK;
  for (uint32_t i = 0; i < channels; i++)
    if (!ipro_normalization_usable(out->mean[i], out->std[i]))
      return ipro_error_set(err,
                            "checkpoint '%s' is malformed: channel %u's normalisation (mean %g, "
                            "std %g)",
                            path, i, (double)out->mean[i], (double)out->std[i]);
  return IPRO_OK;
}

ipro_status ipro_checkpoint_decode(const uint8_t *bytes, size_t size, const char *path,
                                   ipro_checkpoint *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  ipro_byte_reader r;
  uint32_t version = 0;
  if (ipro_frame_open_versions(bytes, size, magic, IPRO_CHECKPOINT_OLDEST_VERSION,
                               IPRO_CHECKPOINT_VERSION, "checkpoint", path, &version, &r,
                               err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_status status = get_position(&r, path, &out->position, err);
  uint32_t n_tensors = status == IPRO_OK ? ipro_get_u32(&r) : 0;
  /* Each tensor takes at least 20 bytes, which bounds the count before allocating. */
  if (status == IPRO_OK && !r.short_read && n_tensors > (size_t)(r.end - r.at) / 20)
    status =
        ipro_error_set(err, "checkpoint '%s' is malformed: %u tensors announced", path, n_tensors);
  if (status == IPRO_OK && n_tensors) {
    out->tensors = calloc(n_tensors, sizeof *out->tensors);
    if (!out->tensors) status = ipro_error_set(err, "out of memory reading '%s'", path);
  }
  for (uint32_t i = 0; status == IPRO_OK && !r.short_read && i < n_tensors; i++) {
    out->n_tensors = (int)i + 1;
    status = get_tensor(&r, path, (int)i, &out->tensors[i], err);
  }
  if (status == IPRO_OK && !r.short_read && version >= 2)
    status = get_class_names(&r, path, out, err);
  if (status == IPRO_OK && !r.short_read && version >= 3)
    status = get_split(&r, path, &out->split, err);
  if (status == IPRO_OK && !r.short_read && version >= 3)
    status = get_normalization(&r, path, out, err);
  if (status == IPRO_OK && r.short_read)
    status = ipro_error_set(err, "checkpoint '%s' is malformed: its payload ends early", path);
  if (status == IPRO_OK && r.at != r.end)
    status = ipro_error_set(err, "checkpoint '%s' is malformed: %zu unread payload bytes", path,
                            (size_t)(r.end - r.at));
  if (status != IPRO_OK) ipro_checkpoint_release(out);
  return status;
}

static void free_class_names(ipro_checkpoint *c) {
  for (int i = 0; i < c->n_class_names; i++)
    free(c->class_names[i]);
  free(c->class_names);
  c->class_names = NULL;
  c->n_class_names = 0;
}

void ipro_checkpoint_set_normalization(ipro_checkpoint *c, const float *mean, const float *std,
                                       int channels) {
  /* none where the reader would refuse it (get_normalization) */
  c->n_normalization = channels > 0 && channels <= IPRO_DATASET_MAX_CHANNELS ? channels : 0;
  for (int i = 0; i < c->n_normalization; i++) {
    c->mean[i] = mean[i];
    c->std[i] = std[i];
    if (!ipro_normalization_usable(mean[i], std[i])) c->n_normalization = 0;
  }
}

ipro_status ipro_checkpoint_set_class_names(ipro_checkpoint *c, char *const *names, int count,
                                            ipro_error *err) {
  free_class_names(c);
  if (count == 0) return IPRO_OK;
  c->class_names = calloc((size_t)count, sizeof *c->class_names);
  if (!c->class_names) return ipro_error_set(err, "out of memory copying the class names");
  for (int i = 0; i < count; i++) {
    c->class_names[i] = malloc(strlen(names[i]) + 1);
    if (!c->class_names[i]) return ipro_error_set(err, "out of memory copying the class names");
    strcpy(c->class_names[i], names[i]);
    c->n_class_names = i + 1;
  }
  return IPRO_OK;
}

/* ---- the trainer's side ---- */

bool ipro_checkpoint_holds(ipro_trainer *trainer, int module, int t) {
  const ipro_graph *graph = ipro_trainer_module_graph(trainer, module);
  const ipro_training_graph *training = ipro_trainer_module_training(trainer, module);
  const ipro_forward_program *program =
      ipro_executor_program(ipro_trainer_module_executor(trainer, module));
  const ipro_tensor *tensor = &graph->tensors[t];
  ipro_slot_kind slot = program->slots[t].kind;
  if (tensor->kind == IPRO_TENSOR_INITIALIZER)
    return (tensor->dtype == IPRO_DTYPE_FLOAT || tensor->dtype == IPRO_DTYPE_DOUBLE) &&
           slot == IPRO_SLOT_PARAMETER;
  if (tensor->kind != IPRO_TENSOR_STATE || slot != IPRO_SLOT_PERSISTENT || t == training->hyper)
    return false;
  for (int p = 0; p < training->n_parameters; p++)
    if (training->gradients[p] == t) return false;
  return true;
}

static int count_held(ipro_trainer *trainer) {
  int count = 0;
  for (int k = 0; k < ipro_trainer_module_count(trainer); k++)
    for (int t = 0; t < ipro_trainer_module_graph(trainer, k)->n_tensors; t++)
      count += ipro_checkpoint_holds(trainer, k, t);
  return count;
}

ipro_status ipro_checkpoint_capture(ipro_trainer *trainer, const ipro_training_position *position,
                                    ipro_checkpoint *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  out->position = *position;
  ipro_trainer_split(trainer, &out->split);
  out->tensors = calloc((size_t)count_held(trainer) + 1, sizeof *out->tensors);
  if (!out->tensors) return ipro_error_set(err, "out of memory capturing a checkpoint");
  for (int k = 0; k < ipro_trainer_module_count(trainer); k++) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, k);
    for (int t = 0; t < graph->n_tensors; t++) {
      if (!ipro_checkpoint_holds(trainer, k, t)) continue;
      const ipro_tensor *tensor = &graph->tensors[t];
      ipro_checkpoint_tensor *c = &out->tensors[out->n_tensors++];
      c->dtype = tensor->dtype;
      c->shape = tensor->shape;
      c->bytes = (size_t)ipro_tensor_bytes(tensor);
      c->name = malloc(strlen(tensor->name) + 1);
      c->data = malloc(c->bytes ? c->bytes : 1);
      if (!c->name || !c->data) {
        ipro_checkpoint_release(out);
        return ipro_error_set(err, "out of memory capturing a checkpoint");
      }
      strcpy(c->name, tensor->name);
      if (ipro_trainer_read(trainer, tensor->name, c->data, c->bytes, err) != IPRO_OK) {
        ipro_checkpoint_release(out);
        return IPRO_ERROR;
      }
    }
  }
  return IPRO_OK;
}

/* The module and index of the held tensor called name, or -1. */
static int find_held(ipro_trainer *trainer, const char *name, int *module) {
  for (int k = 0; k < ipro_trainer_module_count(trainer); k++) {
    int t = ipro_graph_find_tensor(ipro_trainer_module_graph(trainer, k), name);
    if (t >= 0 && ipro_checkpoint_holds(trainer, k, t)) {
      *module = k;
      return t;
    }
  }
  return -1;
}

/* Checks that the checkpoint's tensors are exactly those the trainer's programs keep. */
static ipro_status match_tensors(ipro_trainer *trainer, const ipro_checkpoint *c, const char *path,
                                 ipro_error *err) {
  int modules = ipro_trainer_module_count(trainer);
  bool **seen = calloc((size_t)modules + 1, sizeof *seen);
  ipro_status status = seen ? IPRO_OK : ipro_error_set(err, "out of memory");
  for (int k = 0; k < modules && status == IPRO_OK; k++) {
    seen[k] = calloc((size_t)ipro_trainer_module_graph(trainer, k)->n_tensors + 1, sizeof(bool));
    if (!seen[k]) status = ipro_error_set(err, "out of memory");
  }
  for (int i = 0; status == IPRO_OK && i < c->n_tensors; i++) {
    const ipro_checkpoint_tensor *saved = &c->tensors[i];
    int k = 0, t = find_held(trainer, saved->name, &k);
    if (t < 0) {
      status = ipro_error_set(err,
                              "checkpoint '%s' holds tensor '%s', which is not a parameter or "
                              "training state of this model's program (a checkpoint of another "
                              "model or optimizer, or of a run with other --freeze options?)",
                              path, saved->name);
      break;
    }
    if (seen[k][t]) {
      status = ipro_error_set(err, "checkpoint '%s' holds tensor '%s' twice", path, saved->name);
      break;
    }
    seen[k][t] = true;
    const ipro_tensor *tensor = &ipro_trainer_module_graph(trainer, k)->tensors[t];
    if (saved->dtype != tensor->dtype || !ipro_shape_equal(&saved->shape, &tensor->shape)) {
      char have[128], want[128];
      status = ipro_error_set(
          err, "checkpoint '%s': tensor '%s' is %s %s there but %s %s in this model's program",
          path, saved->name, ipro_dtype_name(saved->dtype),
          ipro_shape_format(&saved->shape, have, sizeof have), ipro_dtype_name(tensor->dtype),
          ipro_shape_format(&tensor->shape, want, sizeof want));
    }
  }
  for (int k = 0; status == IPRO_OK && k < modules; k++) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, k);
    for (int t = 0; status == IPRO_OK && t < graph->n_tensors; t++)
      if (!seen[k][t] && ipro_checkpoint_holds(trainer, k, t))
        status = ipro_error_set(err,
                                "checkpoint '%s' has no tensor '%s', which this model's program "
                                "trains or keeps (a checkpoint of another model or optimizer, or "
                                "of a run with other --freeze options?)",
                                path, graph->tensors[t].name);
  }
  for (int k = 0; seen && k < modules; k++)
    free(seen[k]);
  free(seen);
  return status;
}

ipro_status ipro_checkpoint_restore(ipro_trainer *trainer, const ipro_checkpoint *c,
                                    const char *path, ipro_error *err) {
  ipro_status status = match_tensors(trainer, c, path, err);
  for (int i = 0; status == IPRO_OK && i < c->n_tensors; i++)
    status = ipro_trainer_write(trainer, c->tensors[i].name, c->tensors[i].data,
                                c->tensors[i].bytes, err);
  return status;
}

ipro_status ipro_checkpoint_check_directory(const char *directory, ipro_error *err) {
  char path[4096];
  size_t created = 0;
  ipro_checkpoint_path(directory, path, sizeof path);
  ipro_status status = ipro_make_directories_noting(directory, &created, err);
  if (status == IPRO_OK) status = ipro_check_writable(path, err);
  ipro_remove_created_directories(directory, created);
  return status ? ipro_error_prefix(err, "checkpoint directory '%s'", directory) : IPRO_OK;
}

ipro_status ipro_checkpoint_write(const char *directory, const ipro_checkpoint *c,
                                  ipro_error *err) {
  char path[4096];
  ipro_checkpoint_path(directory, path, sizeof path);
  if (ipro_make_directories(directory, err) != IPRO_OK) return IPRO_ERROR;
  uint8_t *bytes = NULL;
  size_t size = 0;
  ipro_status status = ipro_checkpoint_encode(c, &bytes, &size, err);
  if (status == IPRO_OK) status = ipro_write_file_atomic(path, bytes, size, err);
  free(bytes);
  return status;
}

ipro_status ipro_checkpoint_read(const char *path, ipro_checkpoint *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_read_whole_file(path, "checkpoint", &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  ipro_status status = ipro_checkpoint_decode(bytes, size, path, out, err);
  free(bytes);
  return status;
}

ipro_status ipro_checkpoint_read_position(const char *path, ipro_training_position *out,
                                          ipro_error *err) {
  memset(out, 0, sizeof *out);
  if (ipro_frame_check_file(path, magic, "checkpoint", err) != IPRO_OK) return IPRO_ERROR;
  /* the position's largest encoding: 6 eight-byte fields, 10 four-byte ones, 3 eight-byte
   * schedule fields, the milestone count and the milestones */
  uint8_t bytes[IPRO_FRAME_HEADER_BYTES + 6 * 8 + 10 * 4 + 3 * 8 + 4 +
                8 * IPRO_SCHEDULE_MAX_MILESTONES];
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "cannot read checkpoint '%s': %s", path, strerror(errno));
  size_t size = fread(bytes, 1, sizeof bytes, file);
  fclose(file);
  if (size < 8 || memcmp(bytes, magic, 8) != 0)
    return ipro_error_set(err, "'%s' is not an infopro checkpoint (bad magic)", path);
  ipro_byte_reader r = {bytes + 8, bytes + size, false};
  uint32_t version = ipro_get_u32(&r);
  if (!r.short_read &&
      (version < IPRO_CHECKPOINT_OLDEST_VERSION || version > IPRO_CHECKPOINT_VERSION))
    return ipro_error_set(
        err, "checkpoint '%s' has format version %u; this infopro reads versions %u to %u", path,
        version, IPRO_CHECKPOINT_OLDEST_VERSION, IPRO_CHECKPOINT_VERSION);
  ipro_get_bytes(&r, IPRO_FRAME_HEADER_BYTES - 12); /* the CRC and the payload's length */
  if (get_position(&r, path, out, err) != IPRO_OK) return IPRO_ERROR;
  if (r.short_read)
    return ipro_error_set(err, "checkpoint '%s' is truncated (%zu bytes)", path, size);
  return IPRO_OK;
}

void ipro_checkpoint_release(ipro_checkpoint *c) {
  for (int i = 0; i < c->n_tensors; i++) {
    free(c->tensors[i].name);
    free(c->tensors[i].data);
  }
  free(c->tensors);
  c->tensors = NULL;
  c->n_tensors = 0;
  free_class_names(c);
}
