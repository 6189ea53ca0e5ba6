/* The model-dependent side of --data (see data_source.h): the model's declared input gives an
 * image folder its target size, and the reports about users' own data are printed here, since
 * the library only returns them. */
#include "data_source.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/atomic_file.h"
#include "ir/graph.h"
#include "ir/printable.h"
#include "progress.h"

/* The first graph input's channels, height and width as declared in the file. */
static ipro_status model_image_size(const char *model, ipro_dataset_spec *spec, ipro_error *err) {
  ipro_graph *graph = NULL;
  if (ipro_graph_load(model, &graph, err) != IPRO_OK) return IPRO_ERROR;
  ipro_status status = IPRO_OK;
  const ipro_shape *s =
      graph->n_inputs >= 1 ? graph->tensors[graph->inputs[0]].declared_shape : NULL;
  if (!s || s->rank != 4 || s->dims[1] < 1 || s->dims[2] < 1 || s->dims[3] < 1)
    status = ipro_error_set(err,
                            "%s: --data %s needs a model whose first input is [N, C, H, W] with "
                            "C, H and W known",
                            model, ipro_dataset_kind_name(spec->kind));
  else
    spec->channels = (int)s->dims[1], spec->height = (int)s->dims[2], spec->width = (int)s->dims[3];
  ipro_graph_free(graph);
  return status;
}

/* The model's class count: the width of its [N, classes] output at batch 1; 0 when the model
 * cannot say (it cannot be read, or its output is not a classifier's), which leaves an npz its
 * own count and the check against the model to the evaluator's message. */
static int model_classes(const char *model) {
  ipro_graph *graph = NULL;
  ipro_error ignored;
  if (ipro_graph_open(model, 1, &graph, &ignored) != IPRO_OK) return 0;
  const ipro_shape *s = graph->n_outputs == 1 ? &graph->tensors[graph->outputs[0]].shape : NULL;
  int classes = s && s->rank == 2 && s->dims[1] >= 1 && s->dims[1] <= INT_MAX ? (int)s->dims[1] : 0;
  ipro_graph_free(graph);
  return classes;
}

ipro_status ipro_cli_open_dataset(const char *model, const char *spec_text, bool strict,
                                  bool uncropped, ipro_dataset_split split, ipro_dataset *out,
                                  ipro_error *err) {
  ipro_dataset_spec spec;
  memset(out, 0, sizeof *out);
  if (ipro_dataset_parse_spec(spec_text, &spec, err) != IPRO_OK) return IPRO_ERROR;
  spec.strict = strict;
  spec.uncropped = uncropped && spec.kind == IPRO_DATASET_IMAGEFOLDER && split == IPRO_SPLIT_TRAIN;
  if (spec.kind == IPRO_DATASET_IMAGEFOLDER && model_image_size(model, &spec, err) != IPRO_OK)
    return IPRO_ERROR;
  /* npz: the model's channels settle an NCHW/NHWC ambiguity, when the model can be read. */
  if (spec.kind == IPRO_DATASET_NPZ && model_image_size(model, &spec, NULL) != IPRO_OK)
    spec.channels = spec.height = spec.width = 0;
  /* npz: labels are checked against the model's classes, of which the data may hold a subset */
  if (spec.kind == IPRO_DATASET_NPZ) spec.classes = model_classes(model);
  double start = ipro_progress_now();
  if (ipro_dataset_load(&spec, split, out, err) != IPRO_OK) return IPRO_ERROR;
  double seconds = ipro_progress_now() - start;
  for (int64_t i = 0; i < out->skipped; i++) /* ipro_error messages: escaped already */
    fprintf(stderr, "infopro: warning: skipped %s\n", out->skipped_paths[i]);
  if (out->unread_format_files) {
    char folder[IPRO_PRINTABLE_MAX], example[IPRO_PRINTABLE_MAX];
    fprintf(stderr,
            "infopro: warning: imagefolder: %s/%s: ignored %lld %s infopro does not read (%s; "
            "e.g. %s)\n",
            ipro_printable(spec.directory, folder, sizeof folder),
            split == IPRO_SPLIT_TRAIN ? "train" : "val", (long long)out->unread_format_files,
            out->unread_format_files == 1 ? "file of a format" : "files of formats",
            out->unread_formats,
            ipro_printable(out->unread_format_example, example, sizeof example));
  }
  if (spec.kind == IPRO_DATASET_IMAGEFOLDER && spec.uncropped)
    printf("decoded %lld %s images (%d channel%s, kept uncropped to cover %d x %d for "
           "random-resized-crop: %zu bytes) in %.2f s: %.0f images/s; %lld skipped\n",
           (long long)out->count, split == IPRO_SPLIT_TRAIN ? "train" : "val", out->channels,
           out->channels == 1 ? "" : "s", IPRO_DATASET_CROP_COVER(out->height),
           IPRO_DATASET_CROP_COVER(out->width), out->bytes, seconds,
           (double)(out->count + out->skipped) / seconds, (long long)out->skipped);
  else if (spec.kind == IPRO_DATASET_IMAGEFOLDER)
    printf("decoded %lld %s images (%d x %d x %d) in %.2f s: %.0f images/s; %lld skipped\n",
           (long long)out->count, split == IPRO_SPLIT_TRAIN ? "train" : "val", out->channels,
           out->height, out->width, seconds, (double)(out->count + out->skipped) / seconds,
           (long long)out->skipped);
  return IPRO_OK;
}

void ipro_cli_print_classes(const ipro_dataset *data) {
  if (!data->class_names) return;
  char name[IPRO_PRINTABLE_MAX];
  printf("classes:");
  for (int c = 0; c < data->num_classes; c++)
    printf(" %d=%s", c, ipro_printable(data->class_names[c], name, sizeof name));
  printf("\n");
}

ipro_status ipro_cli_write_classes(const ipro_dataset *data, const char *path, ipro_error *err) {
  if (!data->class_names) return IPRO_OK;
  /* one line per class: a folder's name shown with its control characters escaped (a newline in
   * it would break the file into lines) */
  char name[IPRO_PRINTABLE_MAX];
  size_t size = 0;
  for (int c = 0; c < data->num_classes; c++)
    size += strlen(ipro_printable(data->class_names[c], name, sizeof name)) + 16;
  char *text = malloc(size + 1);
  if (!text) return ipro_error_set(err, "%s: out of memory", path);
  size_t used = 0;
  for (int c = 0; c < data->num_classes; c++)
    used += (size_t)snprintf(text + used, size + 1 - used, "%d %s\n", c,
                             ipro_printable(data->class_names[c], name, sizeof name));
  ipro_status status = ipro_write_file_atomic(path, text, used, err);
  free(text);
  return status;
}
