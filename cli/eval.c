/* `infopro eval MODEL.onnx --data SPEC ...`: a classifier's accuracy and mean cross-entropy on a
 * dataset's test split. The scoring itself (inference form, batching with a second executor for a
 * final partial batch, the loss in double) is evaluation.h's, shared with `infopro train`'s
 * per-epoch test; this file parses the arguments, sets up the dataset and backends, and prints
 * the one result line (and with --json, the same with each class's images and accuracy). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "class_mapping.h"
#include "commands.h"
#include "data_source.h"
#include "evaluation.h"
#include "finite_parameters.h"
#include "frontend/json_writer.h"
#include "ir/atomic_file.h"
#include "json_stdout.h"
#include "normalization_options.h"
#include "output_file.h"
#include "output_paths.h"
#include "progress.h"
#include "version.h"

static const char usage[] =
    "usage: infopro eval MODEL.onnx --data SPEC [--batch N] [--limit N] [--mean m1,m2,..]\n"
    "                   [--std s1,s2,..] [--reference] [--device cpu|cuda] [--json FILE|-]\n"
    "  --data SPEC       the dataset whose test split is evaluated: fashion-mnist[:DIR],\n"
    "                    mnist:DIR, cifar10:DIR, cifar100:DIR, imagefolder:DIR (its val\n"
    "                    folder) or npz:FILE (x_test, y_test)\n"
    "  --strict          an unreadable image in an image folder is an error, not skipped\n"
    "  --batch N         images per forward pass (default 256)\n"
    "  --limit N         evaluate only the first N test images\n"
    "  --mean, --std     per-channel normalisation, (x/255 - mean) / std (default: the one\n"
    "                    the model was trained with, which `infopro train --out` writes into\n"
    "                    its metadata; for other models the dataset's conventional constants,\n"
    "                    and for imagefolder and npz the test split's own, with a warning)\n"
    "  --reference       run the plain C reference kernels instead of oneDNN\n"
    "  --device cpu|cuda the CPU (oneDNN, the default) or an NVIDIA GPU\n"
    "  --json FILE       also write the result, with each class's images and accuracy, as\n"
    "                    JSON (- for stdout: the JSON alone there, the result line on stderr)\n"
    "Prints accuracy and mean cross-entropy (natural log) of the softmax of the model's output.\n"
    "The time reported covers the evaluation loop (batches, forward passes, losses), not "
    "loading.\n";

typedef struct {
  const char *model, *data, *json;
  int64_t batch, limit;
  ipro_cli_normalization normalization;
  bool reference, strict;
  ipro_device device;
} eval_options;

static int parse(int argc, char **argv, eval_options *o) {
  o->batch = 256;
  for (int i = 0; i < argc; i++) {
    int normalization = ipro_cli_normalization_option("eval", argc, argv, &i, &o->normalization);
    if (normalization == 2) return 2;
    if (normalization == 1) continue;
    const char *a = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--reference") == 0) {
      o->reference = true;
    } else if (strcmp(a, "--strict") == 0) {
      o->strict = true;
    } else if (strcmp(a, "--device") == 0 && value) {
      if (!ipro_cli_parse_device(value, &o->device)) return 2;
      i++;
    } else if (strcmp(a, "--data") == 0 && value) {
      o->data = argv[++i];
    } else if (strcmp(a, "--json") == 0 && value) {
      o->json = argv[++i];
    } else if (strcmp(a, "--batch") == 0 || strcmp(a, "--limit") == 0) {
      if (!ipro_cli_parse_positive(a, value, a[2] == 'b' ? &o->batch : &o->limit)) return 2;
      i++;
    } else if (a[0] != '-' && !o->model) {
      o->model = a;
    } else {
      static const char *const value_options[] = {"--data", "--device", "--json", NULL};
      return ipro_cli_refuse_argument("infopro eval", a, !value, value_options, usage);
    }
  }
  if (!o->model) return ipro_cli_missing_argument("infopro eval", "MODEL.onnx", usage);
  if (!o->data) return ipro_cli_missing_argument("infopro eval", "--data SPEC", usage);
  /* --json on the model, its external data or the npz file it scores would replace what it
   * reads */
  char read_path[4200];
  const char *read = ipro_cli_read_file_at(o->json, o->model, o->data, read_path, sizeof read_path);
  if (read) {
    fprintf(stderr,
            "infopro eval: --json '%s' is '%s', which eval reads: writing the JSON would replace "
            "it; write it elsewhere\n",
            o->json, read);
    return 2;
  }
  return -1;
}

