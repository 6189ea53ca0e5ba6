/* The epochs of a training run (train_run.h): the steps, in one process or as this rank's
 * part of the pipeline, the test pass after each epoch, a loss or trained value that is not finite
 * stopping the run, and the checkpoint after each epoch. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "finite_parameters.h"
#include "progress.h"
#include "train_run.h"
#include "trained_values.h"

/* "; the checkpoint DIR/checkpoint.ipck is left as it was", for a run that stops diverged. Named
 * only when there is one: a run that diverges before its first save has none to keep. */
static void kept_checkpoint(const ipro_cli_train_run *r, char *kept, size_t size) {
  kept[0] = '\0';
  if (r->options->checkpoint && access(r->checkpoint_path, F_OK) == 0)
    snprintf(kept, size, "; the checkpoint %s is left as it was", r->checkpoint_path);
}

static ipro_status diverged(ipro_cli_train_run *r, int64_t epoch, const char *what, int64_t step,
                            double value, float learning_rate, ipro_error *err) {
  char where[64] = "";
  if (step > 0)
    snprintf(where, sizeof where, ", step %lld/%lld", (long long)step,
             (long long)r->steps_per_epoch);
  char kept[4200];
  kept_checkpoint(r, kept, sizeof kept);
  return ipro_error_set(err,
                        "training diverged at epoch %lld%s: the %s is %s (not finite) with "
                        "learning rate %g; stopping without writing a checkpoint or the trained "
                        "model%s",
                        (long long)epoch + 1, where, what,
                        isnan(value) ? "NaN"
                        : value > 0  ? "+infinity"
                                     : "-infinity",
                        (double)learning_rate, kept);
}

/* The trained values themselves, before a checkpoint or the trained model is written from them:
 * a NaN can sit in the weights while every loss is finite (finite_parameters.h). epoch is
 * 0-based. In a pipeline, rank 0 checks the state gathered from every rank. */
