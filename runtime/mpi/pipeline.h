/* Local training as a pipeline over MPI: one stage of the plan per process, launched with
 * `mpirun -np K infopro train ...` (rank r trains module r + 1) or with fewer processes than
 * modules, each stage then a run of consecutive modules (runtime/pipeline_stages.h). No gradient
 * crosses a cut, so module k at step t needs only module k-1's output at step t and nothing ever
 * travels backwards: every rank receives [activation | images | labels] of step t from rank r-1,
 * runs its modules' whole training step (runtime/trainer.h, built for that stage's modules) and
 * sends its output with the images and labels on to rank r+1. Rank 0 reads the batches. Every
 * module computes exactly what it computes in the single-process trainer (same inputs, same weights
 * of step t, same program), so the trained weights are the same bytes when each process uses the
 * same number of threads, however the modules are grouped into stages.
 *
 * Communication overlaps computation: both directions are double buffered with non-blocking
 * calls (MPI_Irecv of step t+1 is posted before step t runs; MPI_Isend of step t completes while
 * step t+1 runs), and the trainer reads and writes the message buffers in place
 * (ipro_trainer_bind_handoff), so nothing is copied on the CPU but the forwarded images.
 *
 * The state (parameters, BatchNorm statistics, optimizer moments) of all ranks is gathered on
 * rank 0 for testing, checkpoints and the exported model, as one whole-plan checkpoint
 * (runtime/checkpoint.h) in module order: exactly what a single process would capture, so the
 * checkpoint file is the single-process format and either kind of run resumes from the other.
 *
 * With `mpirun -np K*R` the job runs R such pipelines side by side as data-parallel replicas:
 * each trains its 1/R of every batch, and the R ranks of each stage average their gradients
 * with MPI_Allreduce before every update (runtime/mpi/replicas.c), so they keep equal weights.
 *
 * MPI is linked only into this small library and the infopro binary; the runtime itself does
 * not depend on it. On the CPU the trainer reads and writes the messages in place; on a GPU
 * (`--device cuda`) the activations cross through device buffers, device to device with
 * CUDA-aware MPI or staged through page-locked host memory (device_handoff.c). */
#ifndef IPRO_PIPELINE_H
#define IPRO_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/checkpoint.h"
#include "runtime/pipeline_stages.h"
#include "runtime/trainer.h"

typedef struct ipro_pipeline ipro_pipeline;

/* Whether an MPI launcher started this process (Open MPI's mpirun, or a PMI/PMIx launcher):
 * only then is MPI initialised, so a plain `infopro train` never touches it. */
bool ipro_pipeline_launched(void);
/* This process's rank as the launcher's environment gives it (before MPI is initialised: to
 * report a failure to start it once, from rank 0), or -1 when it does not. */
int ipro_pipeline_launched_rank(void);
/* After a failed ipro_pipeline_open: whether it failed because the MPI plugin could not be
 * loaded (which every rank meets alike), not in MPI itself. */
bool ipro_pipeline_plugin_missing(void);

/* MPI_Init, then the ranks. */
ipro_status ipro_pipeline_open(ipro_pipeline **out, ipro_error *err);
/* This process's rank in the whole job, and the job's size. */
int ipro_pipeline_rank(const ipro_pipeline *pipeline);
int ipro_pipeline_size(const ipro_pipeline *pipeline);
/* Arranges the job's S x R ranks for a K-module plan grouped into S stages (stages, from
 * runtime/pipeline_stages.h; S = K for one module per rank): R data-parallel replicas of the
 * pipeline (R = ranks / S), rank w training stage w % S in replica w / S, so ranks 0 .. S-1 are
 * the first replica. Each replica trains batch / R images of every (global) batch of `batch`,
 * and the R ranks of a stage average each module's gradients before its update (replicas.c).
 * Checks that the ranks are a multiple of S and that R divides the batch (a message saying how
 * to launch otherwise). Collective. */
ipro_status ipro_pipeline_arrange(ipro_pipeline *pipeline, int K,
                                  const ipro_pipeline_stages *stages, int64_t batch,
                                  ipro_error *err);
/* After arranging: the stage this rank trains (0-based; its modules are the stages' first[stage]
 * onwards), R, and the replica this rank belongs to (0-based). */
int ipro_pipeline_stage(const ipro_pipeline *pipeline);
int ipro_pipeline_replicas(const ipro_pipeline *pipeline);
int ipro_pipeline_replica(const ipro_pipeline *pipeline);

/* Collective: the lowest rank whose `ok` is false, or -1 when every rank's is true. */
int ipro_pipeline_first_failure(ipro_pipeline *pipeline, bool ok);
/* Collective over the whole job: rank 0's `bytes` bytes at data copied into every other rank's
 * data (the same size on every rank). The other ranks wait without spinning (a non-blocking
 * broadcast tested every millisecond), so that what rank 0 does meanwhile, such as timing
 * kernels for --calibrate, has the cores to itself. */
