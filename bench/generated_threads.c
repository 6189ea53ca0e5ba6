/* Time of the CPU backend's generated kernels on 1 and 2 OpenMP threads, by size: an
 * ipro.SgdUpdate (Nesterov, the trainer's optimizer) and an ipro.BinaryCrossEntropyGrad of
 * `count` values, each run through the oneDNN backend as the trainer runs it. For each size and
 * thread count the kernel runs `runs` times; the fastest and the median run are printed. On a
 * shared machine other processes only ever add time, so the fastest run is the closest to the
 * kernel's own cost, and the median shows what a loaded machine does to it (a split kernel waits
 * at its end for the slowest thread).
 *
 *   generated_threads [--runs N] [COUNT...]      (default counts: 2^12 .. 2^22, every power of 4)
 *
 * Prints one tab-separated line per kernel, count and thread count:
 *   kernel count threads fastest_us median_us */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/op_table.h"
#include "runtime/backend.h"

#define MAX_RUNS 1000

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A graph of one node of `op` over `count`-value float inputs named in `inputs` ("hyper", four
 * values, for the update's hyper-parameters), with one output "out" unless it is an update. */
static ipro_graph *one_node(ipro_op op, int64_t count, const char *const *inputs, int n_inputs,
                            bool output, int64_t output_count) {
  ipro_graph *g = ipro_graph_create();
  if (!g) return NULL;
  g->opset = 19;
  int ids[8];
  for (int i = 0; i < n_inputs; i++) {
    ids[i] = ipro_graph_tensor(g, inputs[i]);
    if (ids[i] < 0) return NULL;
    ipro_tensor *t = &g->tensors[ids[i]];
    t->dtype = IPRO_DTYPE_FLOAT;
    t->shape.rank = 1;
    t->shape.dims[0] = strcmp(inputs[i], "hyper") == 0 ? 4 : count;
  }
  int out = -1;
  if (output) {
    out = ipro_graph_tensor(g, "out");
    if (out < 0) return NULL;
    g->tensors[out].dtype = IPRO_DTYPE_FLOAT;
    g->tensors[out].shape.rank = 1;
    g->tensors[out].shape.dims[0] = output_count;
  }
  int index = ipro_graph_add_node(g, "node", ipro_op_name(op), n_inputs, output ? 1 : 0);
  if (index < 0) return NULL;
  ipro_node *n = &g->nodes[index];
  n->op = op;
  for (int i = 0; i < n_inputs; i++)
    n->inputs[i] = ids[i];
  if (output) n->outputs[0] = out, g->tensors[out].producer = index;
  return g;
}

static int time_kernel(ipro_backend *onednn, const char *name, ipro_op op, int64_t count, int runs,
                       const char *const *input_names, int n_inputs, bool output) {
  bool scalar = op == IPRO_OP_BINARY_CROSS_ENTROPY;
  ipro_graph *g = one_node(op, count, input_names, n_inputs, output, scalar ? 1 : count);
  if (!g) {
    fprintf(stderr, "generated_threads: out of memory\n");
    return 1;
  }
  ipro_error err = {{0}};
  ipro_kernel *kernel = NULL;
  if (onednn->prepare_forward(onednn, g, &g->nodes[0], &kernel, &err) != IPRO_OK) {
    fprintf(stderr, "generated_threads: %s: %s\n", name, err.message);
    ipro_graph_free(g);
    return 1;
  }
  void *buffers[8] = {NULL};
  for (int i = 0; i <= n_inputs; i++) {
    buffers[i] = calloc((size_t)count, sizeof(float));
    if (!buffers[i]) return 1;
    float *values = buffers[i];
    for (int64_t k = 0; k < count; k++)
      values[k] = 0.25f + 0.5f * (float)((k * 7919 + i * 104729) % 1000) / 1000.0f;
  }
  float hyper[4] = {0.1f, 0.9f, 1e-4f, 1.0f};
  for (int i = 0; i < n_inputs; i++)
    if (strcmp(input_names[i], "hyper") == 0) memcpy(buffers[i], hyper, sizeof hyper);
  void *outputs[1] = {buffers[n_inputs]};
  static double times[MAX_RUNS];
  int status = 0;
  for (int threads = 1; threads <= 2 && status == 0; threads++) {
    omp_set_num_threads(threads);
    for (int r = -2; r < runs && status == 0; r++) { /* two unmeasured runs first */
      double start = now_us();
      if (kernel->run(kernel, buffers, output ? outputs : NULL, NULL, 0, &err) != IPRO_OK) {
        fprintf(stderr, "generated_threads: %s: %s\n", name, err.message);
        status = 1;
      }
      if (r >= 0) times[r] = now_us() - start;
    }
    qsort(times, (size_t)runs, sizeof times[0], compare_doubles);
    if (status == 0)
      printf("%s\t%lld\t%d\t%.1f\t%.1f\n", name, (long long)count, threads, times[0],
             times[runs / 2]);
  }
  for (int i = 0; i <= n_inputs; i++)
    free(buffers[i]);
  kernel->destroy(kernel);
  ipro_graph_free(g);
  return status;
}

int main(int argc, char **argv) {
  int runs = 200;
  int64_t counts[32];
  int n_counts = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (n_counts < 32 && atoll(argv[i]) > 0)
      counts[n_counts++] = atoll(argv[i]);
    else {
      fprintf(stderr, "usage: generated_threads [--runs N] [COUNT...]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > MAX_RUNS) {
    fprintf(stderr, "generated_threads: --runs must be in [1, %d]\n", MAX_RUNS);
    return 2;
  }
  if (n_counts == 0)
    for (int64_t c = 1 << 12; c <= 1 << 22; c *= 4)
      counts[n_counts++] = c;
  ipro_backend *onednn = NULL;
  ipro_error err = {{0}};
  if (ipro_backend_create_onednn(&onednn, &err) != IPRO_OK) {
    fprintf(stderr, "generated_threads: %s\n", err.message);
    return 1;
  }
  static const char *const sgd[] = {"param", "grad", "velocity", "hyper"};
  static const char *const bce[] = {"p", "target"};
  int status = 0;
  printf("kernel\tcount\tthreads\tfastest_us\tmedian_us\n");
  for (int c = 0; c < n_counts && status == 0; c++) {
    status |= time_kernel(onednn, "SgdUpdate", IPRO_OP_SGD_UPDATE, counts[c], runs, sgd, 4, false);
    status |= time_kernel(onednn, "BinaryCrossEntropy", IPRO_OP_BINARY_CROSS_ENTROPY, counts[c],
                          runs, bce, 2, true);
    status |= time_kernel(onednn, "BinaryCrossEntropyGrad", IPRO_OP_BINARY_CROSS_ENTROPY_GRAD,
                          counts[c], runs, bce, 2, true);
  }
  onednn->destroy(onednn);
  return status;
}
