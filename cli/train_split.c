/* The split of a training run into local modules (train_run.h): a compiled program's own,
 * or searched for the model (rank 0 alone under mpirun, handing it to the others); on --resume the
 * checkpoint's, and a resumed run's split checked against the checkpoint's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_run.h"
#include "ir/printable.h"

/* The first tensor of a local module's head that a checkpoint holds (ir/local_settings.h), or
 * NULL: a checkpoint of a split run. */
static const char *saved_head_tensor(const ipro_checkpoint *c) {
  for (int i = 0; i < c->n_tensors; i++)
    if (ipro_is_head_tensor_name(c->tensors[i].name)) return c->tensors[i].name;
  return NULL;
}

/* The heads' settings for this dataset: image channels and normalisation (the decoder's target
 * undoes it), and the number of classes. */
ipro_local_settings ipro_cli_train_local_settings(const ipro_cli_train_run *r, int64_t batch) {
  ipro_local_settings s = r->local.local;
  s.batch = batch;
  s.optimizer = r->position.optimizer.kind;
  s.heads.image_channels = r->train_data.channels;
  for (int c = 0; c < r->train_data.channels && c < 4; c++) {
    s.heads.mean[c] = r->train_data.mean[c];
    s.heads.std[c] = r->train_data.std[c];
  }
  s.heads.classes = r->train_data.num_classes;
  s.heads.seed = r->position.seed + 1;
  s.n_module_heads = r->n_heads;
  memcpy(s.module_heads, r->heads, sizeof r->heads);
  return s;
}

/* The split searched for the model. Under mpirun rank 0 searches alone (once, not once per rank;
 * with --calibrate timing the kernels on its own, the other ranks waiting without spinning) and
 * hands its split to the others, so every rank trains the same cuts and heads. */
static ipro_status search_split(ipro_cli_train_run *r, ipro_cli_training_split *split,
                                ipro_error *err) {
  ipro_local_settings settings = ipro_cli_train_local_settings(r, r->position.batch);
  if (!r->pipeline)
    return r->model->split(r->options->model, &r->local, &settings, r->options->device,
                           r->options->reference, split, err);
  struct {
    int32_t ok;
    ipro_cli_training_split split;
  } *shared = calloc(1, sizeof *shared);
  if (!shared) return ipro_error_set(err, "out of memory");
  bool lead = ipro_pipeline_rank(r->pipeline) == 0;
  if (lead)
    shared->ok = r->model->split(r->options->model, &r->local, &settings, r->options->device,
                                 r->options->reference, &shared->split, err) == IPRO_OK;
  ipro_error mine = *err; /* rank 0's message survives a failed broadcast's */
  if (ipro_pipeline_broadcast(r->pipeline, shared, sizeof *shared, err) != IPRO_OK) {
    free(shared);
    return IPRO_ERROR;
  }
  *err = mine;
  if (shared->ok) *split = shared->split;
  bool ok = shared->ok;
  free(shared);
  if (ok) return IPRO_OK;
  if (!lead) ipro_error_set(err, "rank 0 could not choose the split");
  return ipro_cli_train_failure_agreed(r, 0, IPRO_ERROR,
                                       err); /* rank 0 says why, in prepare_pipeline */
}

/* With -K, --budget, --cuts or --plan: the split, chosen on the memory the modules' programs
 * really need (runtime/module_costing.h), and the end-to-end peak for comparison; a compiled
 * program's own split. */
ipro_status ipro_cli_train_choose_split(ipro_cli_train_run *r, ipro_error *err) {
  ipro_cli_training_split split;
  const ipro_program *program = r->options->program;
  if (program) {
    const ipro_head_options *h = &program->local.heads;
    if (program->local.K > 1 &&
        (r->train_data.channels != h->image_channels || r->train_data.num_classes != h->classes))
      return ipro_error_set(err,
                            "%s: the program was compiled for %d-channel images of %d classes; "
                            "this data has %d channels and %d classes",
                            r->options->data, h->image_channels, h->classes, r->train_data.channels,
                            r->train_data.num_classes);
    split = (ipro_cli_training_split){.K = program->local.K,
                                      .planned_peak = program->planned_peak,
                                      .e2e_peak = program->e2e_peak,
                                      .work_is_time = program->work_is_time};
    memcpy(split.module_work, program->module_work, sizeof split.module_work);
    memcpy(split.cut_names, program->cuts, sizeof split.cut_names);
    memcpy(split.heads, program->local.module_heads, sizeof split.heads);
  } else if (search_split(r, &split, err) != IPRO_OK) {
    return IPRO_ERROR;
  }
  r->K = split.K;
  for (int k = 0; k + 1 < split.K; k++) {
    memcpy(r->cut_names[k], split.cut_names[k], sizeof r->cut_names[k]);
    r->cuts[k] = r->cut_names[k];
  }
  r->planned_peak = split.planned_peak;
  r->e2e_peak = split.e2e_peak;
  r->n_heads = split.K - 1;
  memcpy(r->heads, split.heads, sizeof r->heads);
  memcpy(r->module_work, split.module_work, sizeof r->module_work);
  r->work_is_time = split.work_is_time;
  return IPRO_OK;
}

/* "split into K = 2 modules at A (module 1: 1c2f, paper decoder)" or "trained end to end". */
static void describe_split(const ipro_split_record *split, char *out, size_t size) {
  char shown[IPRO_PRINTABLE_MAX]; /* a model-supplied name, escaped (ir/printable.h) */
  if (split->K == 1) {
    snprintf(out, size, "trained end to end");
    return;
  }
  size_t at = (size_t)snprintf(out, size, "split into K = %d modules at", split->K);
  for (int k = 0; k + 1 < split->K && at < size; k++) {
    const ipro_head_choice *h = &split->local.module_heads[k];
    at += (size_t)snprintf(out + at, size - at, "%s %s (module %d: %dc%df, %s decoder)",
                           k ? "," : "", ipro_printable(split->cuts[k], shown, sizeof shown), k + 1,
                           h->convs, h->fcs, ipro_decoder_name(h->decoder));
  }
}

