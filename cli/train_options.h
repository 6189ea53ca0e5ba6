/* `infopro train`'s command line, and a compiled program's runner's (cli/compiled/), which takes
 * train's options that do not change its program: read into ipro_cli_train_options, with what the
 * command line set (so that --resume takes the rest from the checkpoint), and the usage errors
 * found before any work: options without effect, milestones never reached, warm-up taking the
 * whole run, two outputs on one file, a checkpoint a fresh run would replace, a resume with
 * nothing left to train. Each is one message to stderr and exit status 2. */
#ifndef IPRO_CLI_TRAIN_OPTIONS_H
#define IPRO_CLI_TRAIN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/local_options.h"
#include "cli/normalization_options.h"
#include "ir/training_program.h"
#include "runtime/backend.h"
#include "runtime/lr_schedule.h"
#include "runtime/program_file.h"

/* Which options the command line set, so that --resume takes the others from the checkpoint. */
typedef struct {
  bool epochs, batch, lr, schedule, warmup, gamma, milestones, optimizer, momentum, weight_decay,
      nesterov, seed, limit, augment;
} ipro_cli_train_given;

typedef struct {
  const char *model, *data, *out, *out_inference, *checkpoint, *json;
  int64_t epochs, batch, eval_batch, limit, test_limit, log_every, warmup;
  double lr, momentum, weight_decay, gamma;
  int n_milestones;
  int64_t milestones[IPRO_SCHEDULE_MAX_MILESTONES];
  ipro_schedule_kind schedule;
  ipro_optimizer_kind optimizer;
  bool nesterov, augment, resume, reference, strict;
  ipro_device device;
  uint64_t seed;
  ipro_cli_train_given given;
  ipro_cli_local_options local;
  ipro_cli_normalization normalization;
  /* --stages (under mpirun): S, or the modules of each stage (n_stage_sizes of them); 0 and 0
   * when not given */
  int stages, n_stage_sizes;
  int stage_sizes[IPRO_MAX_MODULES];
  const ipro_program *program; /* a compiled program's runner (DIR/train); NULL for train */
  FILE *json_stdout; /* --json -: the original standard output, the log on stderr (json_stdout.h) */
} ipro_cli_train_options;

/* Reads the command line (after `train`; a compiled program's runner passes its program and the
 * path its model is served at, else NULL and NULL) and refuses, before any work, what can be
 * refused from it alone and the files it names. Returns -1 to go on, or the exit status: 0 after
 * --help, 2 after a usage error said on stderr, 1 when out of memory. */
int ipro_cli_train_options_read(int argc, char **argv, const ipro_program *program,
                                const char *model_path, ipro_cli_train_options *o);

/* The name messages give the command: "infopro train", or "train" for a compiled program's
 * runner. */
const char *ipro_cli_train_command_name(const ipro_cli_train_options *o);

/* TRAINED.onnx -> TRAINED.classes.txt, beside it: where an image folder's class names are
 * written. */
void ipro_cli_train_classes_path(const char *out, char *path, size_t size);

#endif
