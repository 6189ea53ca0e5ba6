/* The trainer of trainer.h: compile the training step once, then feed it batches. */
#include "trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ipro_trainer {
  ipro_graph *graph;
  ipro_training_graph training;
  ipro_trainer_options options;
  ipro_backend *backend, *fallback;
  ipro_executor *executor;
  uint64_t steps;
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

static ipro_status build(ipro_trainer *t, const char *model_path, ipro_error *err) {
  if (ipro_graph_load(model_path, &t->graph, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_graph_normalize(t->graph, err) != IPRO_OK ||
      ipro_graph_infer_shapes(t->graph, t->options.batch, err) != IPRO_OK ||
      ipro_training_graph_build(t->graph, t->options.optimizer.kind, &t->training, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", model_path);
  if (ipro_backend_create_reference(&t->fallback, err) != IPRO_OK) return IPRO_ERROR;
  if (t->options.reference) {
    t->backend = t->fallback;
    t->fallback = NULL;
  } else if (ipro_backend_create_onednn(&t->backend, err) != IPRO_OK) {
    return IPRO_ERROR;
  }
  return ipro_executor_create(t->graph, t->backend, t->fallback, &t->executor, err);
}

ipro_status ipro_trainer_create(const char *model_path, const ipro_trainer_options *options,
                                ipro_trainer **out, ipro_error *err) {
  *out = NULL;
  ipro_trainer *t = calloc(1, sizeof *t);
  if (!t) return ipro_error_set(err, "out of memory");
  t->options = *options;
  if (build(t, model_path, err) != IPRO_OK) {
    ipro_trainer_free(t);
    return IPRO_ERROR;
  }
  *out = t;
  return IPRO_OK;
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

ipro_status ipro_trainer_step(ipro_trainer *t, const float *images, const int64_t *labels,
                              float learning_rate, float *loss, ipro_error *err) {
  float hyper[IPRO_HYPER_COUNT];
  fill_hyper(t, learning_rate, hyper);
  if (ipro_executor_write_tensor(t->executor, t->training.hyper, hyper, sizeof hyper, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  /* graph inputs: the network's input(s), then the labels the training graph appended */
  const void *inputs[2] = {images, labels};
  if (t->graph->n_inputs != 2)
    return ipro_error_set(err, "training supports networks with one input; this one has %d",
                          t->graph->n_inputs - 1);
  void *outputs[1] = {loss};
  if (ipro_executor_run(t->executor, inputs, outputs, err) != IPRO_OK) return IPRO_ERROR;
  t->steps++;
  return IPRO_OK;
}

void ipro_trainer_set_steps(ipro_trainer *t, uint64_t steps) {
  t->steps = steps;
  ipro_executor_set_step(t->executor, steps);
}

uint64_t ipro_trainer_steps(const ipro_trainer *t) { return t->steps; }

const ipro_graph *ipro_trainer_graph(const ipro_trainer *t) { return t->graph; }
const ipro_training_graph *ipro_trainer_training(const ipro_trainer *t) { return &t->training; }
ipro_executor *ipro_trainer_executor(ipro_trainer *t) { return t->executor; }

size_t ipro_trainer_allocated_bytes(const ipro_trainer *t) {
  return t->backend ? t->backend->bytes_allocated : 0;
}

static int find(const ipro_trainer *t, const char *name, ipro_error *err) {
  int index = ipro_graph_find_tensor(t->graph, name);
  if (index < 0) ipro_error_set(err, "the training program has no tensor '%s'", name);
  return index;
}

ipro_status ipro_trainer_read(ipro_trainer *t, const char *name, void *host, size_t bytes,
                              ipro_error *err) {
  int index = find(t, name, err);
  if (index < 0) return IPRO_ERROR;
  return ipro_executor_read_tensor(t->executor, index, host, bytes, err);
}

ipro_status ipro_trainer_write(ipro_trainer *t, const char *name, const void *host, size_t bytes,
                               ipro_error *err) {
  int index = find(t, name, err);
  if (index < 0) return IPRO_ERROR;
  return ipro_executor_write_tensor(t->executor, index, host, bytes, err);
}

void ipro_trainer_free(ipro_trainer *t) {
  if (!t) return;
  ipro_executor_free(t->executor);
  if (t->backend) t->backend->destroy(t->backend);
  if (t->fallback) t->fallback->destroy(t->fallback);
  ipro_training_graph_release(&t->training);
  ipro_graph_free(t->graph);
  free(t);
}
