/* Where a training run starts: its epochs, batch, seed, augmentation, optimizer settings and
 * learning-rate schedule (runtime/checkpoint.h's ipro_training_position), from the command line
 * for a fresh run, or from the checkpoint resumed with the options the command line gave laid
 * over it. */
#ifndef IPRO_CLI_TRAIN_POSITION_H
#define IPRO_CLI_TRAIN_POSITION_H

#include "cli/train_options.h"
#include "runtime/checkpoint.h"
#include "runtime/dataset.h"

/* A fresh run's position, for data of this kind (augmentation is on by default for CIFAR). */
ipro_training_position ipro_cli_train_fresh_position(const ipro_cli_train_options *o,
                                                     ipro_dataset_kind kind);

/* The checkpoint's position (saved, read from path) with the options given laid over it; a
 * --batch or --optimizer other than the checkpoint's is an error, since the compiled program and
 * the saved state depend on them. */
ipro_status ipro_cli_train_resumed_position(const ipro_cli_train_options *o,
                                            const ipro_training_position *saved, const char *path,
                                            ipro_training_position *p, ipro_error *err);

#endif
