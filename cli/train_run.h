/* One `infopro train` run (or a compiled program's runner's), as the files of its loop share it:
 *
 *   train.c          the command: options, data, split, stages and trainer prepared in order,
 *                    the header printed, the run, what it releases; under mpirun its ranks'
 *                    agreement and failures;
 *   train_split.c    the split into local modules: chosen, searched (rank 0 alone under mpirun),
 *                    or the checkpoint's on --resume, and a resumed split checked against it;
 *   train_epochs.c   the epochs: steps, the test pass, divergence, the checkpoint after each;
 *   train_results.c  the end: the trained model written, the memory report, every rank's
 *                    figures, --json.
 *
 * Only rank 0 of a pipeline (or the only process) prints and writes files: it leads. */
#ifndef IPRO_CLI_TRAIN_RUN_H
#define IPRO_CLI_TRAIN_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/epoch_history.h"
#include "cli/evaluation.h"
#include "cli/pipeline_report.h"
#include "cli/train_model.h"
#include "cli/train_options.h"
#include "runtime/batch_loader.h"
#include "runtime/checkpoint.h"
#include "runtime/dataset.h"
#include "runtime/mpi/pipeline.h"
#include "runtime/pipeline_stages.h"
#include "runtime/process_memory.h"
#include "runtime/trainer.h"

typedef struct {
  const ipro_cli_train_options *options;
  const ipro_cli_train_model *model; /* infopro train's; NULL in a compiled program's runner */
  ipro_training_position position;
  ipro_dataset train_data, test_data;
  ipro_backend *eval_backend, *eval_fallback;
  ipro_cli_evaluator evaluator;
  ipro_trainer *trainer;
  ipro_batch_loader *loader;
  int64_t steps_per_epoch, start_epoch;
  char checkpoint_path[4096];
  double test_accuracy;
  /* local training: the chosen cuts (names in the network), and the plan's figures */
  int K;
  char cut_names[IPRO_MAX_MODULES][512];
  const char *cuts[IPRO_MAX_MODULES];
  uint64_t planned_peak, e2e_peak;
  /* under mpirun (runtime/mpi/pipeline.h): this rank's part of the pipeline, and on rank 0 every
   * rank's state, gathered after each epoch for the test, the checkpoint and --out */
  ipro_pipeline *pipeline;
  ipro_checkpoint gathered;
  /* prepare's agreement found a rank that failed (failed_rank, the lowest): prepare_pipeline says
   * it without meeting the others again */
  bool failure_agreed;
  int failed_rank;
  /* the plan's modules grouped into the pipeline's stages, and each module's work that balanced
   * them (ipro_cli_training_split's: measured nanoseconds or FLOPs per step; 0 where unknown) */
  ipro_pipeline_stages stages;
  ipro_cli_pipeline_report ranks; /* on rank 0 at the end: every rank's time and memory */
  ipro_cli_epoch_history history; /* --json: each epoch's figures (on rank 0) */
  uint64_t module_work[IPRO_MAX_MODULES];
  bool work_is_time;
  /* measured without reading the plan: from the start of the command, and while the trainer
   * exists (runtime/process_memory.h) */
  ipro_process_memory process, training;
  /* allocator bytes held by each once built (pipeline: its message buffers) */
  int64_t trainer_heap, test_pass_heap, pipeline_heap;
  /* The allocator's peaks while the trainer was created: until its programs were built (the
   * model read, the kernels compiled: a transient, gone before its blocks are allocated), and
   * from then on (its blocks allocated, its programs held). */
  uint64_t trainer_building_peak, trainer_creation_peak;
  uint64_t split_search_rss;  /* RssAnon growth while the split was searched */
  uint64_t split_search_held; /* allocator bytes the search left held (memory_report.h) */
  /* The allocator's figures of what runs between epochs outside the training steps (a
   * checkpoint written; in a pipeline, every rank's state gathered on rank 0): the most those
   * held at once, and the process's peak then, over the training probe's baseline. */
  uint64_t between_epochs_held, between_epochs_peak;
  ipro_head_choice heads[IPRO_MAX_MODULES]; /* of each local module, as the plan chose them */
  int n_heads;
  /* The split and heads options in effect: the command line's, or on --resume without a split
   * the checkpoint's cuts (whole names: one may hold a comma) and its heads' settings */
  ipro_cli_local_options local;
  bool split_from_checkpoint;
  /* the checkpoint's heads replaced those the planner chose here: the planned peak is then the
   * trainer's own plan */
  bool planned_by_trainer;
  /* on --resume, what of the checkpoint's normalisation replaced the data's
   * (take_checkpoint_normalization): its means, its stds */
  bool mean_from_checkpoint, std_from_checkpoint;
} ipro_cli_train_run;

/* Whether this process prints and writes files: rank 0 of a pipeline, or the only process. */
static inline bool ipro_cli_train_leads(const ipro_cli_train_run *r) {
  return !r->pipeline || ipro_pipeline_rank(r->pipeline) == 0;
}

/* ---- train.c ---- */

/* Under mpirun: records that the ranks agreed that rank `failed` failed, and returns an error
 * (this rank's own, if status is one). */
ipro_status ipro_cli_train_failure_agreed(ipro_cli_train_run *r, int failed, ipro_status status,
                                          ipro_error *err);
/* "module 3" or "modules 1-2": what stage s of the pipeline trains, into buffer. */
const char *ipro_cli_train_stage_modules(const ipro_cli_train_run *r, int s, char *buffer,
                                         size_t size);

/* ---- train_split.c ---- */

/* The heads' settings for this dataset at this batch (per replica under mpirun). */
ipro_local_settings ipro_cli_train_local_settings(const ipro_cli_train_run *r, int64_t batch);
/* The split: a compiled program's, or searched for the model with the options (r->local). */
ipro_status ipro_cli_train_choose_split(ipro_cli_train_run *r, ipro_error *err);
/* On --resume with no split given: the checkpoint's split and heads' settings become r->local. */
void ipro_cli_train_take_checkpoint_split(ipro_cli_train_run *r, const ipro_checkpoint *saved);
/* The split chosen against the checkpoint's: an error saying what differs. */
ipro_status ipro_cli_train_check_resumed_split(ipro_cli_train_run *r, const ipro_checkpoint *saved,
                                               ipro_error *err);
/* A failed restore's message (err) with a hint of which split or loss the checkpoint may have;
 * returns IPRO_ERROR. */
ipro_status ipro_cli_train_hint_split(const ipro_cli_train_run *r, bool recorded, ipro_error *err);

/* ---- train_epochs.c ---- */

/* The epochs from r->start_epoch, each followed by the test pass and (with --checkpoint) the
 * checkpoint; *epochs_run how many ran. */
ipro_status ipro_cli_train_epochs(ipro_cli_train_run *r, int64_t *epochs_run, ipro_error *err);
/* The trained values checked finite before anything is written from them (epoch 0-based). */
ipro_status ipro_cli_train_check_trained_values(ipro_cli_train_run *r, int64_t epoch,
                                                ipro_error *err);

/* ---- train_results.c ---- */

/* After the epochs (started at `start`, ipro_progress_now's clock): every rank's figures
 * gathered, then on rank 0 the trained model written and the final lines and --json. */
ipro_status ipro_cli_train_finish(ipro_cli_train_run *r, int64_t epochs_run, double start,
                                  ipro_error *err);

#endif
