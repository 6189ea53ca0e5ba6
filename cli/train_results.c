/* The end of a training run (train_run.h): every rank's time and memory gathered on rank 0
 * of a pipeline, then on the leading process the trained values checked, the trained model written
 * (and its inference form, and an image folder's class names), the final lines with the memory
 * report, and --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "class_mapping.h"
#include "data_source.h"
#include "frontend/onnx_export.h"
#include "memory_report.h"
#include "normalization_options.h"
#include "output_file.h"
#include "progress.h"
#include "train_run.h"
#include "trained_values.h"
#include "version.h"

/* What the memory line says of this process's trainer, measured from the trainer's creation to
 * now: the part every rank of a pipeline reports (report_pipeline) and the final line begins
 * with. */
static ipro_cli_memory_report memory_of_trainer(const ipro_cli_train_run *r) {
  return (ipro_cli_memory_report){.planned = ipro_trainer_planned_bytes(r->trainer),
                                  .counted = ipro_trainer_allocated_bytes(r->trainer),
                                  .allocator = ipro_process_memory_heap_growth(&r->training),
                                  .trainer_building_peak = r->trainer_building_peak,
                                  .trainer_creation_peak = r->trainer_creation_peak,
                                  .trainer_held = (uint64_t)r->trainer_heap,
                                  .test_pass_held = (uint64_t)r->test_pass_heap,
                                  .pipeline_held =
                                      r->pipeline_heap > 0 ? (uint64_t)r->pipeline_heap : 0,
                                  .rss_growth = ipro_process_memory_rss_growth(&r->process),
                                  .device_growth = ipro_trainer_device_growth(r->trainer),
                                  .on_device = r->options->device == IPRO_DEVICE_CUDA};
}

/* Every rank's time per step and memory, gathered on rank 0 (collective) into r->ranks, whose
 * time lines it prints (cli/pipeline_report.h). */
_Static_assert((int)IPRO_CLI_PIPELINE_FIGURES *IPRO_MAX_MODULES <= (int)IPRO_PIPELINE_MAX_VALUES,
               "every stage's figures fit the gather");
