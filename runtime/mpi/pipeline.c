/* The pipeline of pipeline.h: MPI setup, the message buffers and the double-buffered step loop.
 * A message of step t is [activation | images | labels], each part 64-byte aligned, so the
 * trainer reads the activation where MPI received it and writes its output where MPI sends it. */
#include "pipeline.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline_internal.h"

/* Open MPI keeps what MPI_Init allocates (its components, the hwloc topology) until the process
 * ends, by design, and some of it in components it unloads, whose stacks LeakSanitizer cannot
 * name for a suppression; under the sanitizer its allocations are therefore not tracked while
 * MPI starts and stops. Nothing of infopro's is allocated in between. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define IPRO_LSAN_IGNORE_BEGIN() __lsan_disable()
#define IPRO_LSAN_IGNORE_END() __lsan_enable()
#endif
#endif
#ifndef IPRO_LSAN_IGNORE_BEGIN
#define IPRO_LSAN_IGNORE_BEGIN() ((void)0)
#define IPRO_LSAN_IGNORE_END() ((void)0)
#endif

ipro_status ipro_pipeline_mpi_check(int code, const char *call, const char *file, int line,
                                    ipro_error *err) {
  if (code == MPI_SUCCESS) return IPRO_OK;
  char text[MPI_MAX_ERROR_STRING] = "";
  int length = 0;
  MPI_Error_string(code, text, &length);
  size_t name = strcspn(call, "(");
  return ipro_error_set(err, "%s:%d: %.*s failed: %s", file, line, (int)name, call, text);
}

ipro_status ipro_pipeline_open(ipro_pipeline **out, ipro_error *err) {
  *out = NULL;
  int initialized = 0;
  MPI_Initialized(&initialized);
  IPRO_LSAN_IGNORE_BEGIN();
  int code = initialized ? MPI_SUCCESS : MPI_Init(NULL, NULL);
  IPRO_LSAN_IGNORE_END();
  if (code != MPI_SUCCESS) return ipro_error_set(err, "MPI_Init failed");
  ipro_pipeline *p = calloc(1, sizeof *p);
  if (!p) return ipro_error_set(err, "out of memory");
  /* Errors come back as statuses (with their text) instead of MPI's own abort. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &p->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p->size);
  p->world_rank = p->rank;
  p->world_size = p->size;
  p->replicas = 1;
  p->comm = MPI_COMM_WORLD;
  p->module_comm = MPI_COMM_NULL;
  p->requests[0][0] = p->requests[0][1] = MPI_REQUEST_NULL;
  p->requests[1][0] = p->requests[1][1] = MPI_REQUEST_NULL;
  *out = p;
  return IPRO_OK;
}

int ipro_pipeline_rank(const ipro_pipeline *p) { return p->world_rank; }
int ipro_pipeline_size(const ipro_pipeline *p) { return p->world_size; }
int ipro_pipeline_stage(const ipro_pipeline *p) { return p->rank; }
int ipro_pipeline_replicas(const ipro_pipeline *p) { return p->replicas; }
int ipro_pipeline_replica(const ipro_pipeline *p) { return p->replica; }

ipro_status ipro_pipeline_arrange(ipro_pipeline *p, int K, const ipro_pipeline_stages *stages,
                                  int64_t batch, ipro_error *err) {
  int n = p->world_size, S = stages->stages;
  if (K < 1 || S < 1 || S > K || stages->first[0] != 0 || stages->first[S] != K)
    return ipro_error_set(err, "%d stages do not group a plan of %d modules", S, K);
  if (n % S != 0) {
    if (S == K)
      return ipro_error_set(err,
                            "%d MPI processes for a plan of %d module%s: the pipeline runs one "
                            "module per process, R replicas of each (mpirun -np %d, or -np %d x "
                            "R), or groups them into fewer stages than processes (-np below %d, "
                            "or --stages S with -np S x R)",
                            n, K, K == 1 ? "" : "s", K, K, K);
    return ipro_error_set(err,
                          "%d MPI processes for %d stages: each replica of the pipeline takes one "
                          "process per stage (mpirun -np %d, or -np %d x R)",
                          n, S, S, S);
  }
  int R = n / S;
  if (batch % R != 0)
    return ipro_error_set(err,
                          "%d replicas (mpirun -np %d for %d %s%s) cannot share a batch of "
                          "%lld equally: --batch is the global batch, a multiple of the replicas",
                          R, n, S, S == K ? "module" : "stage", S == 1 ? "" : "s",
                          (long long)batch);
  p->replicas = R;
  p->replica = p->world_rank / S;
  p->first_module = stages->first[p->world_rank % S];
  if (R == 1) return IPRO_OK;
  if (IPRO_MPI(MPI_Comm_split(MPI_COMM_WORLD, p->replica, p->world_rank % S, &p->comm), err) !=
          IPRO_OK ||
      IPRO_MPI(MPI_Comm_split(MPI_COMM_WORLD, p->world_rank % S, p->replica, &p->module_comm),
               err) != IPRO_OK)
    return IPRO_ERROR;
  MPI_Comm_set_errhandler(p->comm, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(p->module_comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(p->comm, &p->rank);
  MPI_Comm_size(p->comm, &p->size);
  return IPRO_OK;
}

int ipro_pipeline_first_failure(ipro_pipeline *p, bool ok) {
  int n = p->world_size, mine = ok ? n : p->world_rank, first = n;
  if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
    return p->world_rank;
  return first < n ? first : -1;
}

ipro_status ipro_pipeline_broadcast(ipro_pipeline *p, void *data, size_t bytes, ipro_error *err) {
  if (bytes > (size_t)INT32_MAX)
    return ipro_error_set(err, "a broadcast of %zu bytes, over MPI's int count", bytes);
  MPI_Request request = MPI_REQUEST_NULL;
  if (IPRO_MPI(MPI_Ibcast(data, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD, &request), err) != IPRO_OK)
    return IPRO_ERROR;
  for (int done = 0;;) {
    if (IPRO_MPI(MPI_Test(&request, &done, MPI_STATUS_IGNORE), err) != IPRO_OK) return IPRO_ERROR;
    if (done) return IPRO_OK;
    struct timespec wait = {.tv_nsec = 1000000};
    if (p->world_rank != 0) nanosleep(&wait, NULL);
  }
}

static size_t aligned(size_t bytes) { return ipro_memory_aligned(bytes, IPRO_ARENA_ALIGNMENT); }

/* Two buffers of `bytes` in one 64-byte aligned block (page-locked for a device). */
static ipro_status allocate_pair(ipro_pipeline *p, size_t bytes, uint8_t *pair[2],
                                 ipro_error *err) {
  if (ipro_pipeline_host_block(p, 2 * bytes, &pair[0], err) != IPRO_OK) return IPRO_ERROR;
  pair[1] = pair[0] + bytes;
  return IPRO_OK;
}

