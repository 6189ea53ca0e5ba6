/* The trainer of trainer.h: compile each module's training step once, lay the modules out in one
 * shared block, then feed batches through them in order. */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/module_memory.h"

typedef struct {
  ipro_graph *graph;
  ipro_training_graph training;
  ipro_executor *executor;
  int image_input, labels_input; /* graph-input positions, -1 when absent */
  size_t in_bytes, out_bytes;    /* the activations received and handed on (aligned) */
  bool input_at_start;           /* where in the block its input lies (ends alternate) */
  bool input_plain; /* received plain: the previous module cannot write the layout it chose */
} trainer_module;

struct ipro_trainer {
  ipro_trainer_options options;
  ipro_backend *backend, *fallback;
  int K;            /* modules of the plan */
  int first, count; /* the modules held: first .. first + count - 1 (all K but in a pipeline) */
  void *handoff_input, *handoff_output;
  /* A pipeline stage's neighbours, as planned here: the layout the module before the stage
   * writes its output in where it can choose, and the one the module after it reads its input in
   * (create_executor) */
  uint8_t before_output_layout, after_input_layout;
  trainer_module modules[IPRO_MAX_MODULES];
  uint8_t *image, *labels, *block;
  size_t image_bytes, labels_bytes, block_bytes, planned_bytes;
  float losses[IPRO_MAX_MODULES * IPRO_MAX_LOSS_TERMS];
  const char *loss_names[IPRO_MAX_MODULES * IPRO_MAX_LOSS_TERMS];
  char loss_name_storage[IPRO_MAX_MODULES * IPRO_MAX_LOSS_TERMS][48];
  int n_losses;
  uint64_t steps;
  /* The driver's figure of device memory in use (backend->device_memory_used): when the backend
   * was created, and the most since (after creation, after each step). */
  uint64_t device_baseline, device_peak;
  /* K, the cuts and the local settings, as a checkpoint records them (split_record.h); K 0
   * where they cannot be recorded */
  ipro_split_record split;
};

ipro_optimizer_settings ipro_optimizer_defaults(ipro_optimizer_kind kind) {
  ipro_optimizer_settings s = {.kind = kind,
                               .momentum = 0.9f,
                               .weight_decay = 1e-4f,
                               .nesterov = true,
                               .beta1 = 0.9f,
                               .beta2 = 0.999f,
                               .epsilon = 1e-8f};
  if (kind == IPRO_OPTIMIZER_ADAMW) s.weight_decay = 1e-2f;
  return s;
}

static int input_named(const ipro_graph *graph, const char *suffix) {
  size_t n = strlen(suffix);
  for (int i = 0; i < graph->n_inputs; i++) {
    const char *name = graph->tensors[graph->inputs[i]].name;
    size_t m = strlen(name);
    if (m >= n && strcmp(name + m - n, suffix) == 0) return i;
  }
  return -1;
}

/* The transient bytes of module k's program as executor settled it (or would, with no room). */
static size_t transient_of(const ipro_graph *graph, const ipro_executor *executor, int k, int K,
                           ipro_module_memory *memory) {
  ipro_module_memory_of(graph, ipro_executor_program(executor), k == 0, k + 1 == K, memory);
  return memory->transient_bytes;
}

/* The size of the plan's largest module, from a program of module k that this trainer does not
 * hold (a pipeline stage's others), planned and let go; and for the stage's neighbours, the
 * layouts of their ends facing it. */
static ipro_status plan_other(ipro_trainer *t, const ipro_module_source *source, int k,
                              size_t *largest, ipro_error *err) {
  ipro_executor_options plan_only = ipro_executor_module_plan_options(k == 0, k + 1 == t->K);
  ipro_graph *graph = NULL;
  ipro_training_graph training;
  ipro_executor *executor = NULL;
  ipro_status status =
      source->build(source->context, k, k + 1 == t->K, t->backend, &graph, &training, err);
  if (status == IPRO_OK)
    status = ipro_executor_create_with(graph, t->backend, t->fallback, &plan_only, &executor, err);
  ipro_module_memory memory;
  if (status == IPRO_OK && transient_of(graph, executor, k, t->K, &memory) > *largest)
    *largest = memory.transient_bytes;
  if (status == IPRO_OK && k + 1 == t->first)
    t->before_output_layout = ipro_executor_tensor_layout(executor, graph->outputs[0]);
  if (status == IPRO_OK && k == t->first + t->count)
    t->after_input_layout = ipro_executor_tensor_layout(executor, graph->inputs[0]);
  ipro_executor_free(executor);
  if (graph) ipro_training_graph_release(&training);
  ipro_graph_free(graph);
  return status;
}

