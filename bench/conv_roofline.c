/* The convolutions of a model's end-to-end training step, each alone: the roofline a training step
 * is measured against in bench/training_step_vs_pytorch.sh.
 *
 * The model is opened at the batch, its training program built (forward, backward, SGD), and its
 * tensors given the layouts the oneDNN backend carries them in (as the trainer does, unless a
 * node of the program falls back to the reference kernels, which none of the bundled models'
 * do; the executor then chooses again without it). Every Conv,
 * ipro.ConvGradInput and ipro.ConvGradWeight kernel of it is then prepared on the oneDNN backend
 * and run by itself on seeded random operands, warm-up runs first, and the median of the timed
 * runs taken; identical kernels (the same op, shapes and attributes) are timed once and counted
 * as often as they occur. The FLOPs are the op table's (2 per multiply-add), as `infopro plan`
 * counts them.
 *
 *   conv_roofline MODEL.onnx [--batch N] [--runs N] [--warmup N] [--tsv]
 *
 * Prints each kind's GFLOP/s and, with the whole step's FLOPs (every node of the training
 * program), the isolated convolutions' rate. --tsv prints one line:
 *   model batch conv_gflop conv_isolated_ms conv_gflops step_gflop */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/training_graph.h"
#include "frontend/op_table.h"
#include "runtime/backend.h"

#define MAX_KINDS 512

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  char key[512];
  int count;
  double flops, seconds; /* one kernel's FLOPs and median run time */
} conv_kind;

static bool is_convolution(ipro_op op) {
  return op == IPRO_OP_CONV || op == IPRO_OP_CONV_GRAD_INPUT || op == IPRO_OP_CONV_GRAD_WEIGHT;
}

/* The op, every operand's shape and layout, and the window: what makes two kernels the same. */
static void kind_key(const ipro_graph *graph, const ipro_node *node, const uint8_t *layouts,
                     char *key, size_t size) {
  size_t at = (size_t)snprintf(key, size, "%s", node->op_type);
  for (int i = 0; i < node->n_inputs + node->n_outputs && at < size; i++) {
    int t = i < node->n_inputs ? node->inputs[i] : node->outputs[i - node->n_inputs];
    if (t < 0) continue;
    char shape[128];
    at += (size_t)snprintf(key + at, size - at, " %s%s",
                           ipro_shape_format(&graph->tensors[t].shape, shape, sizeof shape),
                           layouts[t] ? "b" : "");
  }
  static const char *const window[] = {"strides", "pads", "dilations", "group"};
  for (int w = 0; w < 4 && at < size; w++) {
    const ipro_attr *attr = ipro_node_attr(node, window[w]);
    if (!attr) continue;
    at += (size_t)snprintf(key + at, size - at, " %s", window[w]);
    for (int v = 0; attr->kind == IPRO_ATTR_INTS && v < attr->count && at < size; v++)
      at +=
          (size_t)snprintf(key + at, size - at, "%s%lld", v ? "," : "=", (long long)attr->ints[v]);
    if (attr->kind == IPRO_ATTR_INT && at < size)
      at += (size_t)snprintf(key + at, size - at, "=%lld", (long long)attr->i);
  }
}

/* bytes rounded up to a multiple of 64 (aligned_alloc's size rule), at least 64. */
static size_t aligned(size_t bytes) { return bytes ? (bytes + 63) / 64 * 64 : 64; }

/* Median seconds of one run of node's oneDNN kernel on random operands; < 0 on failure. */
static double time_kernel(ipro_backend *onednn, const ipro_graph *graph, const ipro_node *node,
                          int warmup, int runs) {
  ipro_error err = {{0}};
  ipro_kernel *kernel = NULL;
  if (onednn->prepare_forward(onednn, graph, node, &kernel, &err) != IPRO_OK) {
    fprintf(stderr, "conv_roofline: %s\n", err.message);
    return -1;
  }
  void *inputs[8] = {NULL}, *outputs[8] = {NULL};
  /* 64-byte aligned, as the executor's arena is */
  void *workspace =
      kernel->workspace_bytes ? aligned_alloc(64, aligned(kernel->workspace_bytes)) : NULL;
  uint32_t state = 12345;
  for (int i = 0; i < node->n_inputs + node->n_outputs && i < 16; i++) {
    bool input = i < node->n_inputs;
    int t = input ? node->inputs[i] : node->outputs[i - node->n_inputs];
    if (t < 0 || (input ? i : i - node->n_inputs) >= 8) continue;
    /* a tensor carried in padded channel blocks takes more than its shape's bytes */
    size_t bytes = onednn->layouts && onednn->layouts[t] && onednn->layout_bytes
                       ? onednn->layout_bytes(onednn, graph, t, onednn->layouts[t])
                       : (size_t)ipro_tensor_bytes(&graph->tensors[t]);
    float *values = aligned_alloc(64, aligned(bytes));
    for (size_t k = 0; k < bytes / sizeof(float); k++) {
      state = state * 1664525u + 1013904223u;
      values[k] = (float)(state >> 8) / 16777216.0f - 0.5f;
    }
    if (input)
      inputs[i] = values;
    else
      outputs[i - node->n_inputs] = values;
  }
  double *times = calloc((size_t)runs, sizeof(double)), median = -1;
  bool ok = true;
  for (int r = 0; ok && r < warmup + runs; r++) {
    double start = seconds_now();
    ok = kernel->run(kernel, inputs, outputs, workspace, 0, &err) == IPRO_OK;
    if (r >= warmup) times[r - warmup] = seconds_now() - start;
  }
  if (ok) {
    qsort(times, (size_t)runs, sizeof(double), compare_doubles);
    median = times[runs / 2];
  } else {
    fprintf(stderr, "conv_roofline: %s\n", err.message);
  }
  free(times);
  for (int i = 0; i < 8; i++)
    free(inputs[i]), free(outputs[i]);
  free(workspace);
  kernel->destroy(kernel);
  return median;
}

