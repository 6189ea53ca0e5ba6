/* The learning-rate schedules of lr_schedule.h. */
#include "lr_schedule.h"

#include <math.h>
#include <string.h>

/* M_PI is not in strict C11/POSIX. */
static const double pi = 3.14159265358979323846;

static const char *const kind_names[] = {"constant", "cosine", "step"};

const char *ipro_schedule_kind_name(ipro_schedule_kind kind) {
  return kind >= IPRO_SCHEDULE_CONSTANT && kind <= IPRO_SCHEDULE_STEP ? kind_names[kind] : "?";
}

ipro_status ipro_schedule_kind_parse(const char *text, ipro_schedule_kind *out, ipro_error *err) {
  for (int k = IPRO_SCHEDULE_CONSTANT; k <= IPRO_SCHEDULE_STEP; k++)
    if (strcmp(text, kind_names[k]) == 0) {
      *out = (ipro_schedule_kind)k;
      return IPRO_OK;
    }
  return ipro_error_set(err,
                        "unknown learning-rate schedule '%s' (expected cosine, step or "
                        "constant)",
                        text);
}

ipro_status ipro_lr_schedule_check(const ipro_lr_schedule *s, int64_t total_epochs,
                                   ipro_error *err) {
  if (!(s->base_rate > 0) || !isfinite(s->base_rate))
    return ipro_error_set(err, "the learning rate must be a positive finite number, not %g",
                          s->base_rate);
  if (total_epochs <= 0)
    return ipro_error_set(err, "the number of epochs must be positive, not %lld",
                          (long long)total_epochs);
  if (s->warmup_epochs < 0 || s->warmup_epochs >= total_epochs)
    return ipro_error_set(err, "%lld warm-up epoch(s) leave nothing of a %lld-epoch run",
                          (long long)s->warmup_epochs, (long long)total_epochs);
  if (s->kind != IPRO_SCHEDULE_STEP) return IPRO_OK;
  if (!(s->gamma > 0) || !isfinite(s->gamma))
    return ipro_error_set(err, "the step schedule's gamma must be positive, not %g", s->gamma);
  if (s->n_milestones < 0 || s->n_milestones > IPRO_SCHEDULE_MAX_MILESTONES)
    return ipro_error_set(err, "the step schedule takes at most %d milestones",
                          IPRO_SCHEDULE_MAX_MILESTONES);
  for (int i = 0; i < s->n_milestones; i++)
    if (s->milestones[i] <= 0 || s->milestones[i] >= total_epochs ||
        (i > 0 && s->milestones[i] <= s->milestones[i - 1]))
      return ipro_error_set(err,
                            "step-schedule milestones must be increasing epochs between 1 and "
                            "%lld; got %lld",
                            (long long)(total_epochs - 1), (long long)s->milestones[i]);
  return IPRO_OK;
}

float ipro_lr_at(const ipro_lr_schedule *s, int64_t step, int64_t steps_per_epoch,
                 int64_t total_epochs) {
  int64_t warmup_steps = s->warmup_epochs * steps_per_epoch;
  double factor = 1.0;
  if (step < warmup_steps) factor = (double)(step + 1) / (double)warmup_steps;
  switch (s->kind) {
  case IPRO_SCHEDULE_CONSTANT: break;
  case IPRO_SCHEDULE_COSINE: {
    if (step < warmup_steps) break;
    double span = (double)(total_epochs * steps_per_epoch - warmup_steps);
    double progress = span > 0 ? (double)(step - warmup_steps) / span : 1.0;
    if (progress > 1) progress = 1;
    factor = 0.5 * (1.0 + cos(pi * progress));
    break;
  }
  case IPRO_SCHEDULE_STEP: {
    int64_t epoch = step / steps_per_epoch;
    for (int i = 0; i < s->n_milestones; i++)
      if (epoch >= s->milestones[i]) factor *= s->gamma;
    break;
  }
  }
  return (float)(s->base_rate * factor);
}
