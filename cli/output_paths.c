/* Refusing outputs that would overwrite each other or a file the run needs (output_paths.h). */
#include "output_paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/same_file.h"

void ipro_cli_outputs_add(ipro_cli_outputs *outputs, const char *what, const char *path,
                          bool kept) {
  if (!path || strcmp(path, "-") == 0 || outputs->count == IPRO_CLI_MAX_OUTPUTS) return;
  ipro_cli_output *file = &outputs->files[outputs->count++];
  file->what = what;
  snprintf(file->path, sizeof file->path, "%s", path);
  file->kept = kept;
}

const char *ipro_cli_read_file_at(const char *output, const char *model, const char *data,
                                  char *read, size_t size) {
  if (!output || strcmp(output, "-") == 0) return NULL;
  const char *npz = data && strncmp(data, "npz:", 4) == 0 ? data + 4 : NULL;
  const char *found = ipro_same_file(output, model)        ? model
                      : npz && ipro_same_file(output, npz) ? npz
                                                           : NULL;
  if (found) {
    snprintf(read, size, "%s", found);
    return read;
  }
  char(*side_files)[IPRO_CLI_PATH_BYTES] = malloc(sizeof *side_files * IPRO_ONNX_MAX_SIDE_FILES);
  int count = side_files ? ipro_cli_model_side_files(model, side_files) : 0;
  for (int i = 0; i < count && !found; i++)
    if (ipro_same_file(output, side_files[i])) {
      snprintf(read, size, "%s", side_files[i]);
      found = read;
    }
  free(side_files);
  return found;
}

int ipro_cli_model_side_files(const char *model, char (*paths)[IPRO_CLI_PATH_BYTES]) {
  char(*names)[512] = malloc(sizeof *names * IPRO_ONNX_MAX_SIDE_FILES);
  ipro_error ignored = {{0}};
  int count = 0;
  /* a model that cannot be read has none here; where it is loaded says why */
  if (!names ||
      ipro_onnx_side_files(model, names, IPRO_ONNX_MAX_SIDE_FILES, &count, &ignored) != IPRO_OK)
    count = 0;
  const char *slash = strrchr(model, '/');
  for (int i = 0; i < count; i++)
    snprintf(paths[i], IPRO_CLI_PATH_BYTES, "%.*s%s%s", slash ? (int)(slash - model) : 0, model,
             slash ? "/" : "", names[i]);
  free(names);
  return count;
}

int ipro_cli_outputs_refuse_clashes(const char *command, const ipro_cli_outputs *outputs) {
  for (int i = 0; i < outputs->count; i++)
    for (int j = i + 1; j < outputs->count; j++) {
      const ipro_cli_output *a = &outputs->files[i], *b = &outputs->files[j];
      if (a->kept && b->kept) continue; /* neither is written */
      if (!ipro_same_file(a->path, b->path)) continue;
      const ipro_cli_output *written = a->kept ? b : a, *other = a->kept ? a : b;
      if (other->kept)
        fprintf(stderr,
                "%s: %s '%s' is %s '%s', which this program runs from: writing it would break "
                "the program; write the output elsewhere\n",
                command, written->what, written->path, other->what, other->path);
      else
        fprintf(stderr,
                "%s: %s '%s' and %s '%s' are the same file: one would overwrite the other; give "
                "each a file of its own\n",
                command, a->what, a->path, b->what, b->path);
      return 2;
    }
  return 0;
}