ipro_status ipro_pipeline_attach(ipro_pipeline *p, ipro_trainer *trainer, size_t image_bytes,
                                 size_t labels_bytes, ipro_error *err) {
  p->trainer = trainer;
  p->image_bytes = image_bytes / (size_t)p->replicas; /* this replica's share */
  p->labels_bytes = labels_bytes / (size_t)p->replicas;
  image_bytes = p->image_bytes;
  labels_bytes = p->labels_bytes;
  p->in_activation = ipro_trainer_handoff_input_bytes(trainer);
  p->out_activation = ipro_trainer_handoff_output_bytes(trainer);
  /* Each side states what it sends or expects, bytes and layout; a mismatch (ranks given
   * different plans or batches, or on CPUs whose kernels block channels differently) is
   * reported here rather than as a truncated message or wrong numbers later. */
  unsigned long long sent[2] = {p->out_activation, ipro_trainer_handoff_output_layout(trainer)};
  unsigned long long expected[2] = {0, 0};
  unsigned long long layout = ipro_trainer_handoff_input_layout(trainer);
  int next = p->rank + 1 < p->size ? p->rank + 1 : MPI_PROC_NULL;
  int previous = p->rank > 0 ? p->rank - 1 : MPI_PROC_NULL;
  if (IPRO_MPI(MPI_Sendrecv(sent, 2, MPI_UNSIGNED_LONG_LONG, next, 1, expected, 2,
                            MPI_UNSIGNED_LONG_LONG, previous, 1, p->comm, MPI_STATUS_IGNORE),
               err) != IPRO_OK)
    return IPRO_ERROR;
  if (p->rank > 0 && expected[0] != p->in_activation)
    return ipro_error_set(err,
                          "rank %d sends %llu bytes of activation but rank %d's module expects "
                          "%zu (were the ranks given the same model, plan and batch?)",
                          p->rank - 1, expected[0], p->rank, p->in_activation);
  if (p->rank > 0 && expected[1] != layout)
    return ipro_error_set(err,
                          "rank %d sends its activation in layout %llu but rank %d's module reads "
                          "layout %llu (0 is plain, 8 and 16 channel blocks: do the ranks run on "
                          "CPUs of one kind?)",
                          p->rank - 1, expected[1], p->rank, layout);
  if (ipro_pipeline_device_attach(p, err) != IPRO_OK) return IPRO_ERROR;
  p->image_offset[0] = aligned(ipro_pipeline_carried_activation(p, 0));
  p->image_offset[1] = aligned(ipro_pipeline_carried_activation(p, 1));
  for (int d = 0; d < 2; d++)
    p->message_bytes[d] = p->image_offset[d] + aligned(image_bytes) + aligned(labels_bytes);
  if (p->rank > 0 && allocate_pair(p, p->message_bytes[0], p->in, err) != IPRO_OK)
    return IPRO_ERROR;
  if (p->rank + 1 < p->size && allocate_pair(p, p->message_bytes[1], p->out, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_pipeline_replicas_attach(p, err);
}

static uint8_t *images_of(ipro_pipeline *p, int direction, uint8_t *message) {
  return message + p->image_offset[direction];
}
static uint8_t *labels_of(ipro_pipeline *p, int direction, uint8_t *message) {
  return message + p->image_offset[direction] + aligned(p->image_bytes);
}

static ipro_status post_receive(ipro_pipeline *p, int slot, ipro_error *err) {
  if (IPRO_MPI(MPI_Irecv(p->in[slot], (int)p->message_bytes[0], MPI_BYTE, p->rank - 1, 0, p->comm,
                         &p->requests[0][slot]),
               err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_pipeline_device_receive(p, slot, err);
}

static double seconds_on(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
double ipro_pipeline_now(void) { return seconds_on(CLOCK_MONOTONIC); }

ipro_status ipro_pipeline_wait(ipro_pipeline *p, MPI_Request *request, ipro_error *err) {
  double start = ipro_pipeline_now();
  ipro_status status = IPRO_MPI(MPI_Wait(request, MPI_STATUS_IGNORE), err);
  p->timing.wait_seconds += ipro_pipeline_now() - start;
  return status;
}

/* One step at buffer slot `slot`: inputs from the received message (or the loader on rank 0),
 * output into the outgoing message, which is then sent. */
static ipro_status step(ipro_pipeline *p, int64_t s, int slot, const ipro_pipeline_feed *feed,
                        ipro_error *err) {
  bool first = p->rank == 0, last = p->rank + 1 == p->size;
  const float *images = NULL;
  const int64_t *labels = NULL;
  if (first) {
    if (feed->next_batch(feed->context, &images, &labels, err) != IPRO_OK) return IPRO_ERROR;
    /* this replica's share of the global batch */
    images += (size_t)p->replica * p->image_bytes / sizeof *images;
    labels += (size_t)p->replica * p->labels_bytes / sizeof *labels;
  } else {
    if (ipro_pipeline_wait(p, &p->requests[0][slot], err) != IPRO_OK ||
        ipro_pipeline_device_arrived(p, slot, err) != IPRO_OK)
      return IPRO_ERROR;
    images = (const float *)(const void *)images_of(p, 0, p->in[slot]);
    labels = (const int64_t *)(const void *)labels_of(p, 0, p->in[slot]);
  }
  /* the message of step s+1 arrives while this step runs */
  if (!first && s + 1 < p->steps && post_receive(p, 1 - slot, err) != IPRO_OK) return IPRO_ERROR;
  /* the outgoing buffer of step s-2 must have left before this step writes into it */
  if (!last && (ipro_pipeline_wait(p, &p->requests[1][slot], err) != IPRO_OK ||
                ipro_pipeline_device_sent(p, slot, err) != IPRO_OK))
    return IPRO_ERROR;
  ipro_trainer_bind_handoff(p->trainer, first ? NULL : ipro_pipeline_handoff(p, 0, slot),
                            last ? NULL : ipro_pipeline_handoff(p, 1, slot));
  float learning_rate = feed->learning_rate(feed->context, s), loss = 0;
  double start = ipro_pipeline_now(), cpu_start = seconds_on(CLOCK_PROCESS_CPUTIME_ID);
  if (ipro_trainer_step(p->trainer, images, labels, learning_rate, &loss, err) != IPRO_OK)
    return IPRO_ERROR;
  p->timing.compute_seconds += ipro_pipeline_now() - start;
  p->timing.compute_cpu_seconds += seconds_on(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
  p->timing.steps++;
  /* The caller's check of the step (a loss that is not finite) comes before the output leaves:
   * a stage that fails sends nothing on, so the next stage never meets the same failure in the
   * same step, and the failure is said once, by this rank. */
  if (feed->after_step(feed->context, s + 1, learning_rate, err) != IPRO_OK) {
    p->failed_after_step = true;
    return IPRO_ERROR;
  }
  if (!last) {
    if (ipro_pipeline_device_send(p, slot, err) != IPRO_OK) return IPRO_ERROR;
    memcpy(images_of(p, 1, p->out[slot]), images, p->image_bytes);
    memcpy(labels_of(p, 1, p->out[slot]), labels, p->labels_bytes);
    if (IPRO_MPI(MPI_Isend(p->out[slot], (int)p->message_bytes[1], MPI_BYTE, p->rank + 1, 0,
                           p->comm, &p->requests[1][slot]),
                 err) != IPRO_OK)
      return IPRO_ERROR;
  }
  return IPRO_OK;
}

/* With replicas, after step `s` (0-based) ran: the lowest replica of this stage whose step
 * failed, or -1 when none did (collective over the stage's replicas, so the R ranks of a stage,
 * which meet a divergence in the same step alike, say it once). `failed`: this rank's step. A
 * failed MPI call counts as this rank's own failure. */
static int first_failed_replica(ipro_pipeline *p, bool failed) {
  int mine = failed ? p->replica : p->replicas, first = p->replicas;
  if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, p->module_comm) != MPI_SUCCESS)
    return failed ? p->replica : -1;
  return first < p->replicas ? first : -1;
}

/* A rank whose failure a lower replica of its stage says: it waits for that rank to end the
 * job (MPI_Abort stops every rank), printing nothing, for at most a minute, after which its
 * own failure is returned after all (a message twice rather than none). */
static void await_the_reporting_replica(void) {
  for (int second = 0; second < 60; second++) {
    struct timespec wait = {.tv_sec = 1};
    nanosleep(&wait, NULL);
  }
}

ipro_status ipro_pipeline_train(ipro_pipeline *p, int64_t steps, const ipro_pipeline_feed *feed,
                                ipro_error *err) {
  if (steps <= 0) return IPRO_OK;
  p->steps = steps;
  if (p->rank > 0 && post_receive(p, 0, err) != IPRO_OK) return IPRO_ERROR;
  for (int64_t s = 0; s < steps; s++) {
    p->failed_after_step = false;
    bool failed = step(p, s, (int)(s % 2), feed, err) != IPRO_OK;
    /* The replicas meet in the check only when every one of them got as far as it: a rank that
     * stopped earlier (an MPI call, the trainer) leaves its replicas waiting in the step's own
     * collectives until it ends the job. */
    bool checked = !failed || p->failed_after_step;
    if (p->replicas > 1 && checked) {
      int first = first_failed_replica(p, failed);
      if (first >= 0 && first != p->replica) await_the_reporting_replica();
      if (first >= 0 && !failed)
        return ipro_error_set(err, "step %lld: replica %d of this stage failed", (long long)s + 1,
                              first + 1);
    }
    /* the caller's own message names the step; the pipeline's says which step it came from.
     * The caller names the rank. */
    if (failed && !p->failed_after_step)
      return ipro_error_prefix(err, "step %lld", (long long)s + 1);
    if (failed) return IPRO_ERROR;
  }
  for (int slot = 0; slot < 2; slot++)
    if (ipro_pipeline_wait(p, &p->requests[1][slot], err) != IPRO_OK ||
        ipro_pipeline_device_sent(p, slot, err) != IPRO_OK)
      return IPRO_ERROR;
  return IPRO_OK;
}

ipro_pipeline_timing ipro_pipeline_timing_of(const ipro_pipeline *p) {
  ipro_pipeline_timing timing = p->timing;
  timing.sent_bytes = p->rank + 1 < p->size ? p->message_bytes[1] : 0;
  return timing;
}

void ipro_pipeline_abort(ipro_pipeline *p, int status) {
  (void)p;
  MPI_Abort(MPI_COMM_WORLD, status);
}

void ipro_pipeline_detach(ipro_pipeline *p) {
  if (!p) return;
  ipro_pipeline_device_free(p);
  memset(p->device_buffers, 0, sizeof p->device_buffers);
  ipro_pipeline_host_free(p, p->in[0]);
  ipro_pipeline_host_free(p, p->out[0]);
  p->in[0] = p->in[1] = p->out[0] = p->out[1] = NULL;
  p->device = NULL;
  p->trainer = NULL;
}

void ipro_pipeline_close(ipro_pipeline *p) {
  if (!p) return;
  MPI_Barrier(MPI_COMM_WORLD);
  ipro_pipeline_detach(p);
  for (int i = 0; i < p->n_averaged; i++)
    free(p->averaged[i].tensors);
  free(p->averaged);
  free(p->sums);
  if (p->comm != MPI_COMM_WORLD) MPI_Comm_free(&p->comm);
  if (p->module_comm != MPI_COMM_NULL) MPI_Comm_free(&p->module_comm);
  free(p);
  IPRO_LSAN_IGNORE_BEGIN();
  MPI_Finalize();
  IPRO_LSAN_IGNORE_END();
}
