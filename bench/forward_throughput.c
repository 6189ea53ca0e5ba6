/* Forward-pass throughput of a model on the executor: for each backend asked for (oneDNN with the
 * reference kernels as fallback, and the reference kernels alone), builds the executor for one
 * batch size in inference form, runs warm-up passes, times N more, and prints images/s and
 * ms/batch with the memory figures the plan promises and the backend counted: the arena planned,
 * the arena's lower bound (the largest set of tensors live at once), and every byte the backend
 * allocated. Inputs are fixed pseudo-random pixels in [0, 1); the numbers computed are thrown
 * away. bench/forward_vs_pytorch.sh runs this beside PyTorch.
 *
 *   forward_throughput MODEL.onnx [--batch N] [--iterations N] [--warmup N]
 *                      [--backend onednn|reference|both] [--tsv]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/executor.h"

#define MAX_TENSORS 16

typedef struct {
  const char *model;
  long long batch, iterations, warmup;
  bool onednn, reference, tsv;
} bench_options;

typedef struct {
  double seconds_per_batch, fastest_seconds;
  size_t arena, arena_lower_bound, parameters, inputs, allocated, peak;
  int primary_steps, steps;
} bench_result;

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ipro_status open_graph(const bench_options *o, ipro_graph **graph, ipro_error *err) {
  if (ipro_graph_load(o->model, graph, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_graph_normalize(*graph, err) != IPRO_OK ||
      ipro_graph_set_inference_mode(*graph, err) != IPRO_OK ||
      ipro_graph_infer_shapes(*graph, o->batch, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", o->model);
  if ((*graph)->n_inputs > MAX_TENSORS || (*graph)->n_outputs > MAX_TENSORS)
    return ipro_error_set(err, "%s: more than %d inputs or outputs", o->model, MAX_TENSORS);
  for (int i = 0; i < (*graph)->n_inputs; i++)
    if ((*graph)->tensors[(*graph)->inputs[i]].dtype != IPRO_DTYPE_FLOAT)
      return ipro_error_set(err, "%s: input '%s' is not float32", o->model,
                            (*graph)->tensors[(*graph)->inputs[i]].name);
  return IPRO_OK;
}

/* One buffer per graph input (pixels in [0, 1) from a fixed linear congruential sequence) and
 * output. */
static ipro_status allocate_buffers(const ipro_graph *graph, void **inputs, void **outputs,
                                    ipro_error *err) {
  uint64_t state = 12345;
  for (int i = 0; i < graph->n_inputs; i++) {
    const ipro_tensor *t = &graph->tensors[graph->inputs[i]];
    size_t count = (size_t)ipro_tensor_bytes(t) / sizeof(float);
    float *data = malloc(count * sizeof *data + 1);
    if (!data) return ipro_error_set(err, "out of memory for input '%s'", t->name);
    for (size_t k = 0; k < count; k++) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      data[k] = (float)(state >> 40) / (float)(1u << 24);
    }
    inputs[i] = data;
  }
  for (int i = 0; i < graph->n_outputs; i++) {
    const ipro_tensor *t = &graph->tensors[graph->outputs[i]];
    outputs[i] = malloc((size_t)ipro_tensor_bytes(t) + 1);
    if (!outputs[i]) return ipro_error_set(err, "out of memory for output '%s'", t->name);
  }
  return IPRO_OK;
}

static ipro_status measure(const bench_options *o, bool use_onednn, bench_result *r,
                           ipro_error *err) {
  ipro_graph *graph = NULL;
  ipro_backend *backend = NULL, *fallback = NULL;
  ipro_executor *executor = NULL;
  void *inputs[MAX_TENSORS] = {0}, *outputs[MAX_TENSORS] = {0};
  ipro_status status = open_graph(o, &graph, err);
  if (status == IPRO_OK) status = allocate_buffers(graph, inputs, outputs, err);
  if (status == IPRO_OK) status = ipro_backend_create_reference(&fallback, err);
  if (status == IPRO_OK && use_onednn) status = ipro_backend_create_onednn(&backend, err);
  if (status == IPRO_OK && !use_onednn) {
    backend = fallback;
    fallback = NULL;
  }
  if (status == IPRO_OK) status = ipro_executor_create(graph, backend, fallback, &executor, err);
  for (long long i = 0; status == IPRO_OK && i < o->warmup; i++)
    status = ipro_executor_run(executor, (const void *const *)inputs, outputs, err);
  double total = 0;
  r->fastest_seconds = 0;
  for (long long i = 0; status == IPRO_OK && i < o->iterations; i++) {
    double start = seconds_now();
    status = ipro_executor_run(executor, (const void *const *)inputs, outputs, err);
    double seconds = seconds_now() - start;
    total += seconds;
    if (i == 0 || seconds < r->fastest_seconds) r->fastest_seconds = seconds;
  }
  if (status == IPRO_OK) {
    const ipro_forward_program *p = ipro_executor_program(executor);
    r->seconds_per_batch = total / (double)o->iterations;
    r->arena = p->arena_bytes;
    r->arena_lower_bound = p->arena_lower_bound_bytes;
    r->parameters = p->parameter_bytes;
    r->inputs = p->input_bytes;
    r->allocated = backend->bytes_allocated + (fallback ? fallback->bytes_allocated : 0);
    r->peak = backend->peak_bytes;
    r->primary_steps = ipro_executor_primary_steps(executor);
    r->steps = p->n_steps;
  }
  ipro_executor_free(executor);
  if (backend) backend->destroy(backend);
  if (fallback) fallback->destroy(fallback);
  for (int i = 0; i < MAX_TENSORS; i++) {
    free(inputs[i]);
    free(outputs[i]);
  }
  ipro_graph_free(graph);
  return status;
}

