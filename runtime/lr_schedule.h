/* Learning-rate schedules for the trainer loop: the learning rate of every training step as a pure
 * function of (step, steps per epoch, total epochs, settings), so a run resumed at any step uses
 * exactly the rates an uninterrupted run would have used.
 *
 * With S steps per epoch, E epochs, W warm-up epochs and base rate r:
 *   warm-up (step s < W*S):  r * (s + 1) / (W*S), rising linearly per step and reaching r at the
 *                            last warm-up step (so the first step never has rate 0);
 *   constant:                r;
 *   cosine:                  r * (1 + cos(pi * t / T)) / 2 with t = s - W*S and T = E*S - W*S,
 *                            per step, falling to 0 at the end of training (t = T);
 *   step:                    r * gamma^k, k the number of milestones m with epoch(s) >= m,
 *                            epoch(s) = floor(s / S) counted from 0 (PyTorch's MultiStepLR
 *                            stepped once per epoch).
 * For the step schedule the warm-up factor multiplies the milestone rate; for cosine the decay
 * starts where the warm-up ends. Rates are computed in double and rounded to float once. */
#ifndef IPRO_LR_SCHEDULE_H
#define IPRO_LR_SCHEDULE_H

#include <stdint.h>

#include "ir/error.h"

typedef enum {
  IPRO_SCHEDULE_CONSTANT,
  IPRO_SCHEDULE_COSINE,
  IPRO_SCHEDULE_STEP
} ipro_schedule_kind;

#define IPRO_SCHEDULE_MAX_MILESTONES 8

typedef struct {
  ipro_schedule_kind kind;
  double base_rate;
  int64_t warmup_epochs;
  double gamma;     /* step: the factor at each milestone */
  int n_milestones; /* step: epochs, increasing */
  int64_t milestones[IPRO_SCHEDULE_MAX_MILESTONES];
} ipro_lr_schedule;

/* "constant", "cosine", "step". */
const char *ipro_schedule_kind_name(ipro_schedule_kind kind);
/* Parses one of the names above; IPRO_ERROR with a message listing them otherwise. */
ipro_status ipro_schedule_kind_parse(const char *text, ipro_schedule_kind *out, ipro_error *err);

/* Checks the settings against a run of total_epochs: a positive finite base rate, warm-up below
 * the total, positive gamma, milestones increasing and inside the run. */
ipro_status ipro_lr_schedule_check(const ipro_lr_schedule *schedule, int64_t total_epochs,
                                   ipro_error *err);

/* The rate for step `step` (0-based, counted over the whole run). steps_per_epoch and
 * total_epochs must be positive. Steps past the end keep the last formula's value (cosine: 0). */
float ipro_lr_at(const ipro_lr_schedule *schedule, int64_t step, int64_t steps_per_epoch,
                 int64_t total_epochs);

#endif