int main(int argc, char **argv) {
  const char *model = NULL;
  int64_t batch = 128;
  int runs = 5, warmup = 2;
  bool tsv = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
      batch = atoll(argv[++i]);
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
      warmup = atoi(argv[++i]);
    else if (strcmp(argv[i], "--tsv") == 0)
      tsv = true;
    else if (!model && argv[i][0] != '-')
      model = argv[i];
    else {
      fprintf(stderr, "usage: conv_roofline MODEL.onnx [--batch N] [--runs N] [--warmup N] "
                      "[--tsv]\n");
      return 2;
    }
  }
  if (!model || batch < 1 || runs < 1 || warmup < 0) {
    fprintf(stderr, "usage: conv_roofline MODEL.onnx [--batch N] [--runs N] [--warmup N] "
                    "[--tsv]\n");
    return 2;
  }
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  ipro_training_graph training = {0};
  ipro_backend *onednn = NULL;
  if (ipro_graph_open(model, batch, &graph, &err) != IPRO_OK ||
      ipro_training_graph_build(graph, IPRO_OPTIMIZER_SGD, &training, &err) != IPRO_OK ||
      ipro_backend_create_onednn(&onednn, &err) != IPRO_OK) {
    fprintf(stderr, "conv_roofline: %s\n", err.message);
    return 1;
  }
  uint8_t *layouts = calloc((size_t)graph->n_tensors + 1, 1);
  if (onednn->choose_layouts) onednn->choose_layouts(onednn, graph, NULL, layouts);
  onednn->layouts = layouts;

  static conv_kind kinds[MAX_KINDS];
  int n_kinds = 0;
  double step_flops = 0;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    const ipro_op_info *info = ipro_op_info_of(node->op);
    double flops = info && info->flops ? (double)info->flops(graph, node) : 0;
    step_flops += flops;
    if (!is_convolution(node->op)) continue;
    char key[512];
    kind_key(graph, node, layouts, key, sizeof key);
    int k = 0;
    while (k < n_kinds && strcmp(kinds[k].key, key) != 0)
      k++;
    if (k == n_kinds) {
      if (n_kinds == MAX_KINDS) continue;
      snprintf(kinds[k].key, sizeof kinds[k].key, "%s", key);
      kinds[k].flops = flops;
      kinds[k].seconds = time_kernel(onednn, graph, node, warmup, runs);
      if (kinds[k].seconds < 0) return 1;
      n_kinds++;
    }
    kinds[k].count++;
  }
  double conv_flops = 0, conv_seconds = 0;
  for (int k = 0; k < n_kinds; k++) {
    conv_flops += kinds[k].count * kinds[k].flops;
    conv_seconds += kinds[k].count * kinds[k].seconds;
    if (!tsv)
      printf("%8.1f GFLOP/s  %3d x %7.3f ms  %s\n", 1e-9 * kinds[k].flops / kinds[k].seconds,
             kinds[k].count, 1e3 * kinds[k].seconds, kinds[k].key);
  }
  if (tsv)
    printf("%s\t%lld\t%.4f\t%.3f\t%.1f\t%.4f\n", model, (long long)batch, 1e-9 * conv_flops,
           1e3 * conv_seconds, 1e-9 * conv_flops / conv_seconds, 1e-9 * step_flops);
  else
    printf("%s batch %lld: the step's convolutions alone: %.2f GFLOP in %.1f ms, %.1f GFLOP/s; "
           "the whole step %.2f GFLOP\n",
           model, (long long)batch, 1e-9 * conv_flops, 1e3 * conv_seconds,
           1e-9 * conv_flops / conv_seconds, 1e-9 * step_flops);
  onednn->layouts = NULL;
  free(layouts);
  onednn->destroy(onednn);
  ipro_training_graph_release(&training);
  ipro_graph_free(graph);
  return 0;
}
