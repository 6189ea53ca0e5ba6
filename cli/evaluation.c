/* The classifier evaluation of evaluation.h. */
#include "evaluation.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks the graph input against the images before shapes are inferred, so the message shows
 * the shape the model was exported with. */
static ipro_status check_input(const char *model, const ipro_graph *graph, const ipro_dataset *data,
                               ipro_error *err) {
  if (graph->n_inputs != 1 || graph->n_outputs != 1) {
    /* the outputs by name: a network that returns auxiliary logits beside its own in training
     * mode (torchvision's GoogLeNet and Inception-v3) is the usual case */
    char names[400] = "";
    size_t used = 0;
    for (int o = 0; o < graph->n_outputs && o < 4 && used < sizeof names; o++)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s'%.80s'", o ? ", " : "",
                               graph->tensors[graph->outputs[o]].name);
    return ipro_error_set(err,
                          "%s has %d input(s) and %d output(s)%s%s%s; a classifier needs one image "
                          "input and one logits output%s",
                          model, graph->n_inputs, graph->n_outputs, used ? " (" : "", names,
                          graph->n_outputs > 4 ? ", ...)"
                          : used               ? ")"
                                               : "",
                          graph->n_outputs > 1
                              ? ": export the logits alone (torchvision's GoogLeNet and "
                                "Inception-v3 return auxiliary logits in training mode unless "
                                "built with aux_logits=False)"
                              : "");
  }
  const ipro_tensor *input = &graph->tensors[graph->inputs[0]];
  static const ipro_shape undeclared = {0};
  const ipro_shape *s = input->declared_shape ? input->declared_shape : &undeclared;
  ipro_shape images = {4, {IPRO_DIM_BATCH, data->channels, data->height, data->width}};
  if (input->dtype != IPRO_DTYPE_FLOAT || s->rank != 4 || s->dims[0] != IPRO_DIM_BATCH ||
      s->dims[1] != data->channels || s->dims[2] != data->height || s->dims[3] != data->width) {
    char want[128], got[128];
    /* PyTorch's exporters fix the batch at the example's unless told otherwise */
    bool fixed_batch = s->rank == 4 && s->dims[0] > 0 && s->dims[1] == data->channels &&
                       s->dims[2] == data->height && s->dims[3] == data->width;
    return ipro_error_set(
        err, "%s takes input '%s' of %s %s, but %s images are float32 %s%s", model, input->name,
        ipro_dtype_name(input->dtype), ipro_shape_format(s, want, sizeof want),
        ipro_dataset_kind_name(data->kind), ipro_shape_format(&images, got, sizeof got),
        fixed_batch ? ": its batch is fixed; export it with a dynamic batch "
                      "(torch.onnx.export(..., dynamic_shapes=...) or dynamic_axes; README, "
                      "\"Bringing your own model\")"
                    : "");
  }
  return IPRO_OK;
}

static ipro_status check_output(const char *model, const ipro_graph *graph,
                                const ipro_dataset *data, ipro_error *err) {
  const ipro_tensor *output = &graph->tensors[graph->outputs[0]];
  const ipro_shape *s = &output->shape;
  if (output->dtype != IPRO_DTYPE_FLOAT || s->rank != 2 || s->dims[0] != graph->batch ||
      s->dims[1] != data->num_classes) {
    /* The shape was inferred at a batch of the check's choosing (1 for the early check), not the
     * user's --batch: a first dimension that follows it is shown as N. One that does not is the
     * model's own, shown with the batch it was inferred at. */
    ipro_shape shown = *s;
    bool follows_batch = shown.rank > 0 && shown.dims[0] == graph->batch;
    if (follows_batch) shown.dims[0] = IPRO_DIM_BATCH;
    char got[128], at[64] = "";
    if (!follows_batch) snprintf(at, sizeof at, " at batch %lld", (long long)graph->batch);
    return ipro_error_set(err,
                          "%s's output '%s' is %s %s%s, but %s has %d classes "
                          "(expected float32 [N,%d] logits)",
                          model, output->name, ipro_dtype_name(output->dtype),
                          ipro_shape_format(&shown, got, sizeof got), at,
                          ipro_dataset_kind_name(data->kind), data->num_classes, data->num_classes);
  }
  return IPRO_OK;
}

