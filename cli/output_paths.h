/* The files a training run writes, checked against each other and against the files it must
 * not replace before any work: two outputs on one file would leave only the last written (the
 * trained model lost behind its inference form), an output on the checkpoint breaks --resume,
 * and an output on one of a compiled program's own files breaks the program's next start. The
 * paths are compared by identity (ir/same_file.h), not by spelling. */
#ifndef IPRO_CLI_OUTPUT_PATHS_H
#define IPRO_CLI_OUTPUT_PATHS_H

#include <stdbool.h>

#include "frontend/onnx_export.h"

/* a run's own outputs and a compiled program's files, with its model's side files */
#define IPRO_CLI_MAX_OUTPUTS (16 + IPRO_ONNX_MAX_SIDE_FILES)
#define IPRO_CLI_PATH_BYTES 4200

typedef struct {
  const char *what; /* how the user knows it: "--out", "the classes file written beside --out" */
  char path[IPRO_CLI_PATH_BYTES];
  bool kept; /* a file the run needs as it is (a compiled program's own), not one it writes */
} ipro_cli_output;

typedef struct {
  ipro_cli_output files[IPRO_CLI_MAX_OUTPUTS];
  int count;
} ipro_cli_outputs;

/* Adds a file (a NULL path, or "-" for stdout, adds nothing). */
void ipro_cli_outputs_add(ipro_cli_outputs *outputs, const char *what, const char *path, bool kept);

/* Prints "<command>: " and one message naming both files and the options they came from, and
 * returns 2 (a usage error), when two written files, or a written file and a kept one, are the
 * same file; returns 0 when none are. */
int ipro_cli_outputs_refuse_clashes(const char *command, const ipro_cli_outputs *outputs);

/* Which file the run reads that writing `output` would replace: the model, one of its side files
 * (its external data, beside it), or the npz file of an `npz:FILE` data spec; NULL for none (and
 * for NULL or "-"). The path is written into `read` (size bytes). */
const char *ipro_cli_read_file_at(const char *output, const char *model, const char *data,
                                  char *read, size_t size);

/* The paths of the model's side files (its external data, beside it: "FOLDER/NAME", the bare name
 * for a model given without a folder), written into paths (room for IPRO_ONNX_MAX_SIDE_FILES);
 * how many; 0 for a model that cannot be read (where it is loaded says why). */
int ipro_cli_model_side_files(const char *model, char (*paths)[IPRO_CLI_PATH_BYTES]);

#endif
