/* Seconds per training step and peak memory of the trainer (runtime/trainer.h), end to end or
 * with InfoPro local training, for bench/training_step_vs_pytorch.sh. The recipe is the trainer's
 * default (SGD, momentum 0.9, Nesterov, weight decay 1e-4; BN in training mode; cross-entropy of
 * the last module). Images are fixed pseudo-random pixels in [0, 1), normalised with mean 0.3 and
 * std 0.35, labels cycle over the classes; every step trains on the same batch.
 *
 * Memory: the bytes the backend allocated for the trainer (ipro_trainer_allocated_bytes: the
 * blocks it asked for, which the trainer sizes by the plan's formula), the bytes its plan
 * promised (ipro_trainer_planned_bytes), and two measures that do not read the plan: the
 * counting allocator's peak over its level just before the trainer is created, through the last
 * step (runtime/process_memory.h: every allocation of the process, the trainer's blocks, its
 * programs and oneDNN's primitives, and any temporary a kernel mallocs), and the growth of the
 * process's maximum resident set over the same stretch (getrusage; it also counts kernel code
 * and allocator slack).
 *
 * Saved for backward (the measure bench/training_step_pytorch.py takes of PyTorch): the bytes of
 * the activations the forward pass leaves for the backward pass, each buffer once: tensors that
 * are graph inputs or written by a step up to the one that computes the last loss, and read by a
 * later step (parameters and optimizer state excluded). The largest module's is reported. The
 * arena holds these plus the backward pass's own transient gradients and kernel workspaces.
 *
 *   training_step MODEL.onnx [--cuts T1,T2,...] [--batch N] [--steps N] [--warmup N]
 *                 [--lr LR] [--reference] [--device cpu|cuda] [--tsv]
 *
 * --cuts takes the K-1 cut tensors in network order (e.g. the "cuts" of `infopro plan --json`);
 * without it the step is end to end. --tsv prints one line:
 *   model K batch steps median_ms min_ms max_ms allocated_bytes planned_bytes block_bytes
 *   maxrss_delta_bytes saved_bytes allocator_measured_bytes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_batch.h"
#include "codegen/training_graph.h"
#include "runtime/executor.h"
#include "runtime/process_memory.h"
#include "runtime/trainer.h"

#define MAX_CUTS 16

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Bytes saved for backward by one module's program (see the top of the file). */
static size_t module_saved_bytes(ipro_trainer *trainer, int module) {
  const ipro_graph *graph = ipro_trainer_module_graph(trainer, module);
  const ipro_training_graph *training = ipro_trainer_module_training(trainer, module);
  const ipro_forward_program *program =
      ipro_executor_program(ipro_trainer_module_executor(trainer, module));
  int *written = malloc(sizeof(int) * (size_t)graph->n_tensors);
  int *last_read = malloc(sizeof(int) * (size_t)graph->n_tensors);
  if (!written || !last_read) return 0;
  for (int t = 0; t < graph->n_tensors; t++)
    written[t] = graph->tensors[t].producer < 0 ? -1 : program->n_steps, last_read[t] = -1;
  int boundary = -1;
  for (int s = 0; s < program->n_steps; s++) {
    const ipro_node *node = &graph->nodes[program->steps[s].node];
    for (int i = 0; i < node->n_inputs; i++)
      if (node->inputs[i] >= 0) last_read[node->inputs[i]] = s;
    for (int o = 0; o < node->n_outputs; o++) {
      int t = node->outputs[o];
      if (t < 0) continue;
      if (s < written[t]) written[t] = s;
      for (int l = 0; l < training->n_losses; l++)
        if (t == training->losses[l] && s > boundary) boundary = s;
    }
  }
  size_t saved = 0;
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor_slot *slot = &program->slots[t];
    if ((slot->kind != IPRO_SLOT_ARENA && slot->kind != IPRO_SLOT_INPUT) || written[t] > boundary ||
        last_read[t] <= boundary)
      continue;
    bool shared = false; /* a view shares its input's buffer: count the buffer once */
    for (int u = 0; u < t && !shared; u++)
      shared = program->slots[u].kind == slot->kind && program->slots[u].offset == slot->offset &&
               written[u] <= boundary && last_read[u] > boundary;
    if (!shared) saved += slot->bytes;
  }
  free(written), free(last_read);
  return saved;
}

