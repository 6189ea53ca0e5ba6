/* What `infopro train` does that a compiled program's runner does not: load the kernel compiler
 * (LLVM) before the memory baseline, search the split for the model (training_split.h), and build
 * the trainer's module programs from the model (runtime/model_source.h). train.c's loop reaches
 * these only through this table, so that the runner, which passes none, links none of them. */
#ifndef IPRO_CLI_TRAIN_MODEL_H
#define IPRO_CLI_TRAIN_MODEL_H

#include "cli/local_options.h"
#include "runtime/trainer.h"

typedef struct {
  ipro_status (*preload)(ipro_error *err);
  ipro_status (*split)(const char *model, const ipro_cli_local_options *options,
                       const ipro_local_settings *settings, ipro_device device, bool reference,
                       ipro_cli_training_split *out, ipro_error *err);
  ipro_status (*create_trainer)(const char *model_path, const ipro_trainer_options *options,
                                ipro_trainer **out, ipro_error *err);
} ipro_cli_train_model;

/* train's loop with model's split and trainer (cli/train.c). */
int ipro_cli_train_loop(int argc, char **argv, const ipro_cli_train_model *model);

#endif