/* Creates held module k's executor, its blocks deferred. The activation one module hands the
 * next lies in the backend's own layout where the backend carries it (ResNet-32 at batch 128,
 * K = 4: the first convolution and the joined BatchNorm + Add + ReLU of each module that read it
 * plain took 4 ms more a cut): module k's input is open to the backend's layouts, and its output
 * is written in the layout module k + 1 chose for its input (so the modules are created last
 * first). Where module k cannot write that layout, module k + 1 is made again to receive it
 * plain. A pipeline stage agrees so with its neighbours in other processes, which plan the
 * same modules alike (plan_other), and ipro_pipeline_attach checks that they did. */
static ipro_status create_executor(ipro_trainer *t, int k, ipro_error *err) {
  trainer_module *m = &t->modules[k - t->first];
  trainer_module *next = k + 1 < t->first + t->count ? m + 1 : NULL;
  ipro_executor_options deferred = {
      .external_arena = true,
      .external_inputs = true,
      .defer_blocks = true,
      .release_uploaded = m->graph,    /* the parameter block holds them */
      .output0_outside = k + 1 < t->K, /* the handed-on activation, in the block */
      .input0_layout_open = k > 0 && !m->input_plain,
      .output0_layout = next ? ipro_executor_tensor_layout(next->executor, next->graph->inputs[0])
                        : k + 1 < t->K ? t->after_input_layout
                                       : 0};
  ipro_executor_free(m->executor);
  m->executor = NULL;
  if (ipro_executor_create_with(m->graph, t->backend, t->fallback, &deferred, &m->executor, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  /* the module before the stage writes its output as it can: this one reads it so or plain */
  uint8_t input_layout = k > 0 ? ipro_executor_tensor_layout(m->executor, m->graph->inputs[0]) : 0;
  if (k == t->first && input_layout && input_layout != t->before_output_layout) {
    m->input_plain = true;
    return create_executor(t, k, err);
  }
  /* the stage's last module: the one after it, planned there alike, finds out the same */
  if (!next ||
      ipro_executor_tensor_layout(m->executor, m->graph->outputs[0]) == deferred.output0_layout)
    return IPRO_OK;
  next->input_plain = true;
  if (create_executor(t, k + 1, err) != IPRO_OK) return IPRO_ERROR;
  return create_executor(t, k, err);
}

/* Every module of the plan is built and planned first (those this trainer does not hold only
 * planned), so that the block's size is known: that of the largest module. Then each held module
 * settles its kernels with the room the block leaves it: a module smaller than the largest keeps
 * faster kernels whose workspaces grow its arena up to that, at no cost to the run's peak
 * (ResNet-32 at batch 128, K = 2: the second module's Winograd convolutions, 5% of the step).
 * A pipeline stage finds the same room, so that its kernels, and so its numbers, are the
 * single process's. */
static ipro_status build_modules(ipro_trainer *t, const ipro_module_source *source,
                                 ipro_error *err) {
  size_t largest = 0;
  for (int k = 0; k < t->K; k++) { /* the source builds the modules in order */
    if (k < t->first || k >= t->first + t->count) {
      if (plan_other(t, source, k, &largest, err) != IPRO_OK)
        return t->K > 1 ? ipro_error_prefix(err, "module %d", k + 1) : IPRO_ERROR;
      continue;
    }
    trainer_module *m = &t->modules[k - t->first];
    if (source->build(source->context, k, k + 1 == t->K, t->backend, &m->graph, &m->training,
                      err) != IPRO_OK)
      return t->K > 1 ? ipro_error_prefix(err, "module %d", k + 1) : IPRO_ERROR;
  }
  for (int k = t->first + t->count - 1; k >= t->first; k--)
    if (create_executor(t, k, err) != IPRO_OK)
      return t->K > 1 ? ipro_error_prefix(err, "module %d", k + 1) : IPRO_ERROR;
  for (int k = t->first; k < t->first + t->count; k++) {
    trainer_module *m = &t->modules[k - t->first];
    ipro_module_memory memory;
    if (transient_of(m->graph, m->executor, k, t->K, &memory) > largest)
      largest = memory.transient_bytes;
    m->labels_input = input_named(m->graph, "labels");
    m->image_input = k == 0 ? 0 : input_named(m->graph, "/image");
    m->in_bytes = memory.input_bytes;
    m->out_bytes = memory.output_bytes;
    m->input_at_start = k % 2 == 0;
  }
  if (t->options.programs_built) t->options.programs_built(t->options.programs_built_context);
  for (int k = t->first; k < t->first + t->count; k++) {
    trainer_module *m = &t->modules[k - t->first];
    if (ipro_executor_allocate_within(m->executor, largest - m->in_bytes - m->out_bytes, err) !=
        IPRO_OK)
      return t->K > 1 ? ipro_error_prefix(err, "module %d", k + 1) : IPRO_ERROR;
    ipro_module_memory memory;
    if (transient_of(m->graph, m->executor, k, t->K, &memory) > t->block_bytes)
      t->block_bytes = memory.transient_bytes;
    t->planned_bytes += memory.persistent_bytes;
  }
  return IPRO_OK;
}

/* Binds every module's inputs and arena into the shared buffers. */
static void bind_modules(ipro_trainer *t) {
  for (int i = 0; i < t->count; i++) {
    int k = t->first + i;
    trainer_module *m = &t->modules[i];
    size_t arena_offset = m->input_at_start ? m->in_bytes : m->out_bytes;
    ipro_executor_bind_arena(m->executor, t->block + arena_offset);
    void *input = k == 0 ? (void *)t->image
                  : i == 0
                      ? t->handoff_input
                      : (m->input_at_start ? t->block : t->block + t->block_bytes - m->in_bytes);
    ipro_executor_bind_input(m->executor, 0, input);
    if (k > 0 && m->image_input >= 0)
      ipro_executor_bind_input(m->executor, m->image_input, t->image);
    if (m->labels_input >= 0) ipro_executor_bind_input(m->executor, m->labels_input, t->labels);
    /* output 0 of every module but the last: the activation handed on, into the block's far end
     * (or the handoff, leaving a pipeline stage) */
    if (i + 1 < t->count) {
      const trainer_module *next = &t->modules[i + 1];
      ipro_executor_bind_output(m->executor, 0,
                                next->input_at_start ? t->block
                                                     : t->block + t->block_bytes - next->in_bytes);
    } else if (k + 1 < t->K) {
      ipro_executor_bind_output(m->executor, 0, t->handoff_output);
    }
  }
}

static void name_losses(ipro_trainer *t) {
  t->n_losses = 0;
  for (int k = t->first; k < t->first + t->count; k++) {
    const trainer_module *m = &t->modules[k - t->first];
    for (int l = 0; l < m->training.n_losses; l++) {
      char *name = t->loss_name_storage[t->n_losses];
      const ipro_tensor *loss_tensor = &m->graph->tensors[m->training.losses[l]];
      const ipro_node *producer = &m->graph->nodes[loss_tensor->producer];
      const char *kind = producer->op == IPRO_OP_BINARY_CROSS_ENTROPY ? "reconstruction"
                         : producer->op == IPRO_OP_SUP_CON_LOSS       ? "contrast"
                                                                      : "cross-entropy";
      if (t->K == 1)
        snprintf(name, 48, "%s", kind);
      else
        snprintf(name, 48, "module %d %s", k + 1, kind);
      t->loss_names[t->n_losses++] = name;
    }
  }
}

/* Takes the driver's figure now into device_peak (the baseline when first); a backend on host
 * memory has none. */
static ipro_status measure_device(ipro_trainer *t, bool baseline, ipro_error *err) {
  ipro_backend *b = t->backend;
  uint64_t used = 0;
  if (!b->device_memory_used) return IPRO_OK;
  if (b->device_memory_used(b, &used, err) != IPRO_OK) return IPRO_ERROR;
  if (baseline) t->device_baseline = used;
  if (used > t->device_peak) t->device_peak = used;
  return IPRO_OK;
}

static ipro_status build(ipro_trainer *t, const ipro_module_source *source, ipro_error *err) {
  t->K = source->K;
  if (t->K < 1 || t->K > IPRO_MAX_MODULES)
    return ipro_error_set(err, "at most %d modules are supported", IPRO_MAX_MODULES);
  t->first = t->options.module_count ? t->options.first_module : 0;
  t->count = t->options.module_count ? t->options.module_count : t->K;
  if (t->first < 0 || t->count < 0 || t->first + t->count > t->K)
    return ipro_error_set(err, "modules %d to %d asked of a plan of %d modules", t->first + 1,
                          t->first + t->count, t->K);
  if (ipro_backend_create_for(t->options.device, t->options.reference, &t->backend, &t->fallback,
                              err) != IPRO_OK)
    return IPRO_ERROR;
  if (measure_device(t, true, err) != IPRO_OK) return IPRO_ERROR;
  t->image_bytes = source->image_bytes;
  if (build_modules(t, source, err) != IPRO_OK) return ipro_error_prefix(err, "%s", source->name);
  t->labels_bytes = sizeof(int64_t) * (size_t)t->options.batch;
  t->planned_bytes += t->image_bytes + t->labels_bytes + t->block_bytes;
  ipro_backend *b = t->backend;
  if (b->allocate(b, t->image_bytes, (void **)&t->image, err) != IPRO_OK ||
      b->allocate(b, t->labels_bytes, (void **)&t->labels, err) != IPRO_OK ||
      b->allocate(b, t->block_bytes, (void **)&t->block, err) != IPRO_OK)
    return IPRO_ERROR;
  bind_modules(t);
  name_losses(t);
  return measure_device(t, false, err);
}

/* The split as a checkpoint records it: the cut names copied (the options' point into the
 * caller's), and every local module's heads as module_program.c builds them, its own choice where
 * the settings hold one and the settings' shape otherwise. Not recorded (K 0) where a name does
 * not fit or a setting is beyond what the record's reader takes. */
static void record_split(ipro_trainer *t) {
  ipro_split_record *s = &t->split;
  s->K = t->K;
  s->local = t->options.local;
  s->local.K = t->K;
  const ipro_head_options *h = &s->local.heads;
  for (int k = 0; k + 1 < t->K; k++) {
    const char *cut = k < t->options.n_cuts ? t->options.cuts[k] : "";
    if (strlen(cut) >= sizeof s->cuts[k]) s->K = 0;
    snprintf(s->cuts[k], sizeof s->cuts[k], "%s", cut);
    if (k >= s->local.n_module_heads)
      s->local.module_heads[k] = (ipro_head_choice){h->convs, h->fcs, h->decoder};
  }
  s->local.n_module_heads = t->K > 0 ? t->K - 1 : 0;
  if (s->K == 0 || ipro_split_check(s)) s->K = 0;
}

ipro_status ipro_trainer_create_from(const ipro_module_source *source,
                                     const ipro_trainer_options *options, ipro_trainer **out,
                                     ipro_error *err) {
  *out = NULL;
  ipro_trainer *t = calloc(1, sizeof *t);
  if (!t) return ipro_error_set(err, "out of memory");
  t->options = *options;
  if (build(t, source, err) != IPRO_OK) {
    ipro_trainer_free(t);
    return IPRO_ERROR;
  }
  record_split(t);
  *out = t;
  return IPRO_OK;
}

void ipro_trainer_split(const ipro_trainer *trainer, ipro_split_record *out) {
  *out = trainer->split;
}

static void fill_hyper(const ipro_trainer *t, float learning_rate, float *hyper) {
  const ipro_optimizer_settings *o = &t->options.optimizer;
  memset(hyper, 0, sizeof(float) * IPRO_HYPER_COUNT);
  hyper[0] = learning_rate;
  if (o->kind == IPRO_OPTIMIZER_SGD) {
    hyper[1] = o->momentum;
    hyper[2] = o->weight_decay;
    hyper[3] = o->nesterov ? 1.0f : 0.0f;
  } else {
    hyper[1] = o->beta1;
    hyper[2] = o->beta2;
    hyper[3] = o->epsilon;
    hyper[4] = o->weight_decay;
    hyper[5] = (float)(t->steps + 1);
  }
}

ipro_status ipro_trainer_take_batch(ipro_trainer *t, const float *images, const int64_t *labels,
                                    ipro_error *err) {
  ipro_backend *b = t->backend;
  if (b->copy_to_device(b, t->image, images, t->image_bytes, err) != IPRO_OK ||
      b->copy_to_device(b, t->labels, labels, t->labels_bytes, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_trainer_step(ipro_trainer *t, const float *images, const int64_t *labels,
                              float learning_rate, float *loss, ipro_error *err) {
  if (!t->block)
    return ipro_error_set(err, "the trainer's working block was given back after its last step");
  if (images && ipro_trainer_take_batch(t, images, labels, err) != IPRO_OK) return IPRO_ERROR;
  float hyper[IPRO_HYPER_COUNT];
  fill_hyper(t, learning_rate, hyper);
  int n_losses = 0;
  for (int k = t->first; k < t->first + t->count; k++) {
    trainer_module *m = &t->modules[k - t->first];
    if (ipro_executor_write_tensor(m->executor, m->training.hyper, hyper, sizeof hyper, err) !=
        IPRO_OK)
      return IPRO_ERROR;
    /* outputs: the activation handed on (bound to the block's far end), then the losses */
    void *outputs[1 + IPRO_MAX_LOSS_TERMS];
    int o = 0;
    if (k + 1 < t->K) outputs[o++] = NULL;
    for (int l = 0; l < m->training.n_losses; l++)
      outputs[o++] = &t->losses[n_losses + l];
    ipro_executor_set_step(m->executor, t->steps);
    if (ipro_executor_run(m->executor, NULL, outputs, err) != IPRO_OK)
      return t->K > 1 ? ipro_error_prefix(err, "module %d", k + 1) : IPRO_ERROR;
    n_losses += m->training.n_losses;
  }
  *loss = t->losses[n_losses - 1];
  t->steps++;
  return measure_device(t, false, err);
}

int ipro_trainer_losses(const ipro_trainer *t, float *values, const char **names, int max) {
  int n = t->n_losses < max ? t->n_losses : max;
  for (int i = 0; i < n; i++) {
    if (values) values[i] = t->losses[i];
    if (names) names[i] = t->loss_names[i];
  }
  return n;
}

void ipro_trainer_set_steps(ipro_trainer *t, uint64_t steps) {
  t->steps = steps;
  for (int k = 0; k < t->count; k++)
    ipro_executor_set_step(t->modules[k].executor, steps);
}

uint64_t ipro_trainer_steps(const ipro_trainer *t) { return t->steps; }

void ipro_trainer_bind_handoff(ipro_trainer *t, void *input, void *output) {
  t->handoff_input = input;
  t->handoff_output = output;
  bind_modules(t);
}
size_t ipro_trainer_handoff_input_bytes(const ipro_trainer *t) {
  return t->first > 0 ? t->modules[0].in_bytes : 0;
}
size_t ipro_trainer_handoff_output_bytes(const ipro_trainer *t) {
  return t->first + t->count < t->K ? t->modules[t->count - 1].out_bytes : 0;
}
uint8_t ipro_trainer_handoff_input_layout(const ipro_trainer *t) {
  const trainer_module *m = &t->modules[0];
  return t->first > 0 ? ipro_executor_tensor_layout(m->executor, m->graph->inputs[0]) : 0;
}
uint8_t ipro_trainer_handoff_output_layout(const ipro_trainer *t) {
  const trainer_module *m = &t->modules[t->count - 1];
  return t->first + t->count < t->K ? ipro_executor_tensor_layout(m->executor, m->graph->outputs[0])
                                    : 0;
}

int ipro_trainer_module_count(const ipro_trainer *t) { return t->count; }
const ipro_graph *ipro_trainer_module_graph(const ipro_trainer *t, int k) {
  return t->modules[k].graph;
}
const ipro_training_graph *ipro_trainer_module_training(const ipro_trainer *t, int k) {
  return &t->modules[k].training;
}
ipro_executor *ipro_trainer_module_executor(ipro_trainer *t, int k) {
  return t->modules[k].executor;
}

ipro_backend *ipro_trainer_backend(ipro_trainer *t) { return t->backend; }

size_t ipro_trainer_allocated_bytes(const ipro_trainer *t) {
  return t->backend ? t->backend->bytes_allocated : 0;
}
size_t ipro_trainer_planned_bytes(const ipro_trainer *t) { return t->planned_bytes; }
uint64_t ipro_trainer_device_growth(const ipro_trainer *t) {
  return t->device_peak > t->device_baseline ? t->device_peak - t->device_baseline : 0;
}
size_t ipro_trainer_block_bytes(const ipro_trainer *t) { return t->block_bytes; }
void *ipro_trainer_block(ipro_trainer *t) { return t->block; }

/* The module whose program holds tensor `name` outside its arena, and its index there. */
static int find(const ipro_trainer *t, const char *name, int *module, ipro_error *err) {
  for (int k = 0; k < t->count; k++) {
    int index = ipro_graph_find_tensor(t->modules[k].graph, name);
    if (index < 0) continue;
    ipro_slot_kind kind = ipro_executor_program(t->modules[k].executor)->slots[index].kind;
    if (kind != IPRO_SLOT_PARAMETER && kind != IPRO_SLOT_PERSISTENT) continue;
    *module = k;
    return index;
  }
  ipro_error_set(err, "the training program has no stored tensor '%s'", name);
  return -1;
}

ipro_status ipro_trainer_read(ipro_trainer *t, const char *name, void *host, size_t bytes,
                              ipro_error *err) {
  int module = 0, index = find(t, name, &module, err);
  if (index < 0) return IPRO_ERROR;
  return ipro_executor_read_tensor(t->modules[module].executor, index, host, bytes, err);
}

ipro_status ipro_trainer_read_part(ipro_trainer *t, const char *name, size_t offset, void *host,
                                   size_t bytes, ipro_error *err) {
  int module = 0, index = find(t, name, &module, err);
  if (index < 0) return IPRO_ERROR;
  return ipro_executor_read_tensor_part(t->modules[module].executor, index, offset, host, bytes,
                                        err);
}

ipro_status ipro_trainer_write(ipro_trainer *t, const char *name, const void *host, size_t bytes,
                               ipro_error *err) {
  int module = 0, index = find(t, name, &module, err);
  if (index < 0) return IPRO_ERROR;
  return ipro_executor_write_tensor(t->modules[module].executor, index, host, bytes, err);
}

ipro_status ipro_trainer_tensor_memory(ipro_trainer *t, const char *name, size_t bytes,
                                       const void **device, ipro_error *err) {
  int module = 0, index = find(t, name, &module, err);
  if (index < 0) return IPRO_ERROR;
  return ipro_executor_tensor_memory(t->modules[module].executor, index, bytes, device, err);
}

void ipro_trainer_release_step_memory(ipro_trainer *t) {
  if (!t || !t->block) return;
  t->backend->release(t->backend, t->block, t->block_bytes);
  t->block = NULL;
  for (int k = 0; k < t->count; k++)
    ipro_executor_release_state(t->modules[k].executor);
}

void ipro_trainer_free(ipro_trainer *t) {
  if (!t) return;
  for (int k = 0; k < IPRO_MAX_MODULES; k++) {
    trainer_module *m = &t->modules[k];
    ipro_executor_free(m->executor);
    ipro_training_graph_release(&m->training);
    ipro_graph_free(m->graph);
  }
  if (t->backend) {
    t->backend->release(t->backend, t->image, t->image_bytes);
    t->backend->release(t->backend, t->labels, t->labels_bytes);
    if (t->block) t->backend->release(t->backend, t->block, t->block_bytes);
    t->backend->destroy(t->backend);
  }
  if (t->fallback) t->fallback->destroy(t->fallback);
  free(t);
}
