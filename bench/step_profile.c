/* Time of one training step, end to end and with InfoPro local training, and where it goes: the
 * wall time of each op type (and the backend that ran it) summed over the step's kernels.
 *
 * The trainer makes its own backends, so the bench is linked with --wrap on the two backend
 * constructors (bench/CMakeLists.txt): the wrappers build the real backend and put a timing shim
 * around every kernel it prepares. Kernels run synchronously (oneDNN waits on its stream), so the
 * time between a kernel's run returning and the next one starting is the trainer's own overhead.
 * Images are fixed pseudo-random pixels, labels cycle over the classes.
 *
 *   step_profile MODEL.onnx [--cut TENSOR]... [--batch N] [--steps N] [--warmup N] [--reference]
 *                [--nodes] [--cpu-time]
 *
 * Without --cut the step is end to end (K = 1); each --cut adds a module. --nodes breaks the time
 * down by node instead of by op type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_batch.h"
#include "ir/op_names.h"
#include "runtime/backend.h"
#include "runtime/trainer.h"

#define MAX_CUTS 8
#define MAX_SLOTS 4096

typedef struct {
  char name[160];
  double seconds;
  long long runs;
} op_slot;

static op_slot slots[MAX_SLOTS];
static int n_slots;
static bool counting, per_node;

/* Wall time, or with --cpu-time the process's CPU time: on a shared machine, run with
 * OMP_NUM_THREADS=1, that counts the step's own work and not the time other processes held the
 * core (with more threads it would count the OpenMP workers' spinning too). */