ipro_status ipro_cli_train_check_trained_values(ipro_cli_train_run *r, int64_t epoch,
                                                ipro_error *err) {
  ipro_cli_non_finite found = {0};
  if (r->pipeline)
    ipro_cli_find_non_finite_checkpoint(&r->gathered, &found);
  else if (ipro_cli_find_non_finite_trainer(r->trainer, &found, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!found.non_finite) return IPRO_OK;
  char kept[4200];
  kept_checkpoint(r, kept, sizeof kept);
  return ipro_error_set(err,
                        "training diverged by epoch %lld: %lld of the %lld values of '%s' are not "
                        "finite (NaN or infinity), though the losses are; stopping without "
                        "writing a checkpoint or the trained model%s",
                        (long long)epoch + 1, (long long)found.non_finite,
                        (long long)found.elements, found.name, kept);
}

/* One epoch's running figures, updated after every step (in one process, or on each rank of a
 * pipeline for its own modules' losses). */
enum { MAX_LOSSES = IPRO_MAX_MODULES * IPRO_MAX_LOSS_TERMS };
typedef struct {
  ipro_cli_train_run *run;
  int64_t epoch;
  ipro_progress progress;
  double loss_sum;
  double local_sums[MAX_LOSSES];
  const char *local_names[MAX_LOSSES];
  int n_local;
  char gathered_names[MAX_LOSSES][IPRO_PIPELINE_NAME_BYTES];
  const ipro_batch *batch;
} epoch_figures;
_Static_assert((int)MAX_LOSSES <= (int)IPRO_PIPELINE_MAX_VALUES,
               "every rank's losses fit the gather");

static float epoch_rate(void *context, int64_t done) {
  const epoch_figures *f = context;
  const ipro_training_position *p = &f->run->position;
  return ipro_lr_at(&p->schedule, f->epoch * f->run->steps_per_epoch + done,
                    f->run->steps_per_epoch, p->total_epochs);
}

static ipro_status next_batch(void *context, const float **images, const int64_t **labels,
                              ipro_error *err) {
  epoch_figures *f = context;
  if (ipro_batch_loader_next(f->run->loader, &f->batch, err) != IPRO_OK) return IPRO_ERROR;
  if (!f->batch) return ipro_error_set(err, "the loader ran out of batches before the epoch's end");
  *images = f->batch->images;
  *labels = f->batch->labels;
  return IPRO_OK;
}

/* After step `done` (1-based): accumulates the losses of the modules this process trains and
 * stops on one that is not finite. */
static ipro_status count_step(void *context, int64_t done, float learning_rate, ipro_error *err) {
  epoch_figures *f = context;
  float local[MAX_LOSSES];
  f->n_local = ipro_trainer_losses(f->run->trainer, local, f->local_names, MAX_LOSSES);
  for (int l = 0; l < f->n_local; l++) {
    if (!isfinite(local[l]))
      return diverged(f->run, f->epoch, f->local_names[l], done, local[l], learning_rate, err);
    f->local_sums[l] += local[l];
  }
  if (f->run->pipeline) return IPRO_OK; /* the network's loss is on the last rank */
  /* the network's loss: the last module's cross-entropy, the last of its losses */
  float loss = local[f->n_local - 1];
  if (!isfinite(loss))
    return diverged(f->run, f->epoch, "training loss", done, loss, learning_rate, err);
  f->loss_sum += loss;
  ipro_progress_update(&f->progress, done, f->loss_sum / (double)done, learning_rate);
  return IPRO_OK;
}

/* The epoch's steps in this process: one after another, or this rank's part of the pipeline,
 * after which rank 0 collects every rank's loss sums. */
static ipro_status train_steps(epoch_figures *f, ipro_error *err) {
  ipro_cli_train_run *r = f->run;
  ipro_pipeline_feed feed = {.context = f,
                             .next_batch = next_batch,
                             .learning_rate = epoch_rate,
                             .after_step = count_step};
  if (!r->pipeline) {
    for (int64_t done = 0; done < r->steps_per_epoch; done++) {
      const float *images = NULL;
      const int64_t *labels = NULL;
      float learning_rate = epoch_rate(f, done), loss = 0;
      if (next_batch(f, &images, &labels, err) != IPRO_OK ||
          ipro_trainer_take_batch(r->trainer, images, labels, err) != IPRO_OK)
        return IPRO_ERROR;
      ipro_batch_loader_release(r->loader); /* the next batch is prepared during the step */
      if (ipro_trainer_step(r->trainer, NULL, NULL, learning_rate, &loss, err) != IPRO_OK ||
          count_step(f, done + 1, learning_rate, err) != IPRO_OK)
        return IPRO_ERROR;
    }
    return IPRO_OK;
  }
  if (ipro_pipeline_train(r->pipeline, r->steps_per_epoch, &feed, err) != IPRO_OK)
    return IPRO_ERROR;
  double mine[MAX_LOSSES];
  memcpy(mine, f->local_sums, sizeof mine);
  if (ipro_pipeline_gather_values(r->pipeline, mine, f->local_names, f->n_local, f->local_sums,
                                  f->local_names, f->gathered_names, &f->n_local, err) != IPRO_OK)
    return IPRO_ERROR;
  if (ipro_cli_train_leads(r)) f->loss_sum = f->local_sums[f->n_local - 1];
  return IPRO_OK;
}

/* What runs between epochs (scoring a pipeline's gathered state, checkpoints) is measured as a
 * term of its own, outside the trainer's figure (runtime/process_memory.h). */
static void between_epochs_begin(ipro_cli_train_run *r) {
  ipro_process_memory_aside_begin(&r->training);
}

static void between_epochs_end(ipro_cli_train_run *r) {
  int64_t level = r->training.level_before_aside - r->training.heap_baseline;
  uint64_t held = ipro_process_memory_aside_end(&r->training);
  if (held > r->between_epochs_held) r->between_epochs_held = held;
  int64_t peak = level + (int64_t)held;
  if (peak > 0 && (uint64_t)peak > r->between_epochs_peak) r->between_epochs_peak = (uint64_t)peak;
}

/* Scores the test split with the trained parameters: read from the trainer, or from every
 * rank's state gathered on rank 0 (collective; the other ranks only contribute theirs). */
static ipro_status evaluate(ipro_cli_train_run *r, ipro_cli_eval_totals *totals, ipro_error *err) {
  ipro_status status = IPRO_OK;
  if (r->pipeline) {
    ipro_training_position position = r->position;
    position.steps_done = ipro_trainer_steps(r->trainer);
    /* gathering and scoring are measured apart from the training steps, until train() ends the
     * stretch */
    between_epochs_begin(r);
    ipro_checkpoint_release(&r->gathered);
    status = ipro_pipeline_gather_state(r->pipeline, &position, &r->gathered, err);
    if (status != IPRO_OK || !ipro_cli_train_leads(r)) return status;
    status = r->evaluator.parameters_in_place
                 ? ipro_cli_evaluator_use_parameters(&r->evaluator, ipro_cli_gathered_memory,
                                                     &r->gathered, err)
                 : ipro_cli_evaluator_copy_parameters(&r->evaluator, ipro_cli_read_from_gathered,
                                                      &r->gathered, err);
  } else {
    status = r->evaluator.parameters_in_place
                 ? ipro_cli_evaluator_use_parameters(&r->evaluator, ipro_cli_trainer_memory,
                                                     r->trainer, err)
                 : ipro_cli_evaluator_copy_parameters(&r->evaluator, ipro_cli_read_from_trainer,
                                                      r->trainer, err);
  }
  if (status == IPRO_OK) status = ipro_cli_evaluator_run(&r->evaluator, totals, err);
  return status;
}

/* For image folders: how fast the loader's thread prepares batches (cropping, flipping and
 * normalising) beside how fast training uses them, so far in the run. */
static void report_loader(ipro_cli_train_run *r, double training_seconds) {
  int64_t made = 0;
  double seconds = 0;
  ipro_batch_loader_work(r->loader, &made, &seconds);
  const ipro_training_position *p = &r->position;
  printf("  batches prepared at %.0f images/s on the loader's thread (%s); trained at %.0f "
         "images/s\n",
         seconds > 0 ? (double)made / seconds : 0,
         p->random_resized_crop ? "random-resized-crop, flip, normalise" : "normalise",
         (double)(r->steps_per_epoch * p->batch) / training_seconds);
}

/* One epoch of training steps, then the test; prints the epoch's line. */
static ipro_status run_epoch(ipro_cli_train_run *r, int64_t epoch, bool terminal, ipro_error *err) {
  const ipro_training_position *p = &r->position;
  double start = ipro_progress_now();
  epoch_figures f = {.run = r, .epoch = epoch};
  ipro_progress_begin(&f.progress, stdout, terminal, epoch + 1, p->total_epochs, r->steps_per_epoch,
                      p->batch, r->options->log_every);
  ipro_status status = IPRO_OK;
  if (!r->pipeline || ipro_pipeline_stage(r->pipeline) == 0) /* who reads the batches */
    status = ipro_batch_loader_start_epoch(r->loader, epoch, err);
  if (status == IPRO_OK) status = train_steps(&f, err);
  double training_seconds = ipro_progress_now() - start;
  ipro_progress_end(&f.progress);
  if (status != IPRO_OK) return IPRO_ERROR;
  float learning_rate = epoch_rate(&f, r->steps_per_epoch - 1);
  ipro_cli_eval_totals totals;
  if (evaluate(r, &totals, err) != IPRO_OK) return IPRO_ERROR;
  if (!ipro_cli_train_leads(r)) return IPRO_OK;
  double test_loss = totals.cross_entropy_sum / (double)totals.seen;
  if (!isfinite(test_loss))
    return diverged(r, epoch, "test loss", 0, test_loss, learning_rate, err);
  r->test_accuracy = (double)totals.correct / (double)totals.seen;
  int64_t done = r->steps_per_epoch;
  printf("epoch %lld/%lld  loss %.4f  test accuracy %.4f  test loss %.4f  %.1f s\n",
         (long long)epoch + 1, (long long)p->total_epochs, f.loss_sum / (double)done,
         r->test_accuracy, test_loss, ipro_progress_now() - start);
  if (r->K > 1) {
    printf("  local losses (epoch means):");
    for (int l = 0; l < f.n_local; l++)
      printf("%s %s %.4f", l ? "," : "", f.local_names[l], f.local_sums[l] / (double)done);
    printf("\n");
  }
  ipro_cli_epoch_record record = {.epoch = epoch + 1,
                                  .loss = f.loss_sum / (double)done,
                                  .test_accuracy = r->test_accuracy,
                                  .test_loss = test_loss,
                                  .learning_rate = learning_rate,
                                  .seconds = ipro_progress_now() - start};
  for (int l = 0; l < f.n_local && l < IPRO_CLI_HISTORY_MAX_LOSSES; l++)
    record.local_losses[l] = f.local_sums[l] / (double)done;
  ipro_cli_epoch_history_add(&r->history, &record, f.local_names, r->K > 1 ? f.n_local : 0);
  if (r->train_data.kind == IPRO_DATASET_IMAGEFOLDER) report_loader(r, training_seconds);
  fflush(stdout);
  return IPRO_OK;
}

/* What a checkpoint holds beside the trainer's state, its position and split: the data's class
 * names and the normalisation the run trains with; then written. */
static ipro_status complete_and_write(const ipro_cli_train_run *r, ipro_checkpoint *checkpoint,
                                      ipro_error *err) {
  const ipro_dataset *d = &r->train_data;
  ipro_checkpoint_set_normalization(checkpoint, d->mean, d->std, d->channels);
  if (ipro_checkpoint_set_class_names(checkpoint, d->class_names,
                                      d->class_names ? d->num_classes : 0, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_checkpoint_write(r->options->checkpoint, checkpoint, err);
}

/* The single process's checkpoint after an epoch. */
static ipro_status save_checkpoint(const ipro_cli_train_run *r, ipro_error *err) {
  ipro_checkpoint checkpoint;
  if (ipro_checkpoint_capture(r->trainer, &r->position, &checkpoint, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_status status = complete_and_write(r, &checkpoint, err);
  ipro_checkpoint_release(&checkpoint);
  return status;
}

ipro_status ipro_cli_train_epochs(ipro_cli_train_run *r, int64_t *epochs_run, ipro_error *err) {
  bool terminal = isatty(fileno(stdout));
  *epochs_run = 0;
  for (int64_t epoch = r->start_epoch; epoch < r->position.total_epochs; epoch++) {
    if (run_epoch(r, epoch, terminal, err) != IPRO_OK) return IPRO_ERROR;
    (*epochs_run)++;
    r->position.epochs_done = epoch + 1;
    r->position.steps_done = ipro_trainer_steps(r->trainer);
    ipro_status saved = IPRO_OK;
    if (r->options->checkpoint && !r->pipeline) {
      between_epochs_begin(r);
      /* no checkpoint of values that are not finite; its memory is the checkpoint's */
      saved = ipro_cli_train_check_trained_values(r, epoch, err);
      if (saved == IPRO_OK) saved = save_checkpoint(r, err);
      between_epochs_end(r);
    } else if (r->pipeline) {
      /* the stretch the gather and the test pass began (evaluate) goes on */
      if (r->options->checkpoint && ipro_cli_train_leads(r)) { /* the state gathered for the test */
        r->gathered.position = r->position;
        /* no checkpoint of values that are not finite: rank 0 fails, which stops every rank */
        saved = ipro_cli_train_check_trained_values(r, epoch, err);
        if (saved == IPRO_OK) saved = complete_and_write(r, &r->gathered, err);
      }
      /* kept after the last epoch for --out; released before training goes on */
      if (epoch + 1 < r->position.total_epochs) ipro_checkpoint_release(&r->gathered);
      between_epochs_end(r);
    }
    if (saved != IPRO_OK) return IPRO_ERROR;
  }
  if (*epochs_run == 0) {
    /* Resumed at the end, which train_options.c refuses up front unless the
     * checkpoint was replaced since: score the restored parameters for the final line. */
    ipro_cli_eval_totals totals;
    if (evaluate(r, &totals, err) != IPRO_OK) return IPRO_ERROR;
    if (r->pipeline) between_epochs_end(r);
    if (ipro_cli_train_leads(r)) r->test_accuracy = (double)totals.correct / (double)totals.seen;
  }
  return IPRO_OK;
}