/* The parameters a trainer holds under the same name: float initializers kept in the parameter
 * block that a running node reads (an initializer left unread, such as the ratio input of a
 * Dropout that normalisation made an attribute, is no module's: PyTorch's exporter writes
 * them). */
static bool trained_parameter(const ipro_cli_sized_model *m, int tensor) {
  const ipro_tensor *t = &m->graph->tensors[tensor];
  return t->kind == IPRO_TENSOR_INITIALIZER && t->dtype == IPRO_DTYPE_FLOAT &&
         ipro_executor_program(m->executor)->slots[tensor].kind == IPRO_SLOT_PARAMETER &&
         ipro_graph_tensor_is_read(m->graph, tensor);
}

/* An executor without a parameter block: the trained parameters are bound before each pass
 * (ipro_cli_evaluator_use_parameters), so the graph's copies of them go now; the rest of the
 * block (constants, integer initializers) is read where the graph holds it, on host memory. */
static void bind_constants(ipro_cli_sized_model *m) {
  const ipro_forward_program *program = ipro_executor_program(m->executor);
  for (int t = 0; t < m->graph->n_tensors; t++) {
    ipro_tensor *tensor = &m->graph->tensors[t];
    if (program->slots[t].kind != IPRO_SLOT_PARAMETER) continue;
    if (trained_parameter(m, t)) {
      free(tensor->data); /* its size stays: the program is built again at another batch */
      tensor->data = NULL;
    } else {
      ipro_executor_bind_parameter(m->executor, t, tensor->data);
    }
  }
}