/* --json: the result line's figures, and each class's images and accuracy (with an image
 * folder's class names). */
typedef struct {
  const eval_options *options;
  const ipro_dataset *data;
  const ipro_cli_evaluator *evaluator;
  const ipro_cli_eval_totals *totals;
  double seconds;
  const char *backend;
} eval_results;

static void print_json(const void *context, FILE *out) {
  const eval_results *j = context;
  const ipro_cli_evaluator *e = j->evaluator;
  const ipro_cli_eval_totals *totals = j->totals;
  ipro_json_writer w = {.out = out};
  ipro_json_begin_object(&w, NULL);
  ipro_json_string(&w, "infopro", ipro_cli_version());
  ipro_json_string(&w, "model", j->options->model);
  ipro_json_string(&w, "data", j->options->data);
  ipro_json_string(&w, "backend", j->backend);
  ipro_json_int(&w, "batch", e->full.batch);
  ipro_json_int(&w, "images", totals->seen);
  ipro_json_int(&w, "correct", totals->correct);
  ipro_json_double(&w, "accuracy", (double)totals->correct / (double)totals->seen);
  ipro_json_double(&w, "mean_cross_entropy", totals->cross_entropy_sum / (double)totals->seen);
  ipro_json_double(&w, "seconds", j->seconds);
  ipro_json_begin_array(&w, "classes");
  for (int c = 0; c < j->data->num_classes; c++) {
    ipro_json_begin_object(&w, NULL);
    ipro_json_int(&w, "class", c);
    if (j->data->class_names) ipro_json_string(&w, "name", j->data->class_names[c]);
    ipro_json_int(&w, "images", e->class_seen[c]);
    ipro_json_int(&w, "correct", e->class_correct[c]);
    if (e->class_seen[c] > 0)
      ipro_json_double(&w, "accuracy", (double)e->class_correct[c] / (double)e->class_seen[c]);
    ipro_json_end_object(&w);
  }
  ipro_json_end_array(&w);
  ipro_json_end_object(&w);
}

