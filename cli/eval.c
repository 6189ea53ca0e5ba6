/* `infopro eval MODEL.onnx --data SPEC ...`: a classifier's accuracy and mean cross-entropy on a
 * dataset's test split, with the model in inference form (BatchNormalization on running
 * statistics, Dropout off). The graph's single output is read as logits; the softmax
 * cross-entropy (natural log) is computed in double from them.
 *
 * Batches come from the background batch loader in dataset order, without augmentation. An
 * executor is built for one fixed batch size, so a final partial batch gets a second executor of
 * its own (on a second copy of the graph, since an executor holds its graph's inferred shapes).
 * Padding the last batch with dummy rows would also be correct in inference form, where no op
 * mixes examples, but it would compute up to batch-1 rows for nothing and rest on that property
 * of every op; the second executor computes exactly the rows asked for, for the price of a
 * second parameter block and arena of the remainder's (smaller) size. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "runtime/batch_loader.h"
#include "runtime/executor.h"

static const char usage[] =
    "usage: infopro eval MODEL.onnx --data SPEC [--batch N] [--limit N] [--mean m1,m2,..]\n"
    "                   [--std s1,s2,..] [--reference]\n"
    "  --data SPEC       the dataset whose test split is evaluated: fashion-mnist[:DIR],\n"
    "                    mnist:DIR, cifar10:DIR or cifar100:DIR\n"
    "  --batch N         images per forward pass (default 256)\n"
    "  --limit N         evaluate only the first N test images\n"
    "  --mean, --std     per-channel normalisation, (x/255 - mean) / std (default: the\n"
    "                    dataset's conventional constants)\n"
    "  --reference       run the plain C reference kernels instead of oneDNN\n"
    "Prints accuracy and mean cross-entropy (natural log) of the softmax of the model's output.\n"
    "The time reported covers the evaluation loop (batches, forward passes, losses), not "
    "loading.\n";

typedef struct {
  const char *model, *data;
  int64_t batch, limit;
  float mean[IPRO_DATASET_MAX_CHANNELS], std[IPRO_DATASET_MAX_CHANNELS];
  int n_mean, n_std; /* 0: the dataset's default */
  bool reference;
} eval_options;

/* Parses "a,b,c" into at most IPRO_DATASET_MAX_CHANNELS floats; 0 on a malformed list. */
static int parse_floats(const char *flag, const char *text, float *out, int *count) {
  *count = 0;
  const char *p = text;
  for (;;) {
    char *end = NULL;
    errno = 0;
    float value = strtof(p, &end);
    if (errno || end == p || !isfinite(value) || *count == IPRO_DATASET_MAX_CHANNELS ||
        (*end != ',' && *end != '\0')) {
      fprintf(stderr, "infopro eval: %s expects up to %d comma-separated numbers, got '%s'\n", flag,
              IPRO_DATASET_MAX_CHANNELS, text);
      return 0;
    }
    out[(*count)++] = value;
    if (*end == '\0') return 1;
    p = end + 1;
  }
}

static int parse(int argc, char **argv, eval_options *o) {
  o->batch = 256;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--reference") == 0) {
      o->reference = true;
    } else if (strcmp(a, "--data") == 0 && value) {
      o->data = argv[++i];
    } else if (strcmp(a, "--batch") == 0 || strcmp(a, "--limit") == 0) {
      if (!ipro_cli_parse_positive(a, value, a[2] == 'b' ? &o->batch : &o->limit)) return 2;
      i++;
    } else if ((strcmp(a, "--mean") == 0 || strcmp(a, "--std") == 0) && value) {
      bool mean = a[2] == 'm';
      if (!parse_floats(a, value, mean ? o->mean : o->std, mean ? &o->n_mean : &o->n_std)) return 2;
      i++;
    } else if (a[0] != '-' && !o->model) {
      o->model = a;
    } else {
      fprintf(stderr, "infopro eval: unexpected argument '%s'\n%s", a, usage);
      return 2;
    }
  }
  if (!o->model || !o->data) {
    fputs(usage, stderr);
    return 2;
  }
  return -1;
}

/* One copy of the graph with shapes inferred at `batch`, and an executor for it. */
typedef struct {
  ipro_graph *graph;
  ipro_executor *executor;
  int64_t batch;
  float *logits; /* [batch, classes] */
} sized_model;