/* The model in inference form, checked to take data's images. */
static ipro_status load_inference_graph(const char *path, const ipro_dataset *data,
                                        ipro_graph **graph, ipro_error *err) {
  if (ipro_graph_load(path, graph, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_graph_normalize(*graph, err) != IPRO_OK ||
      ipro_graph_set_inference_mode(*graph, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", path);
  return check_input(path, *graph, data, err);
}

/* arena: NULL for an executor with its own arena; else the executor is built to run in it (and
 * the caller checks that its arena fits). parameters_in_place: no parameter block (host memory
 * only; bind_constants). A graph already in m (ipro_cli_evaluator_preload) is used at this batch;
 * otherwise the model is loaded. */
static ipro_status sized_model_open(const char *path, int64_t batch, const ipro_dataset *data,
                                    ipro_backend *backend, ipro_backend *fallback, void *arena,
                                    bool parameters_in_place, ipro_cli_sized_model *m,
                                    ipro_error *err) {
  m->batch = batch;
  if (!m->graph && load_inference_graph(path, data, &m->graph, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_graph_check_batch(m->graph, batch, err) != IPRO_OK ||
      ipro_graph_infer_shapes(m->graph, batch, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", path);
  if (check_output(path, m->graph, data, err) != IPRO_OK) return IPRO_ERROR;
  m->logits = malloc((size_t)batch * (size_t)data->num_classes * sizeof *m->logits);
  if (!m->logits) return ipro_error_set(err, "out of memory for %lld logits", (long long)batch);
  /* On host memory the executor reads each batch where the loader made it: no input block. */
  ipro_executor_options options = {.external_arena = arena != NULL,
                                   .external_inputs = backend->host_memory,
                                   .external_parameters = parameters_in_place,
                                   .release_uploaded = parameters_in_place ? NULL : m->graph};
  if (ipro_executor_create_with(m->graph, backend, fallback, &options, &m->executor, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  if (parameters_in_place) bind_constants(m);
  if (arena) ipro_executor_bind_arena(m->executor, arena);
  return IPRO_OK;
}

static size_t arena_of(const ipro_cli_sized_model *m) {
  return m->executor ? ipro_executor_program(m->executor)->arena_bytes : 0;
}

/* The executor and logits go; the graph stays (a preloaded one is used again at another batch). */
static void sized_model_unbuild(ipro_cli_sized_model *m) {
  ipro_executor_free(m->executor);
  free(m->logits);
  m->executor = NULL;
  m->logits = NULL;
}

static void sized_model_close(ipro_cli_sized_model *m) {
  sized_model_unbuild(m);
  ipro_graph_free(m->graph);
  memset(m, 0, sizeof *m);
}

/* The graph checked at batch 1: the model takes data's images and gives one logit per class. */
static ipro_status check_graph(const char *model, ipro_graph *graph, const ipro_dataset *data,
                               ipro_error *err) {
  if (ipro_graph_infer_shapes(graph, 1, err) != IPRO_OK) return ipro_error_prefix(err, "%s", model);
  return check_output(model, graph, data, err);
}

ipro_status ipro_cli_evaluator_check(const char *model, const ipro_dataset *data, ipro_error *err) {
  ipro_cli_sized_model m = {0};
  ipro_status status = load_inference_graph(model, data, &m.graph, err);
  if (status == IPRO_OK) status = check_graph(model, m.graph, data, err);
  sized_model_close(&m);
  return status;
}

/* The float initializers the graph reads are the trainer's parameters, which the test pass binds
 * in place (trained_parameter): their data goes, their sizes stay, as a compiled program's
 * modules hold the network's weights until start-up (runtime/program_module.h). */
static void drop_trained_values(ipro_graph *graph) {
  for (int t = 0; t < graph->n_tensors; t++) {
    ipro_tensor *tensor = &graph->tensors[t];
    if (tensor->kind != IPRO_TENSOR_INITIALIZER || tensor->dtype != IPRO_DTYPE_FLOAT ||
        !ipro_graph_tensor_is_read(graph, t))
      continue;
    free(tensor->data);
    tensor->data = NULL;
  }
}

ipro_status ipro_cli_evaluator_preload(const char *model, const ipro_dataset *data,
                                       ipro_cli_evaluator *e, ipro_error *err) {
  memset(e, 0, sizeof *e);
  ipro_status status = IPRO_OK;
  ipro_cli_sized_model *models[2] = {&e->full, &e->rest};
  for (int i = 0; i < 2 && status == IPRO_OK; i++) {
    status = load_inference_graph(model, data, &models[i]->graph, err);
    if (status == IPRO_OK) status = check_graph(model, models[i]->graph, data, err);
    if (status == IPRO_OK) drop_trained_values(models[i]->graph);
  }
  if (status != IPRO_OK) ipro_cli_evaluator_close(e);
  return status;
}

/* The executors, for arena as sized_model_open's; the loader is the caller's. */
static ipro_status open_at(const char *model, const ipro_dataset *data, int64_t batch,
                           int64_t limit, ipro_backend *backend, ipro_backend *fallback,
                           void *arena, ipro_cli_evaluator *e, ipro_error *err) {
  e->data = data;
  e->count = limit && limit < data->count ? limit : data->count;
  if (e->count == 0)
    return ipro_error_set(err, "the %s test split is empty", ipro_dataset_kind_name(data->kind));
  int64_t full_batch = batch < e->count ? batch : e->count, remainder = e->count % full_batch;
  e->parameters_in_place = arena && backend->host_memory;
  if (!e->parameters_in_place && e->full.graph)
    return ipro_error_set(err, "internal: a test pass without its parameters needs them in place");
  ipro_status status = sized_model_open(model, full_batch, data, backend, fallback, arena,
                                        e->parameters_in_place, &e->full, err);
  if (status == IPRO_OK && remainder)
    status = sized_model_open(model, remainder, data, backend, fallback, arena,
                              e->parameters_in_place, &e->rest, err);
  if (status != IPRO_OK) ipro_cli_evaluator_close(e);
  return status;
}

/* Batches in dataset order: made on a worker thread into the loader's own buffers, or, given
 * image_memory, made on demand there (a test batch is quick to make beside the inference it
 * feeds). */
static ipro_status open_loader(ipro_cli_evaluator *e, float *image_memory, ipro_error *err) {
  ipro_batch_options options = {.batch_size = e->full.batch,
                                .limit = e->count,
                                .background = image_memory == NULL,
                                .image_memory = image_memory};
  ipro_status status = ipro_batch_loader_create(e->data, &options, &e->loader, err);
  if (status != IPRO_OK) ipro_cli_evaluator_close(e);
  return status;
}

ipro_status ipro_cli_evaluator_open(const char *model, const ipro_dataset *data, int64_t batch,
                                    int64_t limit, ipro_backend *backend, ipro_backend *fallback,
                                    ipro_cli_evaluator *e, ipro_error *err) {
  memset(e, 0, sizeof *e);
  if (open_at(model, data, batch, limit, backend, fallback, NULL, e, err) != IPRO_OK)
    return IPRO_ERROR;
  return open_loader(e, NULL, err);
}

/* Inside a trainer's block on host memory the test pass holds no copy of anything: it reads the
 * trainer's parameters in place, and each batch where the loader made it, in the block after
 * the arenas. */
ipro_status ipro_cli_evaluator_open_in(const char *model, const ipro_dataset *data, int64_t batch,
                                       int64_t limit, ipro_backend *backend, ipro_backend *fallback,
                                       void *arena, size_t arena_bytes, ipro_cli_evaluator *e,
                                       ipro_error *err) {
  for (;; batch /= 2) {
    if (open_at(model, data, batch, limit, backend, fallback, arena, e, err) != IPRO_OK)
      return IPRO_ERROR;
    size_t arenas = ipro_memory_aligned(
        arena_of(&e->full) > arena_of(&e->rest) ? arena_of(&e->full) : arena_of(&e->rest),
        IPRO_ARENA_ALIGNMENT);
    size_t images = e->parameters_in_place
                        ? (size_t)e->full.batch * (size_t)data->channels * (size_t)data->height *
                              (size_t)data->width * sizeof(float)
                        : 0;
    if (arenas + images <= arena_bytes)
      return open_loader(e, images ? (float *)(void *)((uint8_t *)arena + arenas) : NULL, err);
    /* again at half the batch: graphs whose parameters are bound in place (preloaded, or freed
     * of them by bind_constants) are inferred again at it rather than loaded again */
    if (e->parameters_in_place) {
      sized_model_unbuild(&e->full);
      sized_model_unbuild(&e->rest);
    } else {
      ipro_cli_evaluator_close(e);
    }
    if (batch == 1)
      return ipro_error_set(err,
                            "the test pass of %s needs %zu bytes (arena and a batch of images) "
                            "even one image at a time; the training block has %zu",
                            model, arenas + images, arena_bytes);
  }
}

/* Adds a batch's predictions: the first largest logit is the prediction, and the loss is
 * log(sum exp(logits)) - logits[label], with the largest logit subtracted for range. */
static void accumulate(const ipro_cli_evaluator *e, const float *logits, const int64_t *labels,
                       int64_t count, int classes, ipro_cli_eval_totals *t) {
  for (int64_t i = 0; i < count; i++) {
    const float *row = logits + i * classes;
    int best = 0;
    for (int c = 1; c < classes; c++)
      if (row[c] > row[best]) best = c;
    double largest = row[best], sum = 0;
    for (int c = 0; c < classes; c++)
      sum += exp((double)row[c] - largest);
    t->cross_entropy_sum += largest + log(sum) - (double)row[labels[i]];
    t->correct += best == labels[i];
    t->seen++;
    if (e->class_seen) {
      e->class_seen[labels[i]]++;
      e->class_correct[labels[i]] += best == labels[i];
    }
  }
}

ipro_status ipro_cli_evaluator_run(ipro_cli_evaluator *e, ipro_cli_eval_totals *totals,
                                   ipro_error *err) {
  memset(totals, 0, sizeof *totals);
  if (e->class_seen) {
    memset(e->class_seen, 0, sizeof *e->class_seen * (size_t)e->data->num_classes);
    memset(e->class_correct, 0, sizeof *e->class_correct * (size_t)e->data->num_classes);
  }
  ipro_status status = ipro_batch_loader_start_epoch(e->loader, 0, err);
  const ipro_batch *batch = NULL;
  while (status == IPRO_OK &&
         (status = ipro_batch_loader_next(e->loader, &batch, err)) == IPRO_OK && batch) {
    ipro_cli_sized_model *m = batch->count == e->full.batch ? &e->full : &e->rest;
    if (batch->count != m->batch)
      return ipro_error_set(err, "internal: a batch of %lld images", (long long)batch->count);
    const void *inputs[1] = {batch->images};
    void *outputs[1] = {m->logits};
    ipro_executor_bind_input(m->executor, 0, (void *)batch->images);
    status = ipro_executor_run(m->executor, inputs, outputs, err);
    if (status == IPRO_OK)
      accumulate(e, m->logits, batch->labels, batch->count, e->data->num_classes, totals);
  }
  if (status == IPRO_OK && totals->seen != e->count)
    return ipro_error_set(err, "internal: %lld of %lld images evaluated", (long long)totals->seen,
                          (long long)e->count);
  return status;
}

static ipro_status copy_into(ipro_cli_sized_model *m,
                             ipro_status (*read)(void *, const char *, void *, size_t,
                                                 ipro_error *),
                             void *context, ipro_error *err) {
  const ipro_forward_program *program = ipro_executor_program(m->executor);
  void *buffer = NULL;
  size_t capacity = 0;
  ipro_status status = IPRO_OK;
  for (int t = 0; status == IPRO_OK && t < m->graph->n_tensors; t++) {
    if (!trained_parameter(m, t)) continue;
    size_t bytes = program->slots[t].bytes;
    if (bytes > capacity) {
      free(buffer);
      capacity = bytes;
      buffer = malloc(capacity);
      if (!buffer) {
        status = ipro_error_set(err, "out of memory copying '%s'", m->graph->tensors[t].name);
        break;
      }
    }
    status = read(context, m->graph->tensors[t].name, buffer, bytes, err);
    if (status == IPRO_OK) status = ipro_executor_write_tensor(m->executor, t, buffer, bytes, err);
  }
  free(buffer);
  return status;
}

ipro_status ipro_cli_evaluator_copy_parameters(ipro_cli_evaluator *e,
                                               ipro_status (*read)(void *context, const char *name,
                                                                   void *host, size_t bytes,
                                                                   ipro_error *err),
                                               void *context, ipro_error *err) {
  /* An executor built without a parameter block has nowhere to copy into. */
  if (e->parameters_in_place)
    return ipro_error_set(err, "internal: this test pass reads the trainer's parameters in place");
  if (copy_into(&e->full, read, context, err) != IPRO_OK) return IPRO_ERROR;
  if (e->rest.executor && copy_into(&e->rest, read, context, err) != IPRO_OK) return IPRO_ERROR;
  return IPRO_OK;
}

static ipro_status bind_into(ipro_cli_sized_model *m, ipro_cli_parameter_memory locate,
                             void *context, ipro_error *err) {
  const ipro_forward_program *program = ipro_executor_program(m->executor);
  for (int t = 0; t < m->graph->n_tensors; t++) {
    if (!trained_parameter(m, t)) continue;
    const void *device = NULL;
    if (locate(context, m->graph->tensors[t].name, program->slots[t].bytes, &device, err) !=
        IPRO_OK)
      return IPRO_ERROR;
    ipro_executor_bind_parameter(m->executor, t, device);
  }
  return IPRO_OK;
}

ipro_status ipro_cli_evaluator_use_parameters(ipro_cli_evaluator *e,
                                              ipro_cli_parameter_memory locate, void *context,
                                              ipro_error *err) {
  if (!e->parameters_in_place)
    return ipro_error_set(err, "internal: this test pass holds its own parameters");
  if (bind_into(&e->full, locate, context, err) != IPRO_OK) return IPRO_ERROR;
  if (e->rest.executor && bind_into(&e->rest, locate, context, err) != IPRO_OK) return IPRO_ERROR;
  return IPRO_OK;
}

void ipro_cli_evaluator_close(ipro_cli_evaluator *e) {
  ipro_batch_loader_destroy(e->loader);
  sized_model_close(&e->rest);
  sized_model_close(&e->full);
  e->loader = NULL;
}
