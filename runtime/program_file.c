/* Compiled training program files (program_file.h; byte layout: schemas/program.md). */
#include "program_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/atomic_file.h"
#include "runtime/cuda_plugin/cuda_plugin.h"
#include "runtime/framed_file.h"
#include "runtime/mpi/pipeline_plugin.h"
#include "runtime/pipeline_stages.h"
#include "runtime/precompiled_kernels.h"
#include "runtime/program_module.h"
#include "runtime/split_record.h"

_Static_assert(sizeof((ipro_program){0}.cuts) == sizeof((ipro_split_record){0}.cuts),
               "a program's cuts are a split record's");

static const char magic[8] = {'I', 'P', 'R', 'O', 'P', 'R', 'O', 'G'};

void ipro_program_path(const char *directory, char *path, size_t size) {
  snprintf(path, size, "%s/%s", directory, IPRO_PROGRAM_FILE);
}

const char *const ipro_program_folder_files[IPRO_PROGRAM_FOLDER_FILE_COUNT] = {
    IPRO_PRECOMPILED_HOST_FILE,
    IPRO_PRECOMPILED_PTX_FILE,
    IPRO_CUDA_PLUGIN_FILE,
    IPRO_PIPELINE_PLUGIN_FILE,
    "train",
    IPRO_PROGRAM_FILE};

/* ---- writing ---- */

ipro_status ipro_program_encode(const ipro_program *p, uint8_t **bytes, size_t *size,
                                ipro_error *err) {
  *bytes = NULL;
  *size = 0;
  ipro_byte_writer w = {0};
  ipro_frame_begin(&w);
  ipro_put_string(&w, p->model_name);
  ipro_put_string(&w, p->model_sha256);
  ipro_put_string(&w, p->compiler);
  ipro_put_u32(&w, (uint32_t)p->device);
  ipro_put_string(&w, p->cpu);
  ipro_put_string(&w, p->cpu_features);
  const ipro_kernel_file_digest *kernels[] = {&p->host_kernels, &p->ptx_kernels};
  for (int i = 0; i < 2; i++) {
    ipro_put_u64(&w, kernels[i]->bytes);
    ipro_put_u32(&w, kernels[i]->crc32);
  }
  ipro_put_i64(&w, p->batch);
  const ipro_optimizer_settings *o = &p->optimizer;
  ipro_put_u32(&w, (uint32_t)o->kind);
  ipro_put_u32(&w, o->nesterov ? 1 : 0);
  ipro_put_f32(&w, o->momentum);
  ipro_put_f32(&w, o->weight_decay);
  ipro_put_f32(&w, o->beta1);
  ipro_put_f32(&w, o->beta2);
  ipro_put_f32(&w, o->epsilon);
  ipro_split_record split = {.K = p->local.K, .local = p->local};
  memcpy(split.cuts, p->cuts, sizeof split.cuts);
  ipro_split_put(&w, &split);
  ipro_put_u64(&w, p->planned_peak);
  ipro_put_u64(&w, p->e2e_peak);
  ipro_put_u32(&w, p->local.fuse_relu ? 1 : 0);
  ipro_put_u32(&w, p->local.copy_output ? 1 : 0);
  ipro_put_u64(&w, p->image_bytes);
  bool known = false;
  for (int k = 0; k < p->local.K; k++)
    known = known || p->module_work[k] > 0;
  ipro_put_u32(&w, !known ? 0 : p->work_is_time ? 2 : 1);
  for (int k = 0; k < p->local.K; k++)
    ipro_put_u64(&w, known ? p->module_work[k] : 0);
  for (int k = 0; k < p->local.K; k++) {
    ipro_put_u64(&w, p->module_size[k]);
    ipro_put_bytes(&w, p->modules + p->module_at[k], p->module_size[k]);
  }
  ipro_put_u64(&w, p->model_bytes);
  ipro_put_bytes(&w, p->model, p->model_bytes);
  if (w.failed) {
    free(w.bytes);
    return ipro_error_set(err, "out of memory encoding a training program");
  }
  ipro_frame_end(&w, magic, IPRO_PROGRAM_VERSION);
  *bytes = w.bytes;
  *size = w.size;
  return IPRO_OK;
}

ipro_status ipro_program_write(const char *path, const ipro_program *program, ipro_error *err) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_program_encode(program, &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  ipro_status status = ipro_write_file_atomic(path, bytes, size, err);
  free(bytes);
  return status;
}