static ipro_status report_pipeline(ipro_cli_train_run *r, ipro_error *err) {
  ipro_pipeline_timing t = ipro_pipeline_timing_of(r->pipeline);
  double steps = t.steps > 0 ? (double)t.steps : 1;
  ipro_cli_memory_report memory = memory_of_trainer(r);
  double mine[IPRO_CLI_PIPELINE_FIGURES] = {
      [IPRO_CLI_PIPELINE_STEP_MS] = 1e3 * t.compute_seconds / steps,
      [IPRO_CLI_PIPELINE_CPU_MS] = 1e3 * t.compute_cpu_seconds / steps,
      [IPRO_CLI_PIPELINE_WAIT_MS] = 1e3 * t.wait_seconds / steps,
      [IPRO_CLI_PIPELINE_SENT_BYTES] = (double)t.sent_bytes,
      [IPRO_CLI_PIPELINE_ALLREDUCE_MS] = 1e3 * t.allreduce_seconds / steps,
      [IPRO_CLI_PIPELINE_PLANNED_BYTES] = (double)memory.planned,
      [IPRO_CLI_PIPELINE_TRAINER_BYTES] =
          (double)(memory.on_device ? memory.counted : ipro_cli_memory_report_trainer(&memory)),
      [IPRO_CLI_PIPELINE_PROGRAMS_BYTES] = (double)ipro_cli_memory_report_programs(&memory),
      [IPRO_CLI_PIPELINE_RSS_GROWTH_BYTES] = (double)memory.rss_growth,
      [IPRO_CLI_PIPELINE_DEVICE_BYTES] = (double)memory.device_growth,
      [IPRO_CLI_PIPELINE_BUILDING_BYTES] = (double)memory.trainer_building_peak};
  double all[IPRO_PIPELINE_MAX_VALUES];
  const char *all_names[IPRO_PIPELINE_MAX_VALUES];
  char storage[IPRO_PIPELINE_MAX_VALUES][IPRO_PIPELINE_NAME_BYTES];
  int n = 0;
  if (ipro_pipeline_gather_values(r->pipeline, mine, ipro_cli_pipeline_figure_names,
                                  IPRO_CLI_PIPELINE_FIGURES, all, all_names, storage, &n,
                                  err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_cli_pipeline_report *p = &r->ranks;
  *p = (ipro_cli_pipeline_report){.replicas = ipro_pipeline_replicas(r->pipeline),
                                  .K = r->K,
                                  .batch = r->position.batch,
                                  .on_device = memory.on_device};
  for (int rank = 0; rank < r->stages.stages && (rank + 1) * IPRO_CLI_PIPELINE_FIGURES <= n;
       rank++, p->ranks++) {
    p->rank[rank].first_module = r->stages.first[rank] + 1;
    p->rank[rank].last_module = r->stages.first[rank + 1];
    memcpy(p->rank[rank].figures, &all[rank * IPRO_CLI_PIPELINE_FIGURES],
           sizeof p->rank[rank].figures);
  }
  ipro_cli_pipeline_report_time(p, stdout);
  return IPRO_OK;
}

/* --json FILE: the run's results, its memory report, each epoch's figures and, under mpirun,
 * every rank's. */
typedef struct {
  const ipro_cli_train_run *run;
  const ipro_cli_memory_report *memory;
  int64_t epochs_run;
  double seconds;
} json_results;

static void print_json(const void *context, FILE *out) {
  const json_results *j = context;
  const ipro_cli_train_run *r = j->run;
  ipro_json_writer w = {.out = out};
  ipro_json_begin_object(&w, NULL);
  ipro_json_string(&w, "infopro", ipro_cli_version());
  ipro_json_string(&w, "model", r->options->model);
  ipro_json_int(&w, "epochs", j->epochs_run);
  ipro_json_double(&w, "seconds", j->seconds);
  ipro_json_double(&w, "test_accuracy", r->test_accuracy);
  /* the split trained: its cuts and each local module's heads, as the header says them */
  ipro_json_begin_object(&w, "split");
  ipro_json_int(&w, "K", r->K);
  ipro_json_begin_array(&w, "cuts");
  for (int k = 0; k + 1 < r->K; k++)
    ipro_json_string(&w, NULL, r->cuts[k]);
  ipro_json_end_array(&w);
  ipro_json_begin_array(&w, "heads");
  for (int k = 0; k < r->n_heads; k++) {
    char shape[32];
    snprintf(shape, sizeof shape, "%dc%df", r->heads[k].convs, r->heads[k].fcs);
    ipro_json_begin_object(&w, NULL);
    ipro_json_int(&w, "module", k + 1);
    ipro_json_string(&w, "classifier", shape);
    ipro_json_string(&w, "decoder", ipro_decoder_name(r->heads[k].decoder));
    ipro_json_end_object(&w);
  }
  ipro_json_end_array(&w);
  ipro_json_end_object(&w);
  ipro_cli_memory_report_json(j->memory, &w);
  ipro_cli_epoch_history_json(&r->history, &w);
  if (r->pipeline) ipro_cli_pipeline_report_json(&r->ranks, &w);
  ipro_json_end_object(&w);
}

static ipro_status write_json(const ipro_cli_train_run *r, const ipro_cli_memory_report *memory,
                              int64_t epochs_run, double seconds, ipro_error *err) {
  if (!r->options->json) return IPRO_OK;
  json_results results = {r, memory, epochs_run, seconds};
  return ipro_cli_write_output(r->options->json, r->options->json_stdout, print_json, &results,
                               err);
}

ipro_status ipro_cli_train_finish(ipro_cli_train_run *r, int64_t epochs_run, double start,
                                  ipro_error *err) {
  if (r->pipeline && report_pipeline(r, err) != IPRO_OK) return IPRO_ERROR;
  if (!ipro_cli_train_leads(r)) return IPRO_OK;
  double seconds = ipro_progress_now() - start;
  /* The training's measurement ends here: writing the trained model (the model file read and
   * decoded again) is its own named term, measured from here. */
  uint64_t training_heap = ipro_process_memory_heap_growth(&r->training);
  /* before anything is written from them (the checkpoints were checked before each save), and
   * after the training's measurement, which the buffer it reads into would otherwise join */
  if (ipro_cli_train_check_trained_values(r, r->position.epochs_done - 1, err) != IPRO_OK)
    return IPRO_ERROR;
  /* no step follows: the shared block and the training state (gradients, optimizer moments) go
   * back before the model is read and written, which then reuses their memory rather than coming
   * on top of it */
  ipro_trainer_release_step_memory(r->trainer);
  uint64_t peak_before_export = ipro_process_memory_status_bytes("VmHWM");
  ipro_process_memory export_probe;
  ipro_process_memory_begin(&export_probe);
  /* the normalisation trained with goes into the model's metadata, where eval finds it */
  char mean[IPRO_CLI_NORMALIZATION_TEXT_BYTES], std[IPRO_CLI_NORMALIZATION_TEXT_BYTES];
  ipro_cli_normalization_text(r->train_data.mean, r->train_data.channels, mean);
  ipro_cli_normalization_text(r->train_data.std, r->train_data.channels, std);
  /* and an image folder's class names, which eval checks a folder against; other data removes
   * names a model trained before may carry */
  char *classes = ipro_cli_classes_metadata(&r->train_data);
  if (r->train_data.class_names && !classes)
    return ipro_error_set(err, "out of memory for the class names");
  const char *const keys[] = {IPRO_CLI_MEAN_METADATA, IPRO_CLI_STD_METADATA,
                              IPRO_CLI_CLASSES_METADATA};
  const char *const values[] = {mean, std, classes};
  ipro_export_request trained = {.source_model = r->options->model,
                                 .destination = r->options->out,
                                 .value_of = r->pipeline ? ipro_cli_export_gathered
                                                         : ipro_cli_export_trained,
                                 .context = r->pipeline ? (void *)&r->gathered : (void *)r->trainer,
                                 .n_metadata = 3,
                                 .metadata_keys = keys,
                                 .metadata_values = values};
  ipro_export_request inference = trained;
  inference.destination = r->options->out_inference;
  inference.inference = true;
  bool exported = (!r->options->out || ipro_onnx_export(&trained, err) == IPRO_OK) &&
                  (!r->options->out_inference || ipro_onnx_export(&inference, err) == IPRO_OK);
  free(classes);
  if (!exported) return IPRO_ERROR;
  uint64_t peak_after_export = ipro_process_memory_status_bytes("VmHWM");
  /* In a pipeline each rank holds its own module's memory; rank 0 speaks for its own. */
  ipro_cli_memory_report memory = memory_of_trainer(r);
  memory.allocator = training_heap;
  memory.export_heap = r->options->out || r->options->out_inference
                           ? ipro_process_memory_heap_growth(&export_probe)
                           : 0;
  memory.export_rss_peak =
      peak_after_export > peak_before_export ? peak_after_export - peak_before_export : 0;
  memory.between_epochs_held = r->between_epochs_held;
  memory.between_epochs_peak = r->between_epochs_peak;
  memory.rss_baseline = r->process.rss_baseline;
  memory.library_pages = ipro_process_memory_file_growth(&r->process);
  memory.dataset = r->train_data.bytes + r->test_data.bytes;
  memory.split_search_rss = r->split_search_rss;
  memory.split_search_held = r->split_search_held;
  memory.kernels_ahead = r->options->program != NULL;
  memory.loader = ipro_batch_loader_bytes(r->loader) + ipro_batch_loader_bytes(r->evaluator.loader);
  memory.end_to_end = r->e2e_peak;
  memory.K = r->K;
  printf("trained %lld epochs in %.1f s: test accuracy %.4f\n", (long long)epochs_run, seconds,
         r->test_accuracy);
  if (r->pipeline) {
    char modules[32];
    printf("memory of rank 0 (%s of %d):\n",
           ipro_cli_train_stage_modules(r, 0, modules, sizeof modules), r->K);
  }
  ipro_cli_memory_report_print(&memory, stdout);
  if (r->pipeline) ipro_cli_pipeline_report_memory(&r->ranks, stdout);
  if (r->options->out) printf("wrote %s\n", r->options->out);
  if (r->options->out_inference) printf("wrote %s (inference form)\n", r->options->out_inference);
  if (r->options->out && r->train_data.class_names) {
    char path[4096];
    ipro_cli_train_classes_path(r->options->out, path, sizeof path);
    if (ipro_cli_write_classes(&r->train_data, path, err) != IPRO_OK) return IPRO_ERROR;
    printf("wrote %s\n", path);
  }
  return write_json(r, &memory, epochs_run, seconds, err);
}