/* This run's split as a checkpoint records it. */
static void run_split(const ipro_cli_train_run *r, ipro_split_record *out) {
  memset(out, 0, sizeof *out);
  out->K = r->K;
  for (int k = 0; k + 1 < r->K; k++) {
    snprintf(out->cuts[k], sizeof out->cuts[k], "%s", r->cut_names[k]);
    out->local.module_heads[k] = r->heads[k];
  }
  out->local.n_module_heads = r->K - 1;
}

/* On --resume with no split given (-K, --cuts, --plan, --budget) to infopro train: the split the
 * checkpoint records, as --cuts, with its heads' settings (shape or the automatic choice, loss,
 * decoder, λ). Nothing where it records none (versions 1 and 2) or was trained end to end. */
void ipro_cli_train_take_checkpoint_split(ipro_cli_train_run *r, const ipro_checkpoint *saved) {
  const ipro_cli_local_options *l = &r->local;
  const ipro_split_record *split = &saved->split;
  if (r->options->program || split->K < 2 || l->K || l->budget_bytes || l->n_cuts || l->plan_path)
    return;
  for (int k = 0; k + 1 < split->K; k++)
    snprintf(r->local.cuts[k], sizeof r->local.cuts[k], "%s", split->cuts[k]);
  r->local.n_cuts = split->K - 1;
  ipro_local_settings *mine = &r->local.local;
  const ipro_local_settings *theirs = &split->local;
  mine->heads.convs = theirs->heads.convs;
  mine->heads.fcs = theirs->heads.fcs;
  mine->heads.decoder = theirs->heads.decoder;
  mine->heads.aux_loss = theirs->heads.aux_loss;
  memcpy(mine->lambda_first, theirs->lambda_first, sizeof mine->lambda_first);
  memcpy(mine->lambda_last, theirs->lambda_last, sizeof mine->lambda_last);
  mine->choose_heads = theirs->choose_heads;
  mine->decoder_fixed = theirs->decoder_fixed;
  r->local.lambda_given = true;
  r->split_from_checkpoint = true;
}

/* A resumed run's split against the checkpoint's. Where the checkpoint records it: taken from it
 * (take_checkpoint_split), the heads the planner chose here give way to the checkpoint's (another
 * CPU can plan other heads under the same limit); given, or a compiled program's, it must be the
 * same. Where it records none, a split run's checkpoint resumed end to end, or the other way round,
 * is refused with what to give; any other difference is found by the restore, whose message gets
 * the same hint. */
ipro_status ipro_cli_train_check_resumed_split(ipro_cli_train_run *r, const ipro_checkpoint *saved,
                                               ipro_error *err) {
  if (saved->split.K) {
    ipro_split_record mine;
    run_split(r, &mine);
    if (r->split_from_checkpoint && !ipro_split_same_cuts_and_heads(&mine, &saved->split) &&
        mine.K == saved->split.K) {
      memcpy(r->heads, saved->split.local.module_heads, sizeof r->heads);
      r->planned_by_trainer = true;
      run_split(r, &mine);
    }
    if (ipro_split_same_cuts_and_heads(&mine, &saved->split)) return IPRO_OK;
    char written[512], here[512];
    describe_split(&saved->split, written, sizeof written);
    describe_split(&mine, here, sizeof here);
    return ipro_error_set(
        err,
        "cannot resume: checkpoint '%s' was written by a run %s; this %s is "
        "%s: %s",
        r->checkpoint_path, written, r->options->program ? "program" : "run", here,
        r->options->program ? "resume it with a program compiled with that split, or with "
                              "infopro train"
                            : "resume without -K, --cuts, --plan, --budget or head options to "
                              "take the checkpoint's split");
  }
  const char *head = saved_head_tensor(saved);
  if (head && r->K == 1)
    return ipro_error_set(
        err,
        "cannot resume: checkpoint '%s' was written by a run split into local modules (it "
        "holds tensor '%s' of a local module's head), but this run trains end to end: %s",
        r->checkpoint_path, head,
        r->options->program ? "resume it with a program compiled with that split"
                            : "this checkpoint (written before infopro recorded splits in "
                              "checkpoints) does not say its split; give the same -K, --cuts or "
                              "--plan (and head options) as the run that wrote it");
  if (!head && r->K > 1)
    return ipro_error_set(err,
                          "cannot resume: checkpoint '%s' was written by a run trained end to "
                          "end (it holds no local module's head), but this run is split into %d "
                          "local modules: %s",
                          r->checkpoint_path, r->K,
                          r->options->program
                              ? "resume it with infopro train or a program compiled with K = 1"
                              : "resume it without -K, --cuts, --plan or --budget");
  return IPRO_OK;
}

/* A restore that failed on a split run: the tensors may differ because the split does (a
 * checkpoint that records no split), or because the heads' loss does (one that records it, whose
 * cuts and heads check_resumed_split found the same). */
ipro_status ipro_cli_train_hint_split(const ipro_cli_train_run *r, bool recorded, ipro_error *err) {
  if (r->K == 1 || r->options->program) return IPRO_ERROR;
  char message[sizeof err->message];
  snprintf(message, sizeof message, "%s", err->message);
  return ipro_error_set(err, "%s; %s", message,
                        recorded ? "its split and heads are this run's: was it written with "
                                   "another --local-loss?"
                                 : "this checkpoint does not record its split: was it written "
                                   "with other -K, --cuts or --plan (or head options)?");
}