/* ---- reading ---- */

static bool get_flag(ipro_byte_reader *r, bool *flag) {
  uint32_t v = ipro_get_u32(r);
  *flag = v == 1;
  return v <= 1;
}

static bool get_optimizer(ipro_byte_reader *r, ipro_optimizer_settings *o) {
  uint32_t kind = ipro_get_u32(r);
  o->kind = (ipro_optimizer_kind)kind;
  if (kind > IPRO_OPTIMIZER_ADAMW || !get_flag(r, &o->nesterov)) return false;
  float *values[] = {&o->momentum, &o->weight_decay, &o->beta1, &o->beta2, &o->epsilon};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    *values[i] = ipro_get_f32(r);
    if (!isfinite(*values[i]) || *values[i] < 0) return false;
  }
  return !r->short_read;
}

static ipro_status malformed(const char *path, const char *what, ipro_error *err) {
  return ipro_error_set(err, "training program '%s' is malformed: %s", path, what);
}

/* The K modules' encodings, each checked by reading it whole (and letting it go: the trainer
 * reads each again when it builds that module), copied into p->modules. */
static ipro_status get_modules(ipro_byte_reader *r, const char *path, ipro_program *p,
                               ipro_error *err) {
  const uint8_t *first = r->at;
  for (int k = 0; k < p->local.K; k++) {
    uint64_t size = ipro_get_u64(r);
    if (r->short_read || size > (uint64_t)(r->end - r->at))
      return malformed(path, "a module's size", err);
    ipro_byte_reader module = {.at = r->at, .end = r->at + size};
    ipro_graph *graph = NULL;
    ipro_training_graph training;
    if (ipro_program_module_get(&module, &graph, &training, err) != IPRO_OK)
      return ipro_error_prefix(err, "training program '%s' is malformed: module %d", path, k + 1);
    /* the first module reads the images the trainer's image block holds */
    bool images =
        k > 0 || (graph->n_inputs > 0 &&
                  ipro_tensor_bytes(&graph->tensors[graph->inputs[0]]) == (int64_t)p->image_bytes);
    bool batch = graph->batch == p->batch;
    ipro_graph_free(graph);
    ipro_training_graph_release(&training);
    if (module.at != module.end)
      return malformed(path, "a module's size (bytes after its end)", err);
    if (!images || !batch)
      return malformed(path, "module 1's input or a module's batch (not the program's)", err);
    p->module_at[k] = (size_t)(r->at - first);
    p->module_size[k] = (size_t)size;
    ipro_get_bytes(r, (size_t)size);
  }
  /* one copy of the span, the u64 sizes between the modules included */
  size_t span = (size_t)(r->at - first);
  p->modules = malloc(span ? span : 1);
  if (!p->modules) return ipro_error_set(err, "out of memory reading '%s'", path);
  memcpy(p->modules, first, span);
  return IPRO_OK;
}

/* Version 3's work per module: a kind (0 unknown, 1 FLOPs, 2 nanoseconds) and K u64, all 0 for
 * an unknown kind, none 0 for a known one, and none above what any step takes
 * (IPRO_PIPELINE_STAGES_MAX_WORK). */
static ipro_status get_module_work(ipro_byte_reader *r, ipro_program *p) {
  uint32_t kind = ipro_get_u32(r);
  int zeros = 0;
  bool too_much = false;
  for (int k = 0; k < p->local.K; k++) {
    p->module_work[k] = ipro_get_u64(r);
    zeros += p->module_work[k] == 0;
    too_much = too_much || p->module_work[k] > IPRO_PIPELINE_STAGES_MAX_WORK;
  }
  if (r->short_read || kind > 2 || (kind == 0 && zeros < p->local.K) || (kind > 0 && zeros) ||
      too_much)
    return IPRO_ERROR;
  p->work_is_time = kind == 2;
  return IPRO_OK;
}

/* Version 5's digests of kernels.so and kernels.ptx: a CRC-32 only beside a size (0: not
 * recorded), and kernels.ptx only for CUDA. Read after the device. */
static ipro_status get_kernel_digests(ipro_byte_reader *r, ipro_program *p) {
  ipro_kernel_file_digest *kernels[] = {&p->host_kernels, &p->ptx_kernels};
  for (int i = 0; i < 2; i++) {
    kernels[i]->bytes = ipro_get_u64(r);
    kernels[i]->crc32 = ipro_get_u32(r);
    if (kernels[i]->bytes == 0 && kernels[i]->crc32 != 0) return IPRO_ERROR;
  }
  if (r->short_read || (p->ptx_kernels.bytes > 0 && p->device != IPRO_DEVICE_CUDA))
    return IPRO_ERROR;
  return IPRO_OK;
}

