/* A training run's starting position (train_position.h). */
#include "train_position.h"

#include <string.h>

static const char *optimizer_name(ipro_optimizer_kind kind) {
  return kind == IPRO_OPTIMIZER_ADAMW ? "adamw" : "sgd";
}

/* Half and three quarters of the run, the usual step-schedule milestones. */
static void default_milestones(int64_t epochs, ipro_lr_schedule *s) {
  int64_t candidates[2] = {epochs / 2, epochs * 3 / 4};
  s->n_milestones = 0;
  for (int i = 0; i < 2; i++)
    if (candidates[i] >= 1 && candidates[i] < epochs &&
        (s->n_milestones == 0 || candidates[i] > s->milestones[s->n_milestones - 1]))
      s->milestones[s->n_milestones++] = candidates[i];
}

/* --augment's meaning for this data: for image folders random-resized-crop and flip (their
 * training images are then kept uncropped), for the others a crop with 4 pixels of padding and
 * flip. */
static void set_augmentation(ipro_training_position *p, bool augment, const char *data) {
  ipro_dataset_spec spec;
  ipro_error ignored;
  bool folder = ipro_dataset_parse_spec(data, &spec, &ignored) == IPRO_OK &&
                spec.kind == IPRO_DATASET_IMAGEFOLDER;
  p->crop_padding = augment && !folder ? 4 : 0;
  p->flip = augment;
  p->random_resized_crop = augment && folder;
}

/* The position a fresh run starts from, out of the command line. */
ipro_training_position ipro_cli_train_fresh_position(const ipro_cli_train_options *o,
                                                     ipro_dataset_kind kind) {
  ipro_training_position p = {
      .total_epochs = o->epochs, .seed = o->seed, .batch = o->batch, .limit = o->limit};
  bool cifar = kind == IPRO_DATASET_CIFAR10 || kind == IPRO_DATASET_CIFAR100;
  set_augmentation(&p, o->given.augment ? o->augment : cifar, o->data);
  p.optimizer = o->program ? o->program->optimizer : ipro_optimizer_defaults(o->optimizer);
  if (o->given.momentum) p.optimizer.momentum = (float)o->momentum;
  if (o->given.weight_decay) p.optimizer.weight_decay = (float)o->weight_decay;
  if (o->given.nesterov) p.optimizer.nesterov = o->nesterov;
  ipro_lr_schedule *s = &p.schedule;
  s->kind = o->schedule;
  s->base_rate = o->given.lr ? o->lr : o->optimizer == IPRO_OPTIMIZER_ADAMW ? 1e-3 : 0.1;
  s->warmup_epochs = o->warmup;
  s->gamma = o->gamma;
  if (o->given.milestones) {
    s->n_milestones = o->n_milestones;
    memcpy(s->milestones, o->milestones, sizeof s->milestones);
  } else if (s->kind == IPRO_SCHEDULE_STEP) {
    default_milestones(o->epochs, s);
  }
  return p;
}

/* The checkpoint's position with the options the command line gave laid over it. */
ipro_status ipro_cli_train_resumed_position(const ipro_cli_train_options *o,
                                            const ipro_training_position *saved, const char *path,
                                            ipro_training_position *p, ipro_error *err) {
  const ipro_cli_train_given *g = &o->given;
  if (g->batch && o->batch != saved->batch)
    return ipro_error_set(err,
                          "--batch %lld differs from the batch of %s (%lld): the program and "
                          "the batches depend on it",
                          (long long)o->batch, path, (long long)saved->batch);
  if (g->optimizer && o->optimizer != saved->optimizer.kind)
    return ipro_error_set(err, "--optimizer %s differs from the optimizer of %s (%s)",
                          optimizer_name(o->optimizer), path,
                          optimizer_name(saved->optimizer.kind));
  *p = *saved;
  if (g->epochs) p->total_epochs = o->epochs;
  if (g->seed) p->seed = o->seed;
  if (g->limit) p->limit = o->limit;
  if (g->augment) set_augmentation(p, o->augment, o->data);
  if (g->momentum) p->optimizer.momentum = (float)o->momentum;
  if (g->weight_decay) p->optimizer.weight_decay = (float)o->weight_decay;
  if (g->nesterov) p->optimizer.nesterov = o->nesterov;
  ipro_lr_schedule *s = &p->schedule;
  if (g->schedule) s->kind = o->schedule;
  if (g->lr) s->base_rate = o->lr;
  if (g->warmup) s->warmup_epochs = o->warmup;
  if (g->gamma) s->gamma = o->gamma;
  if (g->milestones) {
    s->n_milestones = o->n_milestones;
    memcpy(s->milestones, o->milestones, sizeof s->milestones);
  } else if (s->kind != IPRO_SCHEDULE_STEP) {
    s->n_milestones = 0;
  } else if (g->epochs || g->schedule) {
    default_milestones(p->total_epochs, s);
  }
  return IPRO_OK;
}
