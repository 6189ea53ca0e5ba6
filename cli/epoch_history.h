/* What `infopro train --json` lists of each epoch this process ran: its number, the mean training
 * loss, the test accuracy and loss, the learning rate at its last step, its seconds (training and
 * test), and with local training each local loss's mean ("module 1 reconstruction", ...).
 *
 * The records are allocated once, before the trainer's memory is measured, for the epochs the run
 * will train (at most IPRO_CLI_HISTORY_MAX_EPOCHS: a longer run lists its first ones and says so),
 * so that keeping them never adds to the figures set against the plan. */
#ifndef IPRO_CLI_EPOCH_HISTORY_H
#define IPRO_CLI_EPOCH_HISTORY_H

#include <stdint.h>

#include "frontend/json_writer.h"
#include "ir/error.h"
#include "ir/training_program.h"

#define IPRO_CLI_HISTORY_MAX_EPOCHS 10000
#define IPRO_CLI_HISTORY_MAX_LOSSES (IPRO_MAX_MODULES * IPRO_MAX_LOSS_TERMS)
#define IPRO_CLI_HISTORY_NAME_BYTES 48

typedef struct {
  int64_t epoch; /* 1-based */
  double loss, test_accuracy, test_loss, learning_rate, seconds;
  double local_losses[IPRO_CLI_HISTORY_MAX_LOSSES];
} ipro_cli_epoch_record;

typedef struct {
  ipro_cli_epoch_record *records;
  int64_t n, capacity;
  int64_t left_out; /* epochs run beyond the capacity */
  int n_local;
  char local_names[IPRO_CLI_HISTORY_MAX_LOSSES][IPRO_CLI_HISTORY_NAME_BYTES];
} ipro_cli_epoch_history;

/* Room for `epochs` records (capped as above); 0 epochs allocates nothing. */
ipro_status ipro_cli_epoch_history_reserve(ipro_cli_epoch_history *history, int64_t epochs,
                                           ipro_error *err);
/* Adds one epoch; the local losses' names are taken from the first (they do not change). Never
 * allocates: past the capacity the epoch is counted in left_out. */
void ipro_cli_epoch_history_add(ipro_cli_epoch_history *history,
                                const ipro_cli_epoch_record *record, const char *const *local_names,
                                int n_local);
/* The "history" array (and "history_left_out" when epochs did not fit). */
void ipro_cli_epoch_history_json(const ipro_cli_epoch_history *history, ipro_json_writer *w);
void ipro_cli_epoch_history_free(ipro_cli_epoch_history *history);

#endif
