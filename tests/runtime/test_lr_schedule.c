/* The learning-rate schedules give, step by step, what their formulas written out here
 * independently give: constant, cosine to zero per step, step decay at milestone epochs, each
 * with and without linear per-step warm-up; plus a few values worked out by hand, and the
 * settings check. */
#include <math.h>
#include <string.h>

#include "runtime/lr_schedule.h"
#include "support/check.h"

#define PI 3.14159265358979323846

/* The expected rate, written from the definitions rather than from lr_schedule.c: warm-up as a
 * fraction of the steps taken, cosine as a half wave over the post-warm-up steps, step decay by
 * counting the milestones that have passed. */
static double expected(const ipro_lr_schedule *s, int64_t step, int64_t per_epoch, int64_t epochs) {
  double warm = (double)(s->warmup_epochs * per_epoch);
  bool warming = (double)step < warm;
  double warm_factor = warming ? (double)(step + 1) / warm : 1.0;
  switch (s->kind) {
  case IPRO_SCHEDULE_CONSTANT: return s->base_rate * warm_factor;
  case IPRO_SCHEDULE_COSINE: {
    if (warming) return s->base_rate * warm_factor;
    double total = (double)(epochs * per_epoch) - warm;
    double angle = PI * ((double)step - warm) / total;
    return s->base_rate * (cos(angle) + 1) / 2;
  }
  case IPRO_SCHEDULE_STEP: {
    double rate = s->base_rate;
    for (int i = 0; i < s->n_milestones; i++)
      if ((double)step >= (double)(s->milestones[i] * per_epoch)) rate *= s->gamma;
    return rate * warm_factor;
  }
  }
  return NAN;
}

static void compare_all(const char *what, const ipro_lr_schedule *s, int64_t per_epoch,
                        int64_t epochs) {
  int bad = 0;
  for (int64_t step = 0; step < per_epoch * epochs; step++) {
    double want = expected(s, step, per_epoch, epochs);
    float got = ipro_lr_at(s, step, per_epoch, epochs);
    if (!(fabs((double)got - want) <= 1e-7 * fabs(want) + 1e-12)) { /* a NaN is never near */
      if (bad++ < 3)
        CHECK_MSG(false, "%s: step %lld gives %.9g, expected %.9g", what, (long long)step,
                  (double)got, want);
    }
  }
  CHECK_MSG(bad == 0, "%s: %d steps differ", what, bad);
}

static void hand_values(void) {
  /* 10 steps per epoch, 5 epochs, base 0.1. */
  ipro_lr_schedule cosine = {.kind = IPRO_SCHEDULE_COSINE, .base_rate = 0.1};
  CHECK(ipro_lr_at(&cosine, 0, 10, 5) == 0.1f);
  CHECK(fabsf(ipro_lr_at(&cosine, 25, 10, 5) - 0.05f) < 1e-8f); /* half way: cos(pi/2) = 0 */
  CHECK(ipro_lr_at(&cosine, 50, 10, 5) < 1e-12f);               /* the end: 0 */
  CHECK(ipro_lr_at(&cosine, 49, 10, 5) > 0);                    /* the last step is not 0 */

  /* One warm-up epoch: 0.01, 0.02, ..., 0.1, then the cosine starts from the top. */
  ipro_lr_schedule warm = cosine;
  warm.warmup_epochs = 1;
  CHECK(fabsf(ipro_lr_at(&warm, 0, 10, 5) - 0.01f) < 1e-9f);
  CHECK(fabsf(ipro_lr_at(&warm, 4, 10, 5) - 0.05f) < 1e-9f);
  CHECK(ipro_lr_at(&warm, 9, 10, 5) == 0.1f);
  CHECK(ipro_lr_at(&warm, 10, 10, 5) == 0.1f);
  CHECK(fabsf(ipro_lr_at(&warm, 30, 10, 5) - 0.05f) < 1e-8f); /* half of the 40 cosine steps */

  /* Step decay at epochs 2 and 4 by 0.1. */
  ipro_lr_schedule step = {.kind = IPRO_SCHEDULE_STEP,
                           .base_rate = 0.1,
                           .gamma = 0.1,
                           .n_milestones = 2,
                           .milestones = {2, 4}};
  CHECK(ipro_lr_at(&step, 19, 10, 5) == 0.1f);
  CHECK(fabsf(ipro_lr_at(&step, 20, 10, 5) - 0.01f) < 1e-10f);
  CHECK(fabsf(ipro_lr_at(&step, 39, 10, 5) - 0.01f) < 1e-10f);
  CHECK(fabsf(ipro_lr_at(&step, 40, 10, 5) - 0.001f) < 1e-11f);

  ipro_lr_schedule constant = {.kind = IPRO_SCHEDULE_CONSTANT, .base_rate = 0.25};
  CHECK(ipro_lr_at(&constant, 0, 7, 3) == 0.25f && ipro_lr_at(&constant, 20, 7, 3) == 0.25f);
}