static clockid_t clock_used = CLOCK_MONOTONIC;

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(clock_used, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int slot_of(const char *backend, const char *op) {
  char name[160];
  snprintf(name, sizeof name, "%s %s", op, backend);
  for (int i = 0; i < n_slots; i++)
    if (strcmp(slots[i].name, name) == 0) return i;
  if (n_slots == MAX_SLOTS) {
    /* the last slot then sums every node or op the table has no room for, and says so */
    snprintf(slots[MAX_SLOTS - 1].name, sizeof slots[MAX_SLOTS - 1].name,
             "(more than %d kinds: the rest together)", MAX_SLOTS - 1);
    return MAX_SLOTS - 1;
  }
  snprintf(slots[n_slots].name, sizeof slots[n_slots].name, "%s", name);
  return n_slots++;
}

typedef struct {
  ipro_kernel base;
  ipro_kernel *inner;
  int slot;
} timed_kernel;

static ipro_status timed_run(ipro_kernel *self, void *const *inputs, void *const *outputs,
                             void *workspace, uint64_t step, ipro_error *err) {
  timed_kernel *k = (timed_kernel *)self;
  double start = seconds_now();
  ipro_status status = k->inner->run(k->inner, inputs, outputs, workspace, step, err);
  if (counting) {
    slots[k->slot].seconds += seconds_now() - start;
    slots[k->slot].runs++;
  }
  return status;
}

static void timed_destroy(ipro_kernel *self) {
  timed_kernel *k = (timed_kernel *)self;
  k->inner->destroy(k->inner);
  free(k);
}

/* The original prepare_forward of each backend kind (every instance of a kind shares it). */
typedef ipro_status (*prepare_fn)(ipro_backend *, const ipro_graph *, const ipro_node *,
                                  ipro_kernel **, ipro_error *);
static prepare_fn onednn_prepare, reference_prepare;

static ipro_status timed_prepare(ipro_backend *self, const ipro_graph *graph, const ipro_node *node,
                                 ipro_kernel **out, ipro_error *err) {
  bool onednn = strcmp(self->name, "onednn") == 0;
  prepare_fn prepare = onednn ? onednn_prepare : reference_prepare;
  if (prepare(self, graph, node, out, err) != IPRO_OK) return IPRO_ERROR;
  timed_kernel *k = calloc(1, sizeof *k);
  if (!k) return ipro_error_set(err, "out of memory");
  k->inner = *out;
  k->base.workspace_bytes = k->inner->workspace_bytes;
  /* the executor weighs the faster kernels against the frugal ones by this (backend.h) */
  k->base.has_frugal_variant = k->inner->has_frugal_variant;
  k->base.run = timed_run;
  k->base.destroy = timed_destroy;
  /* by the op that runs (a MatMul a fusion made a Gemm is a Gemm), not the file's op_type */
  k->slot = slot_of(self->name, per_node ? node->name : ipro_op_name(node->op));
  *out = &k->base;
  return IPRO_OK;
}

ipro_status __real_ipro_backend_create_onednn(ipro_backend **out, ipro_error *err);
ipro_status __real_ipro_backend_create_reference(ipro_backend **out, ipro_error *err);
ipro_status __wrap_ipro_backend_create_onednn(ipro_backend **out, ipro_error *err);
ipro_status __wrap_ipro_backend_create_reference(ipro_backend **out, ipro_error *err);

ipro_status __wrap_ipro_backend_create_onednn(ipro_backend **out, ipro_error *err) {
  if (__real_ipro_backend_create_onednn(out, err) != IPRO_OK) return IPRO_ERROR;
  onednn_prepare = (*out)->prepare_forward;
  (*out)->prepare_forward = timed_prepare;
  return IPRO_OK;
}

ipro_status __wrap_ipro_backend_create_reference(ipro_backend **out, ipro_error *err) {
  if (__real_ipro_backend_create_reference(out, err) != IPRO_OK) return IPRO_ERROR;
  reference_prepare = (*out)->prepare_forward;
  (*out)->prepare_forward = timed_prepare;
  return IPRO_OK;
}

static int by_time(const void *a, const void *b) {
  double x = ((const op_slot *)a)->seconds, y = ((const op_slot *)b)->seconds;
  return (x < y) - (x > y);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  const char *model = NULL, *cuts[MAX_CUTS];
  int n_cuts = 0;
  long long batch = 128, steps = 10, warmup = 2;
  bool reference = false;
  for (int i = 1; i < argc; i++) {
    bool more = i + 1 < argc;
    if (strcmp(argv[i], "--cut") == 0 && more && n_cuts < MAX_CUTS)
      cuts[n_cuts++] = argv[++i];
    else if (strcmp(argv[i], "--batch") == 0 && more)
      batch = atoll(argv[++i]);
    else if (strcmp(argv[i], "--steps") == 0 && more)
      steps = atoll(argv[++i]);
    else if (strcmp(argv[i], "--warmup") == 0 && more)
      warmup = atoll(argv[++i]);
    else if (strcmp(argv[i], "--reference") == 0)
      reference = true;
    else if (strcmp(argv[i], "--nodes") == 0)
      per_node = true;
    else if (strcmp(argv[i], "--cpu-time") == 0)
      clock_used = CLOCK_PROCESS_CPUTIME_ID;
    else if (!model && argv[i][0] != '-')
      model = argv[i];
    else {
      fprintf(stderr, "usage: step_profile MODEL.onnx [--cut TENSOR]... [--batch N] [--steps N] "
                      "[--warmup N] [--reference] [--nodes] [--cpu-time]\n");
      return 2;
    }
  }
  if (!model || batch < 1 || steps < 1 || warmup < 0) return 2;

  ipro_error err = {{0}};
  bench_batch fixed;
  if (!bench_batch_make("step_profile", model, batch, n_cuts + 1, &fixed)) return 1;
  float *images = fixed.images;
  int64_t *labels = fixed.labels;

  ipro_trainer_options options = {.batch = batch,
                                  .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD),
                                  .reference = reference,
                                  .n_cuts = n_cuts,
                                  .cuts = cuts,
                                  .local = fixed.local};
  ipro_trainer *trainer = NULL;
  if (ipro_trainer_create(model, &options, &trainer, &err) != IPRO_OK) {
    fprintf(stderr, "step_profile: %s\n", err.message);
    return 1;
  }
  double *times = malloc((size_t)steps * sizeof *times);
  if (!times) return 1;

  double total = 0.0;
  for (long long s = 0; s < warmup + steps; s++) {
    counting = s >= warmup;
    float loss = 0.0f;
    double start = seconds_now();
    if (ipro_trainer_step(trainer, images, labels, 0.01f, &loss, &err) != IPRO_OK) {
      fprintf(stderr, "step_profile: %s\n", err.message);
      return 1;
    }
    if (counting) total += times[s - warmup] = seconds_now() - start;
  }
  qsort(times, (size_t)steps, sizeof *times, compare_doubles);
  printf("%s K=%d batch %lld: step median %.1f ms (min %.1f, max %.1f) over %lld steps%s\n", model,
         n_cuts + 1, batch, 1e3 * times[steps / 2], 1e3 * times[0], 1e3 * times[steps - 1], steps,
         clock_used == CLOCK_MONOTONIC ? "" : ", CPU time");
  qsort(slots, (size_t)n_slots, sizeof *slots, by_time);
  double kernels = 0.0;
  for (int i = 0; i < n_slots; i++)
    kernels += slots[i].seconds;
  printf("  %-60s %9s %6s %6s\n", "op backend", "ms/step", "%", "runs");
  for (int i = 0; i < n_slots; i++)
    printf("  %-60s %9.2f %6.1f %6lld\n", slots[i].name, 1e3 * slots[i].seconds / (double)steps,
           100.0 * slots[i].seconds / total, slots[i].runs / steps);
  printf("  %-60s %9.2f %6.1f\n", "(outside kernels)", 1e3 * (total - kernels) / (double)steps,
         100.0 * (total - kernels) / total);
  ipro_trainer_free(trainer);
  bench_batch_release(&fixed);
  free(times);
  return 0;
}
