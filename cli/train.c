/* `infopro train MODEL.onnx --data SPEC ...`: end-to-end training of a classifier on a dataset's
 * training split, with the test split scored after every epoch.
 *
 * The training step is compiled once (runtime/trainer.h) for a fixed batch, so the last partial
 * training batch of an epoch is dropped. The test runs on inference executors built once
 * (evaluation.h) whose parameters are copied from the trainer by name before each evaluation.
 * The learning rate of every step comes from runtime/lr_schedule.h, and the batches of every
 * epoch depend only on (seed, epoch), so --resume continues bit for bit: the checkpoint
 * (runtime/checkpoint.h) restores parameters, BatchNorm statistics and optimizer moments, and the
 * step count that Dropout masks and AdamW's bias correction depend on.
 *
 * Settings on --resume: options given on the command line win, the rest of the position come
 * from the checkpoint; the batch size and the optimizer must match it, since the compiled program
 * and the saved state depend on them. The split into local modules and its heads come from the
 * checkpoint (version 3) when no -K, --cuts, --plan or --budget is given; a split given, or a
 * compiled program's, must be the checkpoint's (cuts and each module's heads), or the run is
 * refused saying which differs. A checkpoint of version 1 or 2 records no split: it must be given
 * again, as it was before.
 *
 * Augmentation: on by default for CIFAR (random crop with 4 pixels of zero padding, horizontal
 * flip: the usual recipe); off by default for MNIST and Fashion-MNIST, whose 28x28 images are
 * centred and size-normalised, so shifts of up to 4 pixels (a seventh of the image) mostly cut
 * signal away, and mirrored digits are other symbols. --augment turns the CIFAR recipe on for
 * any dataset but image folders, where it means the ImageNet recipe instead: random-resized-crop
 * and flip, for which the training images are kept uncropped (runtime/batch_loader.h).
 *
 * A loss that is not finite stops training at once (exit status 1) and leaves the last
 * checkpoint and the --out file as they were. The run's parts are in train_run.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "class_mapping.h"
#include "commands.h"
#include "data_source.h"
#include "evaluation.h"
#include "finite_parameters.h"
#include "ir/atomic_file.h"
#include "ir/printable.h"
#include "json_stdout.h"
#include "memory_report.h"
#include "normalization_options.h"
#include "progress.h"
#include "runtime/program_source.h"
#include "silenced_stderr.h"
#include "train_position.h"
#include "train_run.h"

/* Users' own data (image folders, npz) is normalised with the training split's measured
 * statistics, the test split included, and the class mapping is shown; --mean/--std, when given,
 * replace whatever normalisation the data came with, on both splits. */