static void report(const bench_options *o, const char *backend, const bench_result *r) {
  double images = (double)o->batch / r->seconds_per_batch;
  if (o->tsv) {
    printf("%s\t%s\t%lld\t%lld\t%.3f\t%.1f\t%zu\t%zu\t%zu\n", o->model, backend, o->batch,
           o->iterations, 1e3 * r->seconds_per_batch, images, r->arena, r->arena_lower_bound,
           r->allocated);
    return;
  }
  printf("%s  %s  batch %lld: %.2f ms/batch (fastest %.2f), %.1f images/s over %lld passes "
         "after %lld warm-up\n",
         o->model, backend, o->batch, 1e3 * r->seconds_per_batch, 1e3 * r->fastest_seconds, images,
         o->iterations, o->warmup);
  printf("  arena %zu bytes planned (lower bound %zu); %zu bytes allocated by the backend "
         "(parameters %zu, inputs %zu, peak in use %zu); %d of %d steps on %s\n",
         r->arena, r->arena_lower_bound, r->allocated, r->parameters, r->inputs, r->peak,
         r->primary_steps, r->steps, backend);
}

static int parse_count(const char *flag, const char *text, long long minimum, long long *out) {
  char *end = NULL;
  errno = 0;
  long long value = text ? strtoll(text, &end, 10) : 0;
  if (!text || errno || end == text || *end || value < minimum) {
    fprintf(stderr, "forward_throughput: %s expects an integer >= %lld\n", flag, minimum);
    return 0;
  }
  *out = value;
  return 1;
}

static const char usage[] =
    "usage: forward_throughput MODEL.onnx [--batch N] [--iterations N] [--warmup N]\n"
    "                          [--backend onednn|reference|both] [--tsv]\n";

static int parse(int argc, char **argv, bench_options *o) {
  *o = (bench_options){
      .batch = 128, .iterations = 10, .warmup = 2, .onednn = true, .reference = true};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--batch") == 0 || strcmp(a, "--iterations") == 0) {
      if (!parse_count(a, value, 1, a[2] == 'b' ? &o->batch : &o->iterations)) return 0;
      i++;
    } else if (strcmp(a, "--warmup") == 0) {
      if (!parse_count(a, value, 0, &o->warmup)) return 0;
      i++;
    } else if (strcmp(a, "--backend") == 0 && value) {
      bool both = strcmp(value, "both") == 0;
      o->onednn = both || strcmp(value, "onednn") == 0;
      o->reference = both || strcmp(value, "reference") == 0;
      if (!o->onednn && !o->reference) return 0;
      i++;
    } else if (strcmp(a, "--tsv") == 0) {
      o->tsv = true;
    } else if (a[0] != '-' && !o->model) {
      o->model = a;
    } else {
      return 0;
    }
  }
  return o->model != NULL;
}

int main(int argc, char **argv) {
  bench_options o;
  if (!parse(argc, argv, &o)) {
    fputs(usage, stderr);
    return 2;
  }
  if (o.tsv)
    printf("model\tbackend\tbatch\titerations\tms_per_batch\timages_per_s\tarena_bytes\t"
           "arena_lower_bound_bytes\tallocated_bytes\n");
  ipro_error err = {{0}};
  for (int pass = 0; pass < 2; pass++) {
    bool use_onednn = pass == 0;
    if (use_onednn ? !o.onednn : !o.reference) continue;
    bench_result r = {0};
    if (measure(&o, use_onednn, &r, &err) != IPRO_OK) {
      fprintf(stderr, "forward_throughput: %s\n", err.message);
      return 1;
    }
    report(&o, use_onednn ? "onednn" : "reference", &r);
    fflush(stdout);
  }
  return 0;
}