static long long max_rss_bytes(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return 1024LL * usage.ru_maxrss; /* kilobytes on Linux */
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int usage(void) {
  fprintf(stderr, "usage: training_step MODEL.onnx [--cuts T1,T2,...] [--batch N] [--steps N] "
                  "[--warmup N] [--lr LR] [--reference] [--device cpu|cuda] [--tsv]\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *model = NULL, *cuts[MAX_CUTS];
  char *cuts_text = NULL;
  int n_cuts = 0;
  long long batch = 128, steps = 10, warmup = 2;
  float learning_rate = 0.01f;
  bool reference = false, tsv = false;
  ipro_device device = IPRO_DEVICE_CPU;
  for (int i = 1; i < argc; i++) {
    bool more = i + 1 < argc;
    if (strcmp(argv[i], "--cuts") == 0 && more)
      cuts_text = argv[++i];
    else if (strcmp(argv[i], "--batch") == 0 && more)
      batch = atoll(argv[++i]);
    else if (strcmp(argv[i], "--steps") == 0 && more)
      steps = atoll(argv[++i]);
    else if (strcmp(argv[i], "--warmup") == 0 && more)
      warmup = atoll(argv[++i]);
    else if (strcmp(argv[i], "--lr") == 0 && more)
      learning_rate = strtof(argv[++i], NULL);
    else if (strcmp(argv[i], "--reference") == 0)
      reference = true;
    else if (strcmp(argv[i], "--device") == 0 && more) {
      ipro_error parse_error = {{0}};
      if (ipro_device_parse(argv[++i], &device, &parse_error) != IPRO_OK) return usage();
    } else if (strcmp(argv[i], "--tsv") == 0)
      tsv = true;
    else if (!model && argv[i][0] != '-')
      model = argv[i];
    else
      return usage();
  }
  if (!model || batch < 1 || steps < 1 || warmup < 0) return usage();
  if (cuts_text)
    for (char *name = strtok(cuts_text, ","); name; name = strtok(NULL, ",")) {
      if (n_cuts == MAX_CUTS) return usage();
      cuts[n_cuts++] = name;
    }

  ipro_error err = {{0}};
  bench_batch fixed;
  if (!bench_batch_make("training_step", model, batch, n_cuts + 1, &fixed)) return 1;
  float *images = fixed.images;
  int64_t *labels = fixed.labels;
  double *times = malloc((size_t)steps * sizeof *times);
  if (!times) {
    bench_batch_release(&fixed);
    return 1;
  }

  long long rss_before = max_rss_bytes();
  ipro_process_memory heap;
  ipro_process_memory_begin(&heap);
  ipro_trainer_options options = {.batch = batch,
                                  .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD),
                                  .reference = reference,
                                  .device = device,
                                  .n_cuts = n_cuts,
                                  .cuts = cuts,
                                  .local = fixed.local};
  ipro_trainer *trainer = NULL;
  if (ipro_trainer_create(model, &options, &trainer, &err) != IPRO_OK) {
    fprintf(stderr, "training_step: %s\n", err.message);
    free(times);
    bench_batch_release(&fixed);
    return 1;
  }
  float loss = 0.0f;
  for (long long s = 0; s < warmup + steps; s++) {
    double start = seconds_now();
    if (ipro_trainer_step(trainer, images, labels, learning_rate, &loss, &err) != IPRO_OK) {
      fprintf(stderr, "training_step: %s\n", err.message);
      ipro_trainer_free(trainer);
      free(times);
      bench_batch_release(&fixed);
      return 1;
    }
    if (s >= warmup) times[s - warmup] = seconds_now() - start;
  }
  long long rss_delta = max_rss_bytes() - rss_before;
  unsigned long long measured = (unsigned long long)ipro_process_memory_heap_growth(&heap);
  size_t allocated = ipro_trainer_allocated_bytes(trainer);
  size_t planned = ipro_trainer_planned_bytes(trainer);
  size_t block = ipro_trainer_block_bytes(trainer);
  int K = ipro_trainer_module_count(trainer);
  size_t saved = 0;
  for (int k = 0; k < K; k++) {
    size_t module_saved = module_saved_bytes(trainer, k);
    if (module_saved > saved) saved = module_saved;
  }
  qsort(times, (size_t)steps, sizeof *times, compare_doubles);
  double median = steps % 2 ? times[steps / 2] : (times[steps / 2 - 1] + times[steps / 2]) / 2;
  if (tsv)
    printf("%s\t%d\t%lld\t%lld\t%.3f\t%.3f\t%.3f\t%zu\t%zu\t%zu\t%lld\t%zu\t%llu\n", model, K,
           batch, steps, 1e3 * median, 1e3 * times[0], 1e3 * times[steps - 1], allocated, planned,
           block, rss_delta, saved, measured);
  else
    printf("%s K=%d batch %lld: step median %.1f ms (min %.1f, max %.1f) over %lld steps after "
           "%lld warm-up, last loss %.4f\n"
           "  trainer allocated %zu bytes (planned %zu, shared block %zu); allocator-measured peak "
           "%llu bytes; max RSS grew by %lld bytes; saved for backward %zu bytes (largest "
           "module)\n",
           model, K, batch, 1e3 * median, 1e3 * times[0], 1e3 * times[steps - 1], steps, warmup,
           (double)loss, allocated, planned, block, measured, rss_delta, saved);
  ipro_trainer_free(trainer);
  bench_batch_release(&fixed);
  free(times);
  return 0;
}