static ipro_status open_data(ipro_cli_train_run *r, ipro_error *err) {
  const ipro_cli_train_options *o = r->options;
  bool uncropped = o->resume ? r->position.random_resized_crop : o->given.augment && o->augment;
  if (ipro_cli_open_dataset(o->model, o->data, o->strict, uncropped, IPRO_SPLIT_TRAIN,
                            &r->train_data, err) != IPRO_OK ||
      ipro_cli_open_dataset(o->model, o->data, o->strict, false, IPRO_SPLIT_TEST, &r->test_data,
                            err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_dataset_kind kind = r->train_data.kind;
  if (kind == IPRO_DATASET_IMAGEFOLDER || kind == IPRO_DATASET_NPZ) {
    if (ipro_dataset_set_normalization(&r->test_data, r->train_data.mean, r->train_data.std,
                                       r->test_data.channels, err) != IPRO_OK)
      return ipro_error_prefix(err, "%s: the test split's channels differ from training's",
                               o->data);
    ipro_cli_print_classes(&r->train_data);
    /* nine significant digits: the floats themselves, so that eval given them scores the same
     * inputs (four digits moved Swin-T's test accuracy from 0.2266 to 0.2305) */
    char mean[IPRO_CLI_NORMALIZATION_TEXT_BYTES], std[IPRO_CLI_NORMALIZATION_TEXT_BYTES];
    ipro_cli_normalization_text(r->train_data.mean, r->train_data.channels, mean);
    ipro_cli_normalization_text(r->train_data.std, r->train_data.channels, std);
    printf("normalisation measured on the training split: mean %s std %s (the model --out writes "
           "carries them for `infopro eval`; elsewhere give them as --mean/--std)\n",
           mean, std);
  }
  if (ipro_cli_normalization_apply(&o->normalization, o->data, &r->train_data, err) != IPRO_OK ||
      ipro_cli_normalization_apply(&o->normalization, o->data, &r->test_data, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* On --resume, the normalisation the checkpoint's run trained with (version 3), where --mean or
 * --std is not given again: before, a run trained with --mean/--std and resumed without them went
 * on with the dataset's default, silently training on other inputs. */
static ipro_status take_checkpoint_normalization(ipro_cli_train_run *r,
                                                 const ipro_checkpoint *saved, ipro_error *err) {
  const ipro_cli_normalization *given = &r->options->normalization;
  if (!saved->n_normalization || (given->n_mean && given->n_std)) return IPRO_OK;
  if (saved->n_normalization != r->train_data.channels)
    return ipro_error_set(err,
                          "cannot resume: checkpoint '%s' was trained on images of %d channel(s); "
                          "%s has %d",
                          r->checkpoint_path, saved->n_normalization, r->options->data,
                          r->train_data.channels);
  ipro_cli_normalization taken = *given;
  size_t bytes = sizeof(float) * (size_t)saved->n_normalization;
  if (!taken.n_mean) {
    memcpy(taken.mean, saved->mean, bytes);
    taken.n_mean = saved->n_normalization;
  }
  if (!taken.n_std) {
    memcpy(taken.std, saved->std, bytes);
    taken.n_std = saved->n_normalization;
  }
  if (ipro_cli_normalization_apply(&taken, r->options->data, &r->train_data, err) != IPRO_OK ||
      ipro_cli_normalization_apply(&taken, r->options->data, &r->test_data, err) != IPRO_OK)
    return IPRO_ERROR;
  r->mean_from_checkpoint = !given->n_mean;
  r->std_from_checkpoint = !given->n_std;
  return IPRO_OK;
}

/* Under mpirun: records that the ranks agreed that rank `failed` failed (prepare_pipeline then
 * says so without meeting the others again), and returns an error (this rank's own, if it has
 * one). */
ipro_status ipro_cli_train_failure_agreed(ipro_cli_train_run *r, int failed, ipro_status status,
                                          ipro_error *err) {
  r->failure_agreed = true;
  r->failed_rank = failed;
  return status == IPRO_OK ? ipro_error_set(err, "rank %d failed", failed) : IPRO_ERROR;
}

/* Under mpirun: whether every rank got this far (collective over the ranks that did; one that
 * returned from prepare earlier meets it in prepare_pipeline's call). After a failure was agreed
 * on, no rank meets the others again. */
static ipro_status agree(ipro_cli_train_run *r, ipro_status status, ipro_error *err) {
  if (!r->pipeline || r->failure_agreed) return status;
  int failed = ipro_pipeline_first_failure(r->pipeline, status == IPRO_OK);
  return failed < 0 ? status : ipro_cli_train_failure_agreed(r, failed, status, err);
}

/* "module 3" or "modules 1-2": what stage s of the pipeline trains, into buffer. */
const char *ipro_cli_train_stage_modules(const ipro_cli_train_run *r, int s, char *buffer,
                                         size_t size) {
  return ipro_cli_pipeline_modules_text(r->stages.first[s] + 1, r->stages.first[s + 1], buffer,
                                        size);
}

/* The stages of a pipeline with fewer stages than modules: what each rank trains, with its work
 * per step (the plan file's measured step time, or FLOPs by the plan's cost model) where known. */
static void print_stages(const ipro_cli_train_run *r) {
  bool known = false;
  for (int k = 0; k < r->K; k++)
    known = known || r->module_work[k] > 0;
  printf("MPI: the %d modules in %d stage%s, one per rank of a replica%s:", r->K, r->stages.stages,
         r->stages.stages == 1 ? "" : "s",
         r->options->n_stage_sizes ? " (--stages)"
         : !known                  ? ""
         : r->work_is_time ? ", balanced by the step times --plan's file measured (--calibrate)"
                           : ", balanced by FLOPs per step");
  for (int s = 0; s < r->stages.stages; s++) {
    char modules[32];
    uint64_t sum = 0;
    for (int k = r->stages.first[s]; k < r->stages.first[s + 1]; k++)
      sum += r->module_work[k];
    printf("%s rank %d %s", s ? "," : "", s,
           ipro_cli_train_stage_modules(r, s, modules, sizeof modules));
    if (known && r->work_is_time)
      printf(" (%.1f ms)", 1e-6 * (double)sum);
    else if (known)
      printf(" (%.2f GFLOP)", 1e-9 * (double)sum);
  }
  printf("\n");
}

/* Under mpirun: the plan's K modules grouped into the pipeline's stages. --stages N1,N2,.. gives
 * them; --stages S, or fewer processes than modules without it, asks for S stages balanced by
 * the modules' work (measured times from a --plan file made with --calibrate, else FLOPs);
 * otherwise one module per stage (the processes then a multiple of K, checked with the replicas by
 * ipro_pipeline_arrange). */
static ipro_status choose_stages(ipro_cli_train_run *r, ipro_error *err) {
  const ipro_cli_train_options *o = r->options;
  int K = r->K, ranks = ipro_pipeline_size(r->pipeline);
  if (o->n_stage_sizes) {
    int sum = 0;
    for (int s = 0; s < o->n_stage_sizes; s++)
      sum += o->stage_sizes[s];
    if (sum != K)
      return ipro_error_set(err,
                            "--stages gives stages of %d modules in all; the plan has %d (give "
                            "the modules of each stage, summing to %d)",
                            sum, K, K);
    r->stages = (ipro_pipeline_stages){.stages = o->n_stage_sizes};
    for (int s = 0; s < o->n_stage_sizes; s++)
      r->stages.first[s + 1] = r->stages.first[s] + o->stage_sizes[s];
    return IPRO_OK;
  }
  int S = o->stages ? o->stages : ranks % K != 0 && ranks < K ? ranks : K;
  if (S > K)
    return ipro_error_set(err,
                          "--stages %d for a plan of %d module%s: a stage trains one module at "
                          "least (give at most %d stages)",
                          S, K, K == 1 ? "" : "s", K);
  r->stages = ipro_pipeline_stages_balanced(r->module_work, K, S);
  return IPRO_OK;
}

/* The source of a compiled program's lowered modules for this run: its seed and normalisation. */
static ipro_program_source program_source_of(const ipro_cli_train_run *r,
                                             const ipro_trainer_options *options) {
  return (ipro_program_source){.program = r->options->program,
                               .path = r->options->model,
                               .run = options->local.heads,
                               .open_network = ipro_graph_open};
}

/* A compiled program has no split search to make oneDNN's primitives before the trainer's
 * memory window, as `infopro train`'s search does (and names what it keeps): its modules' kernels
 * (all K: a pipeline stage's trainer plans the others too, runtime/trainer.c) are built once here,
 * on a backend of the run's device that is then let go, so that the trainer finds them in oneDNN's
 * primitive cache, and what the cache keeps is measured as the same term. */
static ipro_status warm_program_kernels(const ipro_cli_train_run *r,
                                        const ipro_trainer_options *options, ipro_error *err) {
  ipro_backend *backend = NULL, *fallback = NULL;
  if (ipro_backend_create_for(options->device, options->reference, &backend, &fallback, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  ipro_program_source lowered = program_source_of(r, options);
  ipro_module_source source = ipro_program_module_source(&lowered);
  ipro_status status = IPRO_OK;
  for (int k = 0; status == IPRO_OK && k < source.K; k++) {
    ipro_executor_options plan_only = ipro_executor_module_plan_options(k == 0, k + 1 == source.K);
    ipro_graph *graph = NULL;
    ipro_training_graph training;
    ipro_executor *executor = NULL;
    status = source.build(source.context, k, k + 1 == source.K, backend, &graph, &training, err);
    if (status == IPRO_OK)
      status = ipro_executor_create_with(graph, backend, fallback, &plan_only, &executor, err);
    ipro_executor_free(executor);
    if (graph) ipro_training_graph_release(&training);
    ipro_graph_free(graph);
  }
  ipro_program_source_release(&lowered);
  backend->destroy(backend);
  if (fallback) fallback->destroy(fallback);
  return status;
}

/* The trainer's programs are built, its blocks not yet allocated: the allocator's peak so far is
 * that building's (runtime/trainer.h, programs_built), and the trainer's own peak starts here. */
static void programs_built(void *context) {
  ipro_cli_train_run *r = context;
  r->trainer_building_peak = ipro_process_memory_heap_growth(&r->training);
  ipro_process_memory_restart_peak(&r->training);
}

/* The trainer: of the compiled program's lowered modules, or of the model's, built now. */
static ipro_status create_trainer(ipro_cli_train_run *r, const ipro_trainer_options *options,
                                  ipro_error *err) {
  const ipro_program *program = r->options->program;
  if (!program) return r->model->create_trainer(r->options->model, options, &r->trainer, err);
  if (options->batch != program->batch)
    return ipro_error_set(err,
                          "this program's modules were lowered for batch %lld; this run would "
                          "train them at batch %lld (the batch of the checkpoint it resumes): "
                          "compile the model for that batch, or train with infopro train",
                          (long long)program->batch, (long long)options->batch);
  ipro_program_source lowered = program_source_of(r, options);
  ipro_module_source source = ipro_program_module_source(&lowered);
  ipro_status status = ipro_trainer_create_from(&source, options, &r->trainer, err);
  ipro_program_source_release(&lowered);
  return status;
}

/* The message for a compiled program started on more MPI processes than it has stages. */
static ipro_status program_without_replicas(const ipro_cli_train_run *r, ipro_error *err) {
  const ipro_program *p = r->options->program;
  return ipro_error_set(err,
                        "%d MPI processes for this program of %d module%s: it runs no "
                        "data-parallel replicas, its modules being lowered for the whole batch "
                        "of %lld, so one process per stage (mpirun -np %d, one module per "
                        "process, or fewer, each a stage of modules)",
                        ipro_pipeline_size(r->pipeline), p->local.K, p->local.K == 1 ? "" : "s",
                        (long long)p->batch, p->local.K);
}

/* Settings, backends, evaluator, loader, split, trainer, checkpoint — in that order, so that a
 * wrong model or dataset is reported before anything is compiled. */
static ipro_status prepare(ipro_cli_train_run *r, ipro_error *err) {
  const ipro_cli_train_options *o = r->options;
  ipro_checkpoint saved = {0};
  if (o->checkpoint)
    ipro_checkpoint_path(o->checkpoint, r->checkpoint_path, sizeof r->checkpoint_path);
  if (o->resume) {
    if (ipro_checkpoint_read(r->checkpoint_path, &saved, err) != IPRO_OK) return IPRO_ERROR;
    /* the values the run would continue from: training on them would only end "diverged" */
    if (ipro_cli_check_finite_checkpoint(&saved, r->checkpoint_path, err) != IPRO_OK) {
      ipro_checkpoint_release(&saved);
      return IPRO_ERROR;
    }
    if (ipro_cli_train_resumed_position(o, &saved.position, r->checkpoint_path, &r->position,
                                        err) != IPRO_OK) {
      ipro_checkpoint_release(&saved);
      return IPRO_ERROR;
    }
  }
  /* Under mpirun rank 0, which alone writes checkpoints, alone checks the folder (ranks making
   * and removing one folder at once would remove it under another's check). */
  ipro_status status = IPRO_OK;
  if (o->checkpoint && ipro_cli_train_leads(r))
    status = ipro_checkpoint_check_directory(o->checkpoint, err);
  if (status == IPRO_OK && o->out) status = ipro_check_writable(o->out, err);
  if (status == IPRO_OK && o->out_inference) status = ipro_check_writable(o->out_inference, err);
  if (status == IPRO_OK && o->json && strcmp(o->json, "-") != 0 && ipro_cli_train_leads(r))
    status = ipro_check_writable(o->json, err);
  /* The model at the training batch, before the data is read: a batch the model's sizes do not
   * allow is refused with the largest one possible, and weights that are not finite before the
   * first step (which the run would otherwise report as its divergence after the first epoch). */
  ipro_graph *model = NULL;
  if (status == IPRO_OK)
    status = ipro_graph_open(o->model, o->resume ? r->position.batch : o->batch, &model, err);
  if (status == IPRO_OK) status = ipro_cli_check_finite_graph(model, o->model, "trained", err);
  ipro_graph_free(model);
  if (status == IPRO_OK) status = open_data(r, err);
  if (status == IPRO_OK && o->resume) status = take_checkpoint_normalization(r, &saved, err);
  /* An image folder's labels are the sorted positions of its class folders' names: resumed on a
   * folder whose classes moved, the run would go on training with shifted labels. */
  if (status == IPRO_OK && o->resume &&
      ipro_cli_check_checkpoint_classes(saved.class_names, saved.n_class_names, r->checkpoint_path,
                                        &r->train_data, o->data, err) != IPRO_OK)
    status = ipro_error_prefix(err, "cannot resume");
  if (status == IPRO_OK && !o->resume)
    r->position = ipro_cli_train_fresh_position(o, r->train_data.kind);
  /* a --limit beyond the training split uses all of it, as --test-limit and eval's --limit do
   * (it was an error here alone); the header says how many images that is */
  if (status == IPRO_OK && r->position.limit > r->train_data.count) r->position.limit = 0;
  if (status == IPRO_OK)
    status = ipro_lr_schedule_check(&r->position.schedule, r->position.total_epochs, err);
  if (status == IPRO_OK && ipro_cli_train_leads(r))
    status =
        ipro_cli_create_backend(o->device, o->reference, &r->eval_backend, &r->eval_fallback, err);
  /* on host memory the test pass's graphs are loaded now, before the trainer's blocks exist */
  if (status == IPRO_OK && ipro_cli_train_leads(r))
    status = r->eval_backend->host_memory
                 ? ipro_cli_evaluator_preload(o->model, &r->test_data, &r->evaluator, err)
                 : ipro_cli_evaluator_check(o->model, &r->test_data, err);
  /* The batch loader before the trainer, so that the allocator's figure for the trainer
   * (memory_report.h) holds the trainer alone. */
  ipro_batch_options batches = {.batch_size = r->position.batch,
                                .seed = r->position.seed,
                                .shuffle = true,
                                .limit = r->position.limit,
                                .drop_last = true,
                                .crop_padding = r->position.crop_padding,
                                .flip = r->position.flip,
                                .random_resized_crop = r->position.random_resized_crop,
                                .background = true,
                                /* the trainer copies each batch into its image block, the
                                 * second buffer; a pipeline's rank 0 reads it after the step */
                                .one_slot = !r->pipeline};
  /* A split smaller than the batch is the data's doing (a --limit below it was refused up
   * front, or on --resume the checkpoint's): said naming the data, before the loader refuses it
   * in its own words. */
  int64_t images = r->position.limit ? r->position.limit : r->train_data.count;
  if (status == IPRO_OK && images < r->position.batch)
    status = ipro_error_set(
        err, "%s: %lld training images%s make no complete batch of %lld (--batch)", o->data,
        (long long)images, r->position.limit ? " (--limit)" : "", (long long)r->position.batch);
  if (status == IPRO_OK)
    status = ipro_batch_loader_create(&r->train_data, &batches, &r->loader, err);
  if (status == IPRO_OK) r->steps_per_epoch = ipro_batch_loader_batches_per_epoch(r->loader);
  /* anonymous pages only: the library code the search pages in is its own term */
  uint64_t before_search = ipro_process_memory_status_bytes("RssAnon");
  ipro_process_memory search;
  ipro_process_memory_begin(&search);
  if (status == IPRO_OK && o->resume) ipro_cli_train_take_checkpoint_split(r, &saved);
  /* Under mpirun the ranks agree whether every one got this far before their first collective
   * calls (rank 0's split handed on; arranging replicas, MPI_Comm_split): a rank that failed
   * before them (a dataset missing on its machine) left the others waiting in them for ever. */
  status = agree(r, status, err);
  if (status == IPRO_OK) status = ipro_cli_train_choose_split(r, err);
  if (status == IPRO_OK && o->resume) status = ipro_cli_train_check_resumed_split(r, &saved, err);
  int64_t kept = ipro_process_memory_heap_level(&search);
  /* what the search freed goes back to the system before the trainer's blocks are mapped, which
   * would otherwise come on top of it in the process's high-water mark */
  ipro_process_memory_return_free_pages();
  uint64_t after_search = ipro_process_memory_status_bytes("RssAnon");
  r->split_search_rss = after_search > before_search ? after_search - before_search : 0;
  r->split_search_held = kept > 0 ? (uint64_t)kept : 0;
  status = agree(r, status, err); /* and again before arranging them */
  if (status == IPRO_OK && r->pipeline) status = choose_stages(r, err);
  /* A compiled program's modules were lowered for its whole batch: data-parallel replicas, each
   * training a share of it, could never run, so one rank per stage is the only count offered. */
  if (status == IPRO_OK && r->pipeline && o->program &&
      ipro_pipeline_size(r->pipeline) != r->stages.stages)
    status = program_without_replicas(r, err);
  if (status == IPRO_OK && r->pipeline)
    status = ipro_pipeline_arrange(r->pipeline, r->K, &r->stages, r->position.batch, err);
  /* R data-parallel replicas share every batch (runtime/mpi/pipeline.h) */
  int64_t batch = r->position.batch / (r->pipeline ? ipro_pipeline_replicas(r->pipeline) : 1);
  ipro_trainer_options trainer_options = {.batch = batch,
                                          .optimizer = r->position.optimizer,
                                          .reference = o->reference,
                                          .device = o->device,
                                          .n_cuts = r->K - 1,
                                          .cuts = r->cuts,
                                          .local = ipro_cli_train_local_settings(r, batch),
                                          .n_frozen = o->local.n_frozen,
                                          .frozen = o->local.frozen,
                                          .n_frozen_statistics = o->local.n_frozen_statistics,
                                          .frozen_statistics = o->local.frozen_statistics};
  if (r->pipeline && status == IPRO_OK) { /* this rank's stage */
    int stage = ipro_pipeline_stage(r->pipeline);
    trainer_options.first_module = r->stages.first[stage];
    trainer_options.module_count = r->stages.first[stage + 1] - r->stages.first[stage];
  }
  if (status == IPRO_OK && o->program && batch == o->program->batch) {
    /* measured as the split search is: the same two terms */
    before_search = ipro_process_memory_status_bytes("RssAnon");
    ipro_process_memory_begin(&search);
    status = warm_program_kernels(r, &trainer_options, err);
    kept = ipro_process_memory_heap_level(&search);
    after_search = ipro_process_memory_status_bytes("RssAnon");
    r->split_search_rss += after_search > before_search ? after_search - before_search : 0;
    r->split_search_held += kept > 0 ? (uint64_t)kept : 0;
  }
  /* --json's per-epoch records, made before the trainer's allocations are measured */
  if (status == IPRO_OK && o->json && ipro_cli_train_leads(r))
    status = ipro_cli_epoch_history_reserve(
        &r->history, r->position.total_epochs - r->position.epochs_done, err);
  ipro_process_memory_begin(&r->training); /* the trainer's allocations start here */
  trainer_options.programs_built = programs_built;
  trainer_options.programs_built_context = r;
  if (status == IPRO_OK) status = create_trainer(r, &trainer_options, err);
  if (status == IPRO_OK && r->planned_by_trainer)
    r->planned_peak = ipro_trainer_planned_bytes(r->trainer);
  r->trainer_heap = ipro_process_memory_heap_level(&r->training);
  r->trainer_creation_peak = ipro_process_memory_heap_growth(&r->training);
  /* What the search cached and the trainer does not hold (oneDNN's primitives of the candidate
   * modules it costed) goes now, before training makes the process's peak: it was the search's,
   * so the search's kept term loses it and the trainer's probe, whose baseline held it, forgets
   * it. */
  if (status == IPRO_OK) {
    int64_t level = ipro_process_memory_heap_level(&r->training);
    ipro_backend_release_unused_primitives();
    int64_t freed = level - ipro_process_memory_heap_level(&r->training);
    if (freed > 0) {
      r->split_search_held -=
          (uint64_t)freed < r->split_search_held ? (uint64_t)freed : r->split_search_held;
      ipro_process_memory_forget(&r->training, freed);
      ipro_process_memory_return_free_pages();
    }
  }
  /* The test pass runs between steps, inside the training block (DESIGN.md's memory model); in a
   * pipeline, on rank 0 alone, inside its own module's block. */
  if (status == IPRO_OK && ipro_cli_train_leads(r))
    status = ipro_cli_evaluator_open_in(
        o->model, &r->test_data, o->eval_batch, o->test_limit, r->eval_backend, r->eval_fallback,
        ipro_trainer_block(r->trainer), ipro_trainer_block_bytes(r->trainer), &r->evaluator, err);
  if (status == IPRO_OK && ipro_cli_train_leads(r)) {
    ipro_cli_warn_untested_opsets(r->evaluator.full.graph, o->model);
    ipro_cli_warn_folded_batch_norms(r->evaluator.full.graph, o->model);
  }
  /* Opening it can free more than it takes (oneDNN's primitive cache, full with a large network's
   * kernels, lets some of the trainer's go): then it holds nothing of its own. */
  int64_t after_test_pass = ipro_process_memory_heap_level(&r->training);
  r->test_pass_heap = after_test_pass > r->trainer_heap ? after_test_pass - r->trainer_heap : 0;
  /* Building the test pass (loading and compiling the model in inference form) is not the
   * trainer's: what it holds afterwards is counted as its own term. */
  ipro_process_memory_restart_peak(&r->training);
  if (status == IPRO_OK && o->resume) {
    status = r->pipeline ? ipro_pipeline_restore(r->trainer, &saved, r->checkpoint_path, err)
                         : ipro_checkpoint_restore(r->trainer, &saved, r->checkpoint_path, err);
    if (status != IPRO_OK) status = ipro_cli_train_hint_split(r, saved.split.K != 0, err);
    r->start_epoch = r->position.epochs_done;
    ipro_trainer_set_steps(r->trainer, r->position.steps_done);
  }
  ipro_checkpoint_release(&saved);
  return status;
}

static void print_header(const ipro_cli_train_run *r) {
  char shown[IPRO_PRINTABLE_MAX]; /* a model-supplied name, escaped (ir/printable.h) */
  const ipro_training_position *p = &r->position;
  int64_t images = p->limit && p->limit < r->train_data.count ? p->limit : r->train_data.count;
  printf("training %s on %s: %lld training images, %lld steps of %lld per epoch (%lld dropped); "
         "%lld test images\n",
         r->options->model, ipro_dataset_kind_name(r->train_data.kind), (long long)images,
         (long long)r->steps_per_epoch, (long long)p->batch,
         (long long)(images - r->steps_per_epoch * p->batch), (long long)r->evaluator.count);
  const ipro_optimizer_settings *opt = &p->optimizer;
  if (opt->kind == IPRO_OPTIMIZER_SGD)
    printf("sgd momentum %g%s weight decay %g", opt->momentum, opt->nesterov ? " nesterov" : "",
           opt->weight_decay);
  else
    printf("adamw betas %g,%g eps %g weight decay %g", opt->beta1, opt->beta2, opt->epsilon,
           opt->weight_decay);
  const ipro_lr_schedule *s = &p->schedule;
  printf("; lr %g %s", s->base_rate, ipro_schedule_kind_name(s->kind));
  /* a one-epoch run's step schedule has no milestone (none lies below its one epoch): said,
   * rather than an empty list */
  if (s->kind == IPRO_SCHEDULE_STEP && s->n_milestones == 0)
    printf(" (no milestone in a %lld-epoch run: the rate stays %g)", (long long)p->total_epochs,
           s->base_rate);
  else if (s->kind == IPRO_SCHEDULE_STEP) {
    printf(" (x%g at epoch", s->gamma);
    for (int i = 0; i < s->n_milestones; i++)
      printf("%s%lld", i ? "," : " ", (long long)s->milestones[i]);
    printf(")");
  }
  if (s->warmup_epochs) printf(", %lld warm-up epoch(s)", (long long)s->warmup_epochs);
  if (p->random_resized_crop)
    printf("; augmentation random-resized-crop%s", p->flip ? " + flip" : "");
  else if (p->crop_padding || p->flip)
    printf("; augmentation crop %d%s", p->crop_padding, p->flip ? " + flip" : "");
  else
    printf("; no augmentation");
  printf("; seed %llu; %s\n", (unsigned long long)p->seed,
         r->options->reference ? "reference kernels" : r->eval_backend->name);
  if (r->mean_from_checkpoint || r->std_from_checkpoint) {
    char mean[IPRO_CLI_NORMALIZATION_TEXT_BYTES], std[IPRO_CLI_NORMALIZATION_TEXT_BYTES];
    ipro_cli_normalization_text(r->train_data.mean, r->train_data.channels, mean);
    ipro_cli_normalization_text(r->train_data.std, r->train_data.channels, std);
    printf("normalisation: mean %s std %s (%s)\n", mean, std,
           !r->std_from_checkpoint    ? "the checkpoint's mean, --std given"
           : !r->mean_from_checkpoint ? "the checkpoint's std, --mean given"
                                      : "the checkpoint's");
  }
  if (r->K > 1) {
    printf("InfoPro local training: K = %d, cut at", r->K);
    for (int k = 0; k + 1 < r->K; k++)
      printf("%s %s", k ? "," : "", ipro_printable(r->cuts[k], shown, sizeof shown));
    if (r->split_from_checkpoint) printf(" (the checkpoint's split)");
    char change[64];
    ipro_cli_peak_change(r->planned_peak, r->e2e_peak, change, sizeof change);
    printf("; planned peak %llu bytes (end-to-end %llu, %s)\n", (unsigned long long)r->planned_peak,
           (unsigned long long)r->e2e_peak, change);
    printf("heads:");
    for (int k = 0; k < r->n_heads; k++)
      printf("%s module %d %dc%df, %s decoder", k ? ";" : "", k + 1, r->heads[k].convs,
             r->heads[k].fcs, ipro_decoder_name(r->heads[k].decoder));
    if (r->planned_by_trainer)
      printf(" (the checkpoint's; the planner chose others here, so the planned peak is the "
             "trainer's own plan)");
    printf("\n");
  }
  /* kernels left to a slower fallback than the backend's own (no LLVM, say): said, not hidden */
  const ipro_backend *trainer_backend = r->trainer ? ipro_trainer_backend(r->trainer) : NULL;
  const char *degraded = trainer_backend && trainer_backend->degraded[0]
                             ? trainer_backend->degraded
                             : r->eval_backend->degraded;
  if (degraded[0])
    fprintf(stderr, "infopro: warning: %s; those nodes run on the reference kernels, slower\n",
            degraded);
  /* A compiled program was planned where it was compiled; the CPU backend plans its kernels for
   * the CPU and the threads it runs on (oneDNN's implementations, their scratchpads, which can
   * grow with the thread count, and the layouts it carries activations in), so on another CPU, or
   * with another OMP_NUM_THREADS, the trainer's plan can differ from the program's. Said, not
   * hidden: the memory line at the end is this machine's. */
  uint64_t here = r->trainer && !r->pipeline ? ipro_trainer_planned_bytes(r->trainer) : 0;
  if (r->options->program && here && here != r->planned_peak)
    fprintf(stderr,
            "infopro: warning: on this machine the program's modules plan %llu bytes, not the "
            "%llu planned when it was compiled (the CPU backend plans its kernels for the CPU and "
            "the threads it runs on); compile it here, with these threads, for this plan\n",
            (unsigned long long)here, (unsigned long long)r->planned_peak);
  double started = ipro_progress_since_exec();
  if (started >= 0)
    printf("ready to train %.2f s after start (%s)\n", started,
           r->options->program ? "a compiled program" : "model loaded, planned and compiled");
  if (r->pipeline && r->stages.stages < r->K) print_stages(r);
  if (r->pipeline && ipro_pipeline_replicas(r->pipeline) > 1)
    printf("MPI: %d replicas of the %d-stage pipeline, each training %lld images of every batch "
           "and averaging gradients before each update\n",
           ipro_pipeline_replicas(r->pipeline), r->stages.stages,
           (long long)(p->batch / ipro_pipeline_replicas(r->pipeline)));
  if (r->options->resume)
    printf("resuming from %s after epoch %lld (step %llu)\n", r->checkpoint_path,
           (long long)p->epochs_done, (unsigned long long)p->steps_done);
  fflush(stdout);
}

static void release(ipro_cli_train_run *r) {
  ipro_cli_epoch_history_free(&r->history);
  ipro_batch_loader_destroy(r->loader);
  ipro_trainer_free(r->trainer);
  ipro_cli_evaluator_close(&r->evaluator);
  if (r->eval_backend) r->eval_backend->destroy(r->eval_backend);
  if (r->eval_fallback) r->eval_fallback->destroy(r->eval_fallback);
  ipro_dataset_free(&r->test_data);
  ipro_dataset_free(&r->train_data);
  ipro_checkpoint_release(&r->gathered);
}

/* Under mpirun: ends the job with status 1, this rank's message (naming it, and with replicas
 * which stage of which replica it is, 1-based as the modules are) on stderr, and MPI_Abort so
 * that no rank waits for one that has stopped. */
static int fail_rank(ipro_cli_train_run *r, const char *message) {
  char stage[64] = "";
  if (ipro_pipeline_replicas(r->pipeline) > 1)
    snprintf(stage, sizeof stage, " (stage %d of replica %d)", ipro_pipeline_stage(r->pipeline) + 1,
             ipro_pipeline_replica(r->pipeline) + 1);
  fprintf(stderr, "infopro: rank %d%s: %s\n", ipro_pipeline_rank(r->pipeline), stage, message);
  fflush(stderr);
  ipro_pipeline_abort(r->pipeline, 1);
  return 1;
}

/* Under mpirun, after every rank prepared: the first rank that failed (if any) prints its
 * message, and every rank stops with status 1 (a failure that every rank meets, such as a
 * missing model, is printed once). Then the ranks meet their neighbours. */
static ipro_status prepare_pipeline(ipro_cli_train_run *r, ipro_status prepared, ipro_error *err,
                                    int *exit_status) {
  /* one agreement per rank: prepare's, where the ranks that got that far failed or not */
  int failed = r->failure_agreed ? r->failed_rank
                                 : ipro_pipeline_first_failure(r->pipeline, prepared == IPRO_OK);
  if (failed >= 0) {
    if (failed == ipro_pipeline_rank(r->pipeline))
      fprintf(stderr, "infopro: rank %d: %s\n", failed, err->message);
    *exit_status = 1;
    return IPRO_ERROR;
  }
  const ipro_dataset *d = &r->train_data;
  size_t image_bytes = sizeof(float) * (size_t)r->position.batch * (size_t)d->channels *
                       (size_t)d->height * (size_t)d->width;
  int64_t before = ipro_process_memory_heap_level(&r->training);
  if (ipro_pipeline_attach(r->pipeline, r->trainer, image_bytes,
                           sizeof(int64_t) * (size_t)r->position.batch, err) != IPRO_OK)
    *exit_status = fail_rank(r, err->message); /* does not return */
  r->pipeline_heap = ipro_process_memory_heap_level(&r->training) - before;
  return IPRO_OK;
}

/* A compiled program's model is served from memory under a path beside the runner
 * (DIR/MODEL.onnx) where no file lies: a message naming that path names the runner, DIR/train,
 * instead, which is what the user ran. */
static void name_the_runner(const char *model_path, ipro_error *err) {
  const char *slash = model_path ? strrchr(model_path, '/') : NULL;
  if (!slash) return;
  char runner[1200], message[sizeof err->message];
  snprintf(runner, sizeof runner, "%.*s/train", (int)(slash - model_path), model_path);
  size_t used = 0, length = strlen(model_path);
  for (const char *at = err->message; *at && used + 1 < sizeof message;) {
    bool model = strncmp(at, model_path, length) == 0;
    const char *piece = model ? runner : at;
    size_t size = model ? strlen(runner) : 1;
    if (used + size >= sizeof message) break;
    memcpy(message + used, piece, size);
    used += size;
    at += model ? length : 1;
  }
  message[used] = '\0';
  memcpy(err->message, message, used + 1);
}

/* `infopro train` (model: how it searches the split and builds the trainer) and a compiled
 * program's runner (program not NULL, its model at model_path). */
static int train_command(int argc, char **argv, const ipro_cli_train_model *model,
                         const ipro_program *program, const char *model_path) {
  ipro_error err = {{0}};
  ipro_pipeline *mpi = NULL;
  if (ipro_pipeline_launched()) {
    /* A plugin that cannot load fails every rank alike: rank 0 says why. Anything else (MPI
     * failing to start on one node) is said by the rank it happens on. */
    if (ipro_pipeline_open(&mpi, &err) != IPRO_OK) {
      int rank = ipro_pipeline_launched_rank();
      if (ipro_pipeline_plugin_missing()) return rank > 0 ? 1 : ipro_cli_fail(err.message);
      fprintf(stderr, "infopro: rank %d: %s\n", rank, err.message);
      return 1;
    }
    if (ipro_pipeline_rank(mpi) > 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 reports */
      return ipro_cli_fail("cannot silence the standard output of a rank other than 0");
  }
  /* Every rank parses the same command line and meets its usage errors alike: rank 0 prints
   * them, and every rank exits with their status. */
  int stderr_aside = mpi && ipro_pipeline_rank(mpi) > 0 ? ipro_cli_stderr_silence() : -1;
  ipro_cli_train_options o;
  int parsed = ipro_cli_train_options_read(argc, argv, program, model_path, &o);
  ipro_cli_stderr_restore(stderr_aside);
  if (parsed >= 0) {
    ipro_pipeline_close(mpi);
    return parsed;
  }
  /* --json -: stdout for the JSON alone, on the process that writes it (a pipeline's rank 0) */
  if (o.json && strcmp(o.json, "-") == 0 && (!mpi || ipro_pipeline_rank(mpi) == 0) &&
      !(o.json_stdout = ipro_cli_json_stdout_begin())) {
    fprintf(stderr, "%s: --json -: cannot set stdout aside for the JSON: %s\n",
            ipro_cli_train_command_name(&o), strerror(errno));
    ipro_pipeline_close(mpi);
    return 1;
  }
  ipro_cli_train_run r = {.options = &o,
                          .model = model,
                          .pipeline = mpi && ipro_pipeline_size(mpi) > 1 ? mpi : NULL,
                          .local = o.local};
  /* The libraries the run will map are part of the baseline, not of the growth measured from it:
   * the kernel compiler (LLVM) is otherwise loaded at the first compilation. */
  ipro_process_memory_map_large_blocks();
  ipro_status status = model ? model->preload(&err) : IPRO_OK;
  ipro_process_memory_begin(&r.process);
  if (status == IPRO_OK) status = prepare(&r, &err);
  int exit_status = 0;
  if (r.pipeline) status = prepare_pipeline(&r, status, &err, &exit_status);
  /* what the split search and the construction freed is not kept resident through training */
  ipro_process_memory_return_free_pages();
  if (status == IPRO_OK) {
    if (ipro_cli_train_leads(&r)) print_header(&r);
    double start = ipro_progress_now();
    int64_t epochs_run = 0;
    status = ipro_cli_train_epochs(&r, &epochs_run, &err);
    if (status == IPRO_OK) status = ipro_cli_train_finish(&r, epochs_run, start, &err);
  }
  if (status != IPRO_OK && program) name_the_runner(model_path, &err);
  if (status != IPRO_OK && !exit_status)
    exit_status = r.pipeline ? fail_rank(&r, err.message) : ipro_cli_fail(err.message);
  ipro_pipeline_detach(r.pipeline); /* its device buffers go before the trainer's backend */
  release(&r);
  ipro_pipeline_close(mpi);
  if (o.json_stdout && fclose(o.json_stdout) != 0 && !exit_status)
    exit_status = ipro_cli_fail("cannot write the JSON to stdout");
  return exit_status;
}

int ipro_cli_train_loop(int argc, char **argv, const ipro_cli_train_model *model) {
  return train_command(argc, argv, model, NULL, NULL);
}

int ipro_cli_train_compiled(int argc, char **argv, const ipro_program *program,
                            const char *model_path) {
  return train_command(argc, argv, NULL, program, model_path);
}