/* Checks the graph input against the images before shapes are inferred, so the message shows
 * the shape the model was exported with. */
static ipro_status check_input(const char *model, const ipro_graph *graph, const ipro_dataset *data,
                               ipro_error *err) {
  if (graph->n_inputs != 1 || graph->n_outputs != 1)
    return ipro_error_set(err,
                          "%s has %d input(s) and %d output(s); eval needs one image input and "
                          "one logits output",
                          model, graph->n_inputs, graph->n_outputs);
  const ipro_tensor *input = &graph->tensors[graph->inputs[0]];
  const ipro_shape *s = &input->declared_shape;
  ipro_shape images = {4, {IPRO_DIM_BATCH, data->channels, data->height, data->width}};
  if (input->dtype != IPRO_DTYPE_FLOAT || s->rank != 4 || s->dims[0] != IPRO_DIM_BATCH ||
      s->dims[1] != data->channels || s->dims[2] != data->height || s->dims[3] != data->width) {
    char want[128], got[128];
    return ipro_error_set(
        err, "%s takes input '%s' of %s %s, but %s images are float32 %s", model, input->name,
        ipro_dtype_name(input->dtype), ipro_shape_format(s, want, sizeof want),
        ipro_dataset_kind_name(data->kind), ipro_shape_format(&images, got, sizeof got));
  }
  return IPRO_OK;
}

static ipro_status check_output(const char *model, const ipro_graph *graph,
                                const ipro_dataset *data, ipro_error *err) {
  const ipro_tensor *output = &graph->tensors[graph->outputs[0]];
  const ipro_shape *s = &output->shape;
  if (output->dtype != IPRO_DTYPE_FLOAT || s->rank != 2 || s->dims[0] != graph->batch ||
      s->dims[1] != data->num_classes) {
    char got[128];
    return ipro_error_set(err,
                          "%s's output '%s' is %s %s at batch %lld, but %s has %d classes "
                          "(expected float32 [%lld,%d] logits)",
                          model, output->name, ipro_dtype_name(output->dtype),
                          ipro_shape_format(s, got, sizeof got), (long long)graph->batch,
                          ipro_dataset_kind_name(data->kind), data->num_classes,
                          (long long)graph->batch, data->num_classes);
  }
  return IPRO_OK;
}