static ipro_status decode(const uint8_t *bytes, size_t size, const char *path, ipro_program *p,
                          ipro_error *err) {
  memset(p, 0, sizeof *p);
  ipro_byte_reader r;
  uint32_t version = 0;
  if (ipro_frame_open_versions(bytes, size, magic, IPRO_PROGRAM_OLDEST_VERSION,
                               IPRO_PROGRAM_VERSION, "training program", path, &version, &r,
                               err) != IPRO_OK)
    return IPRO_ERROR;
  if (!ipro_get_string(&r, p->model_name, sizeof p->model_name) || !p->model_name[0] ||
      !ipro_get_string(&r, p->model_sha256, sizeof p->model_sha256))
    return malformed(path, "the model's name or digest", err);
  /* empty: not recorded (a program of version 2 or 3 written again) */
  if (version >= 4 && !ipro_get_string(&r, p->compiler, sizeof p->compiler))
    return malformed(path, "the infopro that compiled it", err);
  uint32_t device = ipro_get_u32(&r);
  p->device = (ipro_device)device;
  if (device > IPRO_DEVICE_CUDA) return malformed(path, "the device", err);
  if (!ipro_get_string(&r, p->cpu, sizeof p->cpu) ||
      !ipro_get_string(&r, p->cpu_features, sizeof p->cpu_features))
    return malformed(path, "the CPU it was compiled for", err);
  if (version >= 5 && get_kernel_digests(&r, p) != IPRO_OK)
    return malformed(path, "the kernel files' sizes and CRC-32s", err);
  p->batch = ipro_get_i64(&r);
  if (r.short_read || p->batch < 1 || p->batch > (INT64_C(1) << 31))
    return malformed(path, "the batch size", err);
  if (!get_optimizer(&r, &p->optimizer)) return malformed(path, "the optimizer", err);
  ipro_split_record split = {0};
  const char *bad = ipro_split_get(&r, &split);
  if (bad) return malformed(path, bad, err);
  memcpy(p->cuts, split.cuts, sizeof p->cuts);
  p->local = split.local;
  p->local.batch = p->batch;
  p->local.optimizer = p->optimizer.kind;
  p->planned_peak = ipro_get_u64(&r);
  p->e2e_peak = ipro_get_u64(&r);
  if (!get_flag(&r, &p->local.fuse_relu) || !get_flag(&r, &p->local.copy_output))
    return malformed(path, "what the modules were lowered for", err);
  uint64_t image_bytes = ipro_get_u64(&r);
  if (r.short_read || image_bytes == 0 || image_bytes > SIZE_MAX / 2)
    return malformed(path, "the size of a batch of images", err);
  p->image_bytes = (size_t)image_bytes;
  if (version >= 3 && get_module_work(&r, p) != IPRO_OK)
    return malformed(path, "the modules' work", err);
  if (get_modules(&r, path, p, err) != IPRO_OK) return IPRO_ERROR;
  uint64_t model_bytes = ipro_get_u64(&r);
  if (r.short_read || model_bytes == 0 || model_bytes != (uint64_t)(r.end - r.at))
    return malformed(path, "the embedded model's size", err);
  p->model = malloc((size_t)model_bytes);
  if (!p->model) return ipro_error_set(err, "out of memory reading '%s'", path);
  memcpy(p->model, ipro_get_bytes(&r, (size_t)model_bytes), (size_t)model_bytes);
  p->model_bytes = (size_t)model_bytes;
  return IPRO_OK;
}

ipro_status ipro_program_decode(const uint8_t *bytes, size_t size, const char *path,
                                ipro_program *p, ipro_error *err) {
  ipro_status status = decode(bytes, size, path, p, err);
  if (status != IPRO_OK) ipro_program_release(p); /* what was read before the failure */
  return status;
}

ipro_status ipro_program_read(const char *path, ipro_program *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_read_whole_file(path, "training program", &bytes, &size, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_status status = ipro_program_decode(bytes, size, path, out, err);
  free(bytes);
  return status;
}

void ipro_program_release(ipro_program *p) {
  free(p->modules);
  p->modules = NULL;
  free(p->model);
  p->model = NULL;
  p->model_bytes = 0;
}