/* The time printed covers the evaluation loop (batches, forward passes, losses), not loading. */
static ipro_status evaluate(const eval_options *o, const ipro_dataset *data, ipro_backend *backend,
                            ipro_backend *fallback, FILE *json_stdout, ipro_error *err) {
  ipro_cli_evaluator evaluator;
  ipro_cli_eval_totals totals;
  if (ipro_cli_evaluator_open(o->model, data, o->batch, o->limit, backend, fallback, &evaluator,
                              err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_status status = IPRO_OK;
  if (o->json) {
    evaluator.class_seen = calloc((size_t)data->num_classes, sizeof *evaluator.class_seen);
    evaluator.class_correct = calloc((size_t)data->num_classes, sizeof *evaluator.class_correct);
    if (!evaluator.class_seen || !evaluator.class_correct)
      status = ipro_error_set(err, "out of memory for %d classes' counts", data->num_classes);
  }
  ipro_cli_warn_untested_opsets(evaluator.full.graph, o->model);
  double start = ipro_progress_now();
  if (status == IPRO_OK) status = ipro_cli_evaluator_run(&evaluator, &totals, err);
  double seconds = ipro_progress_now() - start;
  if (status == IPRO_OK) {
    int64_t count = evaluator.count;
    printf("accuracy %.4f (%lld/%lld)  mean cross-entropy %.6f  on %s test split, batch %lld, "
           "%.2f s (%.0f images/s, %s)\n",
           (double)totals.correct / (double)count, (long long)totals.correct, (long long)count,
           totals.cross_entropy_sum / (double)count, ipro_dataset_kind_name(data->kind),
           (long long)evaluator.full.batch, seconds, (double)count / seconds, backend->name);
    fflush(stdout);
  }
  if (status == IPRO_OK && o->json)
    status = ipro_cli_write_output(
        o->json, json_stdout, print_json,
        &(eval_results){o, data, &evaluator, &totals, seconds, backend->name}, err);
  free(evaluator.class_seen);
  free(evaluator.class_correct);
  ipro_cli_evaluator_close(&evaluator);
  return status;
}

int ipro_cli_eval(int argc, char **argv) {
  eval_options o = {0};
  int parsed = parse(argc, argv, &o);
  if (parsed >= 0) return parsed;
  /* --json -: stdout for the JSON alone; the result line and the rest go to stderr */
  FILE *json_stdout = NULL;
  if (o.json && strcmp(o.json, "-") == 0 && !(json_stdout = ipro_cli_json_stdout_begin())) {
    fprintf(stderr, "infopro eval: --json -: cannot set stdout aside for the JSON: %s\n",
            strerror(errno));
    return 1;
  }
  ipro_error err = {{0}};
  ipro_dataset data = {0};
  ipro_backend *backend = NULL, *fallback = NULL;
  /* weights that are not finite would be scored as an accuracy of -nan with exit 0 */
  ipro_status status = ipro_cli_check_finite_model(o.model, "evaluated", &err);
  /* a --json that cannot be written is said before the pass, not after it */
  if (status == IPRO_OK && o.json && !json_stdout) status = ipro_check_writable(o.json, &err);
  if (status == IPRO_OK)
    status = ipro_cli_open_dataset(o.model, o.data, o.strict, false, IPRO_SPLIT_TEST, &data, &err);
  /* an image folder's labels are the sorted positions of its class names: a folder whose classes
   * differ from those the model was trained on would be scored against shifted labels */
  if (status == IPRO_OK) status = ipro_cli_check_model_classes(o.model, &data, o.data, &err);
  /* without --mean/--std, the normalisation the model was trained with (its metadata, written
   * by `infopro train --out`), where it has one for this data's channels */
  ipro_cli_normalization carried = {0};
  bool from_model = status == IPRO_OK && o.normalization.n_mean == 0 &&
                    o.normalization.n_std == 0 && ipro_cli_model_normalization(o.model, &carried) &&
                    carried.n_mean == data.channels;
  if (from_model) {
    o.normalization = carried;
    char mean[IPRO_CLI_NORMALIZATION_TEXT_BYTES], std[IPRO_CLI_NORMALIZATION_TEXT_BYTES];
    ipro_cli_normalization_text(carried.mean, carried.n_mean, mean);
    ipro_cli_normalization_text(carried.std, carried.n_std, std);
    fprintf(stderr,
            "infopro: normalising with the mean %s and std %s the model was trained with "
            "(its metadata)\n",
            mean, std);
  }
  if (status == IPRO_OK)
    status = ipro_cli_normalization_apply(&o.normalization, o.data, &data, &err);
  /* users' own data has no conventional constants: training measured its own and printed them,
   * and without them eval scores other inputs than training did (Swin-T: 0.1641 against 0.2266) */
  if (status == IPRO_OK && !from_model && o.normalization.n_mean == 0 &&
      o.normalization.n_std == 0 &&
      (data.kind == IPRO_DATASET_NPZ || data.kind == IPRO_DATASET_IMAGEFOLDER))
    fprintf(stderr,
            "infopro: warning: no --mean/--std for %s data: images are normalised with this "
            "split's own mean %g and std %g; give the values `infopro train` printed for its "
            "training split\n",
            ipro_dataset_kind_name(data.kind), (double)data.mean[0], (double)data.std[0]);
  if (status == IPRO_OK)
    status = ipro_cli_create_backend(o.device, o.reference, &backend, &fallback, &err);
  if (status == IPRO_OK) status = evaluate(&o, &data, backend, fallback, json_stdout, &err);
  if (backend) backend->destroy(backend);
  if (fallback) fallback->destroy(fallback);
  ipro_dataset_free(&data);
  if (json_stdout && fclose(json_stdout) != 0 && status == IPRO_OK)
    status = ipro_error_set(&err, "cannot write the JSON to stdout");
  return status == IPRO_OK ? 0 : ipro_cli_fail(err.message);
}