static ipro_status sized_model_open(const char *path, int64_t batch, const ipro_dataset *data,
                                    ipro_backend *backend, ipro_backend *fallback, sized_model *m,
                                    ipro_error *err) {
  m->batch = batch;
  if (ipro_graph_load(path, &m->graph, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_graph_normalize(m->graph, err) != IPRO_OK ||
      ipro_graph_set_inference_mode(m->graph, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", path);
  if (check_input(path, m->graph, data, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_graph_infer_shapes(m->graph, batch, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", path);
  if (check_output(path, m->graph, data, err) != IPRO_OK) return IPRO_ERROR;
  m->logits = malloc((size_t)batch * (size_t)data->num_classes * sizeof *m->logits);
  if (!m->logits) return ipro_error_set(err, "out of memory for %lld logits", (long long)batch);
  return ipro_executor_create(m->graph, backend, fallback, &m->executor, err);
}

static void sized_model_close(sized_model *m) {
  ipro_executor_free(m->executor);
  ipro_graph_free(m->graph);
  free(m->logits);
}

typedef struct {
  int64_t correct, seen;
  double cross_entropy_sum;
} eval_totals;

/* Adds a batch's predictions: the first largest logit is the prediction, and the loss is
 * log(sum exp(logits)) - logits[label], with the largest logit subtracted for range. */
static void accumulate(const float *logits, const int64_t *labels, int64_t count, int classes,
                       eval_totals *t) {
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
  }
}

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ipro_status evaluate(const eval_options *o, const ipro_dataset *data, ipro_backend *backend,
                            ipro_backend *fallback, ipro_error *err) {
  int64_t count = o->limit && o->limit < data->count ? o->limit : data->count;
  if (count == 0) return ipro_error_set(err, "%s: the test split is empty", o->data);
  int64_t full_batch = o->batch < count ? o->batch : count, remainder = count % full_batch;
  sized_model full = {0}, rest = {0};
  ipro_batch_loader *loader = NULL;
  ipro_batch_options options = {.batch_size = full_batch, .limit = count, .background = true};
  ipro_status status = sized_model_open(o->model, full_batch, data, backend, fallback, &full, err);
  if (status == IPRO_OK && remainder)
    status = sized_model_open(o->model, remainder, data, backend, fallback, &rest, err);
  if (status == IPRO_OK) status = ipro_batch_loader_create(data, &options, &loader, err);

  eval_totals totals = {0};
  double start = seconds_now();
  if (status == IPRO_OK) status = ipro_batch_loader_start_epoch(loader, 0, err);
  const ipro_batch *batch = NULL;
  while (status == IPRO_OK && (status = ipro_batch_loader_next(loader, &batch, err)) == IPRO_OK &&
         batch) {
    sized_model *m = batch->count == full.batch ? &full : &rest;
    if (batch->count != m->batch) {
      status = ipro_error_set(err, "internal: a batch of %lld images", (long long)batch->count);
      break;
    }
    const void *inputs[1] = {batch->images};
    void *outputs[1] = {m->logits};
    status = ipro_executor_run(m->executor, inputs, outputs, err);
    if (status == IPRO_OK)
      accumulate(m->logits, batch->labels, batch->count, data->num_classes, &totals);
  }
  double seconds = seconds_now() - start;

  if (status == IPRO_OK) {
    if (totals.seen != count)
      status = ipro_error_set(err, "internal: %lld of %lld images evaluated",
                              (long long)totals.seen, (long long)count);
    else
      printf("accuracy %.4f (%lld/%lld)  mean cross-entropy %.6f  on %s test split, batch %lld, "
             "%.2f s (%.0f images/s, %s)\n",
             (double)totals.correct / (double)count, (long long)totals.correct, (long long)count,
             totals.cross_entropy_sum / (double)count, ipro_dataset_kind_name(data->kind),
             (long long)full_batch, seconds, (double)count / seconds, backend->name);
  }
  ipro_batch_loader_destroy(loader);
  sized_model_close(&rest);
  sized_model_close(&full);
  return status;
}

static ipro_status set_normalization(const eval_options *o, ipro_dataset *data, ipro_error *err) {
  if (!o->n_mean && !o->n_std) return IPRO_OK;
  float mean[IPRO_DATASET_MAX_CHANNELS], std[IPRO_DATASET_MAX_CHANNELS];
  memcpy(mean, data->mean, sizeof mean);
  memcpy(std, data->std, sizeof std);
  int count = data->channels;
  const char *flag = o->n_mean && o->n_mean != count ? "--mean" : "--std";
  int given = o->n_mean && o->n_mean != count ? o->n_mean : o->n_std;
  if (given && given != count)
    return ipro_error_set(err, "%s has %d channel(s), but %s gives %d value(s)", o->data, count,
                          flag, given);
  if (o->n_mean) memcpy(mean, o->mean, sizeof mean);
  if (o->n_std) memcpy(std, o->std, sizeof std);
  return ipro_dataset_set_normalization(data, mean, std, count, err);
}

int ipro_cli_eval(int argc, char **argv) {
  eval_options o = {0};
  int parsed = parse(argc, argv, &o);
  if (parsed >= 0) return parsed;
  ipro_error err = {{0}};
  ipro_dataset data = {0};
  ipro_backend *backend = NULL, *fallback = NULL;
  ipro_status status = ipro_dataset_open(o.data, IPRO_SPLIT_TEST, &data, &err);
  if (status == IPRO_OK) status = set_normalization(&o, &data, &err);
  if (status == IPRO_OK) status = ipro_backend_create_reference(&fallback, &err);
  if (status == IPRO_OK && !o.reference) status = ipro_backend_create_onednn(&backend, &err);
  if (status == IPRO_OK && o.reference) {
    backend = fallback;
    fallback = NULL;
  }
  if (status == IPRO_OK) status = evaluate(&o, &data, backend, fallback, &err);
  if (backend) backend->destroy(backend);
  if (fallback) fallback->destroy(fallback);
  ipro_dataset_free(&data);
  return status == IPRO_OK ? 0 : ipro_cli_fail(err.message);
}