ipro_status ipro_pipeline_broadcast(ipro_pipeline *pipeline, void *data, size_t bytes,
                                    ipro_error *err);

/* Gives the pipeline this rank's trainer (built with its stage's first_module and
 * module_count, at the replica's batch) and the bytes of one global batch of images and of
 * labels (each replica takes its 1/R); allocates the message buffers, checks with the neighbours
 * that what one sends is what the other expects and, with replicas, sets up the averaging.
 * Collective. */
ipro_status ipro_pipeline_attach(ipro_pipeline *pipeline, ipro_trainer *trainer, size_t image_bytes,
                                 size_t labels_bytes, ipro_error *err);

/* What the caller supplies for a run of steps. */
typedef struct {
  void *context;
  /* Stage 0's ranks only: the next global batch (the loader's memory, valid until the next
   * call); each replica trains its 1/R of it. */
  ipro_status (*next_batch)(void *context, const float **images, const int64_t **labels,
                            ipro_error *err);
  /* The learning rate of the step-th step of the run (0-based). */
  float (*learning_rate)(void *context, int64_t step);
  /* After every step: the step count so far and this rank's losses (ipro_trainer_losses). */
  ipro_status (*after_step)(void *context, int64_t done, float learning_rate, ipro_error *err);
} ipro_pipeline_feed;

/* Runs `steps` training steps through the pipeline; every rank calls it with the same count.
 * A step's failure is said once, by one rank, which the caller names: after_step runs before the
 * step's output is sent on (a stage that fails its check sends nothing, so the next stage cannot
 * fail the same step), and with replicas the lowest replica of a stage that failed its check
 * returns the error while the stage's other replicas wait, silent, for it to end the job. The
 * pipeline's own failures are prefixed with "step N: "; after_step's come back as it set them. */
ipro_status ipro_pipeline_train(ipro_pipeline *pipeline, int64_t steps,
                                const ipro_pipeline_feed *feed, ipro_error *err);

/* Every stage's checkpoint tensors merged on its replica's stage-0 rank (rank 0 for the first
 * replica) in module order, with `position`; the other ranks get an empty checkpoint. The
 * replicas hold the same state. Collective. */
ipro_status ipro_pipeline_gather_state(ipro_pipeline *pipeline,
                                       const ipro_training_position *position, ipro_checkpoint *out,
                                       ipro_error *err);
/* Restores, from a whole-plan checkpoint, the tensors this rank's modules hold (each must be
 * there, with its dtype and shape); the others are left to their ranks. */
ipro_status ipro_pipeline_restore(ipro_trainer *trainer, const ipro_checkpoint *checkpoint,
                                  const char *path, ipro_error *err);

/* Per-rank sums (e.g. epoch loss sums) with their names, averaged over a stage's replicas and
 * collected on rank 0 in stage order; returns the total count there (0 elsewhere). names[i]
 * point into storage (48 bytes each). Collective. */
enum { IPRO_PIPELINE_NAME_BYTES = 48, IPRO_PIPELINE_MAX_VALUES = 176 };
ipro_status ipro_pipeline_gather_values(ipro_pipeline *pipeline, const double *values,
                                        const char *const *names, int count, double *all_values,
                                        const char **all_names,
                                        char (*storage)[IPRO_PIPELINE_NAME_BYTES], int *all_count,
                                        ipro_error *err);

/* Where this rank's time went since attach: in its module's steps and waiting for messages to
 * arrive or leave (the pipeline's bubbles and communication not hidden behind computation). */
typedef struct {
  double compute_seconds, wait_seconds;
  double allreduce_seconds;   /* with replicas: averaging gradients, inside compute_seconds */
  double compute_cpu_seconds; /* the process's CPU time in the steps: on a shared machine, with
                                 one thread, the module's own work whatever else runs */
  int64_t steps;
  size_t sent_bytes; /* per step: activation, images and labels */
} ipro_pipeline_timing;
ipro_pipeline_timing ipro_pipeline_timing_of(const ipro_pipeline *pipeline);

/* Ends every rank of the job with this exit status (MPI_Abort): what a rank that failed calls
 * after printing its message, so that the others stop at once instead of waiting for it. */
void ipro_pipeline_abort(ipro_pipeline *pipeline, int status);
/* Frees what attach allocated (message buffers, and a GPU stage's device buffers through the
 * trainer's backend): before the trainer is freed. */
void ipro_pipeline_detach(ipro_pipeline *pipeline);
/* Waits for the others (so that rank 0's files are complete when the job ends), detaches if
 * that was not done, frees the pipeline and finalises MPI. */
void ipro_pipeline_close(ipro_pipeline *pipeline);

#endif