static void formulas(void) {
  const int64_t per_epoch[] = {1, 7, 390};
  for (int p = 0; p < 3; p++)
    for (int64_t warmup = 0; warmup <= 2; warmup++) {
      ipro_lr_schedule s = {.base_rate = 0.1,
                            .warmup_epochs = warmup,
                            .gamma = 0.2,
                            .n_milestones = 2,
                            .milestones = {3, 5}};
      char what[96];
      for (int kind = IPRO_SCHEDULE_CONSTANT; kind <= IPRO_SCHEDULE_STEP; kind++) {
        s.kind = (ipro_schedule_kind)kind;
        snprintf(what, sizeof what, "%s, %lld steps/epoch, warm-up %lld",
                 ipro_schedule_kind_name(s.kind), (long long)per_epoch[p], (long long)warmup);
        compare_all(what, &s, per_epoch[p], 6);
      }
    }
}

static void names_and_checks(void) {
  ipro_error err = {{0}};
  ipro_schedule_kind kind = IPRO_SCHEDULE_CONSTANT;
  CHECK(ipro_schedule_kind_parse("step", &kind, &err) == IPRO_OK && kind == IPRO_SCHEDULE_STEP);
  CHECK(ipro_schedule_kind_parse("cosine", &kind, &err) == IPRO_OK && kind == IPRO_SCHEDULE_COSINE);
  CHECK(ipro_schedule_kind_parse("linear", &kind, &err) == IPRO_ERROR &&
        strstr(err.message, "linear"));
  CHECK(strcmp(ipro_schedule_kind_name(IPRO_SCHEDULE_CONSTANT), "constant") == 0);

  ipro_lr_schedule s = {.kind = IPRO_SCHEDULE_STEP,
                        .base_rate = 0.1,
                        .gamma = 0.1,
                        .n_milestones = 2,
                        .milestones = {2, 4}};
  CHECK_OK(ipro_lr_schedule_check(&s, 5, &err), &err);
  CHECK(ipro_lr_schedule_check(&s, 4, &err) == IPRO_ERROR); /* milestone 4 is past the run */
  s.milestones[1] = 2;
  CHECK(ipro_lr_schedule_check(&s, 5, &err) == IPRO_ERROR); /* not increasing */
  s.milestones[1] = 4;
  s.warmup_epochs = 5;
  CHECK(ipro_lr_schedule_check(&s, 5, &err) == IPRO_ERROR); /* warm-up is the whole run */
  s.warmup_epochs = 0;
  s.base_rate = INFINITY;
  CHECK(ipro_lr_schedule_check(&s, 5, &err) == IPRO_ERROR);
  s.base_rate = 1e30; /* huge but finite: allowed (the divergence test trains with it) */
  CHECK_OK(ipro_lr_schedule_check(&s, 5, &err), &err);
}

int main(void) {
  hand_values();
  formulas();
  names_and_checks();
  return ipro_test_finish();
}
