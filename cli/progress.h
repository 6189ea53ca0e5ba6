/* Training progress for `infopro train`. On a terminal: one line rewritten in place (carriage
 * return, clear to end of line) at most ten times a second, showing the epoch, steps done, the
 * running mean loss, images per second and the epoch's remaining time; it is erased before the
 * epoch's summary line. Elsewhere (a log file, a pipe): a plain line every `log_every` steps
 * and at the epoch's last step, so logs stay readable and short. */
#ifndef IPRO_CLI_PROGRESS_H
#define IPRO_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  FILE *out;
  bool terminal;
  int64_t epoch, epochs; /* 1-based epoch for display */
  int64_t steps, log_every, batch;
  double start, last_draw;
  bool drawn;
} ipro_progress;

/* Seconds on a monotonic clock. */
double ipro_progress_now(void);
/* Seconds since this process was started (exec), from the kernel's record of its start time
 * (/proc/self/stat) at clock-tick resolution; -1 when unknown. */
double ipro_progress_since_exec(void);

/* Starts an epoch of `steps` steps of `batch` images. log_every <= 0 picks about ten lines per
 * epoch. */
void ipro_progress_begin(ipro_progress *p, FILE *out, bool terminal, int64_t epoch, int64_t epochs,
                         int64_t steps, int64_t batch, int64_t log_every);
/* After step `done` (1-based) with the epoch's mean loss so far and the step's learning rate. */
void ipro_progress_update(ipro_progress *p, int64_t done, double mean_loss, double learning_rate);
/* Erases the in-place line, if any. */
void ipro_progress_end(ipro_progress *p);

#endif
