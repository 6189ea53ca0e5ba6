/* `infopro train MODEL.onnx --data SPEC ...`: end-to-end training of a classifier on a dataset's
 * training split, with the test split scored after every epoch.
 *
 * The training step is compiled once (runtime/trainer.h) for a fixed batch, so the last partial
 * training batch of an epoch is dropped. The test runs on inference executors built once
 * (evaluation.h) whose parameters are copied from the trainer by name before each evaluation.
 * The learning rate of every step comes from runtime/lr_schedule.h, and the batches of every
 * epoch depend only on (seed, epoch), so --resume continues bit for bit: the checkpoint
 * (runtime/checkpoint.h) restores parameters, BatchNorm statistics and optimizer moments, and the
 * step count that Dropout masks and AdamW's bias correction depend on.
 *
 * Settings on --resume: options given on the command line win, the rest come from the
 * checkpoint; the batch size and the optimizer must match it, since the compiled program and the
 * saved state depend on them.
 *
 * Augmentation: on by default for CIFAR (random crop with 4 pixels of zero padding, horizontal
 * flip: the usual recipe); off by default for MNIST and Fashion-MNIST, whose 28x28 images are
 * centred and size-normalised, so shifts of up to 4 pixels (a seventh of the image) mostly cut
 * signal away, and mirrored digits are other symbols. --augment turns the CIFAR recipe on for
 * any dataset.
 *
 * A loss that is not finite stops training at once (exit status 1) and leaves the last
 * checkpoint and the --out file as they were. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "evaluation.h"
#include "frontend/cost.h"
#include "frontend/onnx_export.h"
#include "local_options.h"
#include "progress.h"
#include "runtime/checkpoint.h"

static const char usage[] =
    "usage: infopro train MODEL.onnx --data SPEC [options]\n"
    "  --data SPEC             training and test data: fashion-mnist[:DIR], mnist:DIR,\n"
    "                          cifar10:DIR or cifar100:DIR\n"
    "  --epochs E              epochs to train (default 5)\n"
    "  --batch B               training batch size; a last partial batch is dropped (default 128)\n"
    "  --lr LR                 peak learning rate (default 0.1 for sgd, 0.001 for adamw)\n"
    "  --schedule KIND         cosine (to 0 at the end, per step), step (x gamma at milestone\n"
    "                          epochs) or constant (default cosine)\n"
    "  --warmup-epochs W       linear warm-up per step over the first W epochs (default 0)\n"
    "  --gamma G               step schedule factor (default 0.1)\n"
    "  --milestones E1,E2,..   step schedule epochs (default: half and three quarters of E)\n"
    "  --optimizer KIND        sgd or adamw (default sgd)\n"
    "  --momentum M            sgd momentum (default 0.9)\n"
    "  --weight-decay WD       sgd L2 / adamw decoupled weight decay (default 1e-4 / 1e-2)\n"
    "  --no-nesterov           plain momentum instead of Nesterov's\n"
    "  --seed S                shuffling and augmentation seed (default 0)\n"
    "  --limit N               train on the first N training images only\n"
    "  --augment, --no-augment random crop (padding 4) and horizontal flip (default: on for\n"
    "                          CIFAR, off for MNIST and Fashion-MNIST)\n"
    "  --test-limit N          test on the first N test images only (default: all)\n"
    "  --eval-batch N          images per forward pass when testing (default 256, as in eval)\n"
    "  --log-every N           steps between progress lines when stdout is not a terminal\n"
    "                          (default: about ten per epoch)\n"
    "  --out TRAINED.onnx      write the model with its trained weights at the end\n"
    "  --checkpoint DIR        write DIR/checkpoint.ipck at the end of every epoch\n"
    "  --resume                continue from DIR/checkpoint.ipck at the next epoch; options not\n"
    "                          given take the checkpoint's values\n"
    "  --reference             run the plain C reference kernels instead of oneDNN\n"
    "  --device cpu|cuda       where to train: the CPU (oneDNN, the default) or an NVIDIA GPU\n"
    "Defaults follow the InfoPro paper's recipe: SGD, momentum 0.9, Nesterov, weight decay 1e-4,\n"
    "cosine schedule. After every epoch the test split is scored; a loss that is not finite\n"
    "stops training with exit status 1, leaving the last checkpoint and --out untouched.\n";

/* Which options the command line set, so that --resume takes the others from the checkpoint. */
typedef struct {
  bool epochs, batch, lr, schedule, warmup, gamma, milestones, optimizer, momentum, weight_decay,
      nesterov, seed, limit, augment;
} given_options;

typedef struct {
  const char *model, *data, *out, *checkpoint;
  int64_t epochs, batch, eval_batch, limit, test_limit, log_every, warmup;
  double lr, momentum, weight_decay, gamma;
  int n_milestones;
  int64_t milestones[IPRO_SCHEDULE_MAX_MILESTONES];
  ipro_schedule_kind schedule;
  ipro_optimizer_kind optimizer;
  bool nesterov, augment, resume, reference;
  ipro_device device;
  uint64_t seed;
  given_options given;
  ipro_cli_local_options local;
} train_options;

/* ---- arguments ---- */

static int parse_double(const char *flag, const char *text, double low, bool low_inclusive,
                        double *out) {
  char *end = NULL;
  errno = 0;
  double value = text ? strtod(text, &end) : NAN;
  if (!text || errno || end == text || *end || !isfinite(value) ||
      (low_inclusive ? value < low : value <= low)) {
    fprintf(stderr, "infopro train: %s expects a %s number, got '%s'\n", flag,
            low_inclusive ? "non-negative" : "positive", text ? text : "nothing");
    return 0;
  }
  *out = value;
  return 1;
}

static int parse_count(const char *flag, const char *text, int64_t *out) {
  if (text && strcmp(text, "0") == 0) {
    *out = 0;
    return 1;
  }
  return ipro_cli_parse_positive(flag, text, out);
}

static int parse_milestones(const char *text, train_options *o) {
  o->n_milestones = 0;
  const char *p = text ? text : "";
  for (;;) {
    char *end = NULL;
    errno = 0;
    long long value = strtoll(p, &end, 10);
    if (errno || end == p || value <= 0 || o->n_milestones == IPRO_SCHEDULE_MAX_MILESTONES ||
        (*end != ',' && *end != '\0')) {
      fprintf(stderr,
              "infopro train: --milestones expects up to %d comma-separated positive epochs, "
              "got '%s'\n",
              IPRO_SCHEDULE_MAX_MILESTONES, text ? text : "");
      return 0;
    }
    o->milestones[o->n_milestones++] = value;
    if (*end == '\0') return 1;
    p = end + 1;
  }
}

static int usage_error(const char *message, const char *argument) {
  fprintf(stderr, "infopro train: %s '%s'\n%s", message, argument, usage);
  return 2;
}

/* Returns -1 to go on, or the exit status. */
static int parse(int argc, char **argv, train_options *o) {
  *o = (train_options){.epochs = 5,
                       .batch = 128,
                       .eval_batch = 256,
                       .schedule = IPRO_SCHEDULE_COSINE,
                       .optimizer = IPRO_OPTIMIZER_SGD,
                       .gamma = 0.1,
                       .nesterov = true};
  given_options *g = &o->given;
  ipro_cli_local_defaults(&o->local);
  for (int i = 0; i < argc; i++) {
    int local = ipro_cli_local_option(argc, argv, &i, &o->local);
    if (local == 2) return 2;
    if (local == 1) continue;
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int ok = 1;
    if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      fputs("local training (InfoPro):\n", stdout);
      fputs(ipro_cli_local_usage, stdout);
      return 0;
    } else if (strcmp(a, "--reference") == 0) {
      o->reference = true;
    } else if (strcmp(a, "--device") == 0 && v) {
      if (!ipro_cli_parse_device(v, &o->device)) return 2;
      i++;
    } else if (strcmp(a, "--resume") == 0) {
      o->resume = true;
    } else if (strcmp(a, "--no-nesterov") == 0) {
      o->nesterov = false, g->nesterov = true;
    } else if (strcmp(a, "--augment") == 0 || strcmp(a, "--no-augment") == 0) {
      o->augment = a[2] == 'a', g->augment = true;
    } else if (a[0] == '-' && !v) {
      return usage_error("missing value after", a);
    } else if (strcmp(a, "--data") == 0) {
      o->data = argv[++i];
    } else if (strcmp(a, "--out") == 0) {
      o->out = argv[++i];
    } else if (strcmp(a, "--checkpoint") == 0) {
      o->checkpoint = argv[++i];
    } else if (strcmp(a, "--epochs") == 0) {
      ok = ipro_cli_parse_positive(a, argv[++i], &o->epochs), g->epochs = true;
    } else if (strcmp(a, "--batch") == 0) {
      ok = ipro_cli_parse_positive(a, argv[++i], &o->batch), g->batch = true;
    } else if (strcmp(a, "--eval-batch") == 0) {
      ok = ipro_cli_parse_positive(a, argv[++i], &o->eval_batch);
    } else if (strcmp(a, "--limit") == 0) {
      ok = ipro_cli_parse_positive(a, argv[++i], &o->limit), g->limit = true;
    } else if (strcmp(a, "--test-limit") == 0) {
      ok = ipro_cli_parse_positive(a, argv[++i], &o->test_limit);
    } else if (strcmp(a, "--log-every") == 0) {
      ok = ipro_cli_parse_positive(a, argv[++i], &o->log_every);
    } else if (strcmp(a, "--warmup-epochs") == 0) {
      ok = parse_count(a, argv[++i], &o->warmup), g->warmup = true;
    } else if (strcmp(a, "--seed") == 0) {
      int64_t seed = 0;
      ok = parse_count(a, argv[++i], &seed), o->seed = (uint64_t)seed, g->seed = true;
    } else if (strcmp(a, "--lr") == 0) {
      ok = parse_double(a, argv[++i], 0, false, &o->lr), g->lr = true;
    } else if (strcmp(a, "--gamma") == 0) {
      ok = parse_double(a, argv[++i], 0, false, &o->gamma), g->gamma = true;
    } else if (strcmp(a, "--momentum") == 0) {
      ok = parse_double(a, argv[++i], 0, true, &o->momentum), g->momentum = true;
    } else if (strcmp(a, "--weight-decay") == 0) {
      ok = parse_double(a, argv[++i], 0, true, &o->weight_decay), g->weight_decay = true;
    } else if (strcmp(a, "--milestones") == 0) {
      ok = parse_milestones(argv[++i], o), g->milestones = true;
    } else if (strcmp(a, "--schedule") == 0) {
      ipro_error err;
      ok = ipro_schedule_kind_parse(argv[++i], &o->schedule, &err) == IPRO_OK, g->schedule = true;
      if (!ok) fprintf(stderr, "infopro train: %s\n", err.message);
    } else if (strcmp(a, "--optimizer") == 0) {
      const char *kind = argv[++i];
      ok = strcmp(kind, "sgd") == 0 || strcmp(kind, "adamw") == 0, g->optimizer = true;
      o->optimizer = strcmp(kind, "adamw") == 0 ? IPRO_OPTIMIZER_ADAMW : IPRO_OPTIMIZER_SGD;
      if (!ok) fprintf(stderr, "infopro train: unknown optimizer '%s' (sgd or adamw)\n", kind);
    } else if (a[0] != '-' && !o->model) {
      o->model = a;
    } else {
      return usage_error("unexpected argument", a);
    }
    if (!ok) return 2;
  }
  if (!o->model || !o->data) {
    fputs(usage, stderr);
    return 2;
  }
  if (o->resume && !o->checkpoint) {
    fprintf(stderr, "infopro train: --resume needs --checkpoint DIR\n");
    return 2;
  }
  if (g->momentum && o->momentum >= 1) {
    fprintf(stderr, "infopro train: --momentum must be below 1, got %g\n", o->momentum);
    return 2;
  }
  return -1;
}

/* ---- settings ---- */

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

/* The position a fresh run starts from, out of the command line. */
static ipro_training_position fresh_position(const train_options *o, ipro_dataset_kind kind) {
  ipro_training_position p = {
      .total_epochs = o->epochs, .seed = o->seed, .batch = o->batch, .limit = o->limit};
  bool cifar = kind == IPRO_DATASET_CIFAR10 || kind == IPRO_DATASET_CIFAR100;
  bool augment = o->given.augment ? o->augment : cifar;
  p.crop_padding = augment ? 4 : 0;
  p.flip = augment;
  p.optimizer = ipro_optimizer_defaults(o->optimizer);
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
static ipro_status resumed_position(const train_options *o, const ipro_training_position *saved,
                                    const char *path, ipro_training_position *p, ipro_error *err) {
  const given_options *g = &o->given;
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
  if (g->augment) p->crop_padding = o->augment ? 4 : 0, p->flip = o->augment;
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

/* ---- the run ---- */

typedef struct {
  const train_options *options;
  ipro_training_position position;
  ipro_dataset train_data, test_data;
  ipro_backend *eval_backend, *eval_fallback;
  ipro_cli_evaluator evaluator;
  ipro_trainer *trainer;
  ipro_batch_loader *loader;
  int64_t steps_per_epoch, start_epoch;
  char checkpoint_path[4096];
  double test_accuracy;
  /* local training: the chosen cuts (names in the network), and the plan's figures */
  int K;
  char cut_names[IPRO_MAX_MODULES][512];
  const char *cuts[IPRO_MAX_MODULES];
  uint64_t planned_peak, e2e_peak;
  ipro_head_choice heads[IPRO_MAX_MODULES]; /* of each local module, as the plan chose them */
  int n_heads;
} train_run;

static ipro_status read_from_trainer(void *context, const char *name, void *host, size_t bytes,
                                     ipro_error *err) {
  return ipro_trainer_read(context, name, host, bytes, err);
}

/* onnx_export's callback: the trained value of every initializer a module's program holds. */
static ipro_status export_value(void *context, const char *name, ipro_dtype dtype,
                                const int64_t *dims, int rank, void *out, size_t bytes,
                                ipro_error *err) {
  ipro_trainer *trainer = context;
  for (int k = 0; k < ipro_trainer_module_count(trainer); k++) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, k);
    int t = ipro_graph_find_tensor(graph, name);
    const ipro_forward_program *program =
        ipro_executor_program(ipro_trainer_module_executor(trainer, k));
    if (t < 0 || graph->tensors[t].kind != IPRO_TENSOR_INITIALIZER ||
        program->slots[t].kind != IPRO_SLOT_PARAMETER)
      continue;
    const ipro_tensor *tensor = &graph->tensors[t];
    bool same = tensor->dtype == dtype && tensor->shape.rank == rank;
    for (int d = 0; same && d < rank; d++)
      same = tensor->shape.dims[d] == dims[d];
    if (!same) return ipro_error_set(err, "initializer '%s' changed shape during training", name);
    return ipro_trainer_read(trainer, name, out, bytes, err);
  }
  return IPRO_EXPORT_KEEP;
}

/* The --out file is written at the very end; a folder that is not there should be found out
 * before training, not after. */
static ipro_status check_writable(const char *path, ipro_error *err) {
  char folder[4096];
  snprintf(folder, sizeof folder, "%s", path);
  char *slash = strrchr(folder, '/');
  if (!slash)
    snprintf(folder, sizeof folder, ".");
  else if (slash == folder)
    folder[1] = '\0';
  else
    *slash = '\0';
  if (access(folder, W_OK) != 0)
    return ipro_error_set(err, "cannot write '%s': folder '%s': %s", path, folder, strerror(errno));
  return IPRO_OK;
}

static ipro_status open_data(train_run *r, ipro_error *err) {
  ipro_dataset_spec spec;
  if (ipro_dataset_parse_spec(r->options->data, &spec, err) != IPRO_OK ||
      ipro_dataset_load(&spec, IPRO_SPLIT_TRAIN, &r->train_data, err) != IPRO_OK ||
      ipro_dataset_load(&spec, IPRO_SPLIT_TEST, &r->test_data, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* The heads' settings for this dataset: image channels and normalisation (the decoder's target
 * undoes it), and the number of classes. */
static ipro_local_settings local_settings(const train_run *r, int64_t batch) {
  ipro_local_settings s = r->options->local.local;
  s.batch = batch;
  s.optimizer = r->position.optimizer.kind;
  s.heads.image_channels = r->train_data.channels;
  for (int c = 0; c < r->train_data.channels && c < 4; c++) {
    s.heads.mean[c] = r->train_data.mean[c];
    s.heads.std[c] = r->train_data.std[c];
  }
  s.heads.classes = r->train_data.num_classes;
  s.heads.seed = r->position.seed + 1;
  s.n_module_heads = r->n_heads;
  memcpy(s.module_heads, r->heads, sizeof r->heads);
  return s;
}

/* With -K, --budget, --cuts or --plan: the split, chosen on the memory the modules' programs
 * really need (runtime/module_costing.h), and the end-to-end peak for comparison. */
static ipro_status choose_split(train_run *r, ipro_error *err) {
  const ipro_cli_local_options *l = &r->options->local;
  r->K = 1;
  if (!l->K && !l->budget_bytes && !l->cuts_text && !l->plan_path) return IPRO_OK;
  int64_t batch = r->position.batch;
  ipro_graph *network = NULL;
  if (ipro_graph_open(r->options->model, batch, &network, err) != IPRO_OK) return IPRO_ERROR;
  int *cut_points = malloc(sizeof(int) * (size_t)(network->n_nodes + 1));
  int n_cut_points = cut_points ? ipro_graph_find_cut_points(network, cut_points) : 0;
  ipro_local_settings settings = local_settings(r, batch);
  ipro_module_costing *costing = NULL;
  ipro_status status = cut_points ? IPRO_OK : ipro_error_set(err, "out of memory");
  if (status == IPRO_OK)
    status =
        ipro_module_costing_create_on(network, cut_points, n_cut_points, &settings,
                                      r->options->device, r->options->reference, &costing, err);
  ipro_cli_split split;
  const char *why = NULL;
  if (status == IPRO_OK)
    status =
        ipro_cli_choose_split(network, l, costing, cut_points, n_cut_points, &split, &why, err);
  ipro_split e2e;
  int e2e_boundaries[2] = {0, n_cut_points + 1};
  if (status == IPRO_OK)
    status = ipro_split_evaluate(n_cut_points, 1, e2e_boundaries,
                                 ipro_module_costing_fixed_bytes(costing), ipro_module_costing_cost,
                                 costing, &e2e, err);
  if (status == IPRO_OK) {
    if (why) printf("note: %s\n", why);
    r->K = split.K;
    for (int k = 0; k + 1 < split.K; k++) {
      snprintf(r->cut_names[k], sizeof r->cut_names[k], "%s", network->tensors[split.cuts[k]].name);
      r->cuts[k] = r->cut_names[k];
    }
    r->planned_peak = split.split.peak_bytes;
    r->e2e_peak = e2e.peak_bytes;
    r->n_heads = split.K - 1;
    memcpy(r->heads, split.heads, sizeof r->heads);
  }
  ipro_module_costing_free(costing);
  free(cut_points);
  ipro_graph_free(network);
  return status;
}

/* Settings, backends, evaluator, trainer, checkpoint, loader — in that order, so that a wrong
 * model or dataset is reported before anything is compiled. */
static ipro_status prepare(train_run *r, ipro_error *err) {
  const train_options *o = r->options;
  ipro_checkpoint saved = {0};
  if (o->checkpoint)
    ipro_checkpoint_path(o->checkpoint, r->checkpoint_path, sizeof r->checkpoint_path);
  if (o->resume) {
    if (ipro_checkpoint_read(r->checkpoint_path, &saved, err) != IPRO_OK) return IPRO_ERROR;
    if (resumed_position(o, &saved.position, r->checkpoint_path, &r->position, err) != IPRO_OK) {
      ipro_checkpoint_release(&saved);
      return IPRO_ERROR;
    }
  }
  ipro_status status = IPRO_OK;
  if (o->checkpoint) status = ipro_checkpoint_prepare_directory(o->checkpoint, err);
  if (status == IPRO_OK && o->out) status = check_writable(o->out, err);
  if (status == IPRO_OK) status = open_data(r, err);
  if (status == IPRO_OK && !o->resume) r->position = fresh_position(o, r->train_data.kind);
  if (status == IPRO_OK)
    status = ipro_lr_schedule_check(&r->position.schedule, r->position.total_epochs, err);
  if (status == IPRO_OK)
    status =
        ipro_cli_create_backend(o->device, o->reference, &r->eval_backend, &r->eval_fallback, err);
  if (status == IPRO_OK)
    status = ipro_cli_evaluator_open(o->model, &r->test_data, o->eval_batch, o->test_limit,
                                     r->eval_backend, r->eval_fallback, &r->evaluator, err);
  if (status == IPRO_OK) status = choose_split(r, err);
  ipro_trainer_options trainer_options = {.batch = r->position.batch,
                                          .optimizer = r->position.optimizer,
                                          .reference = o->reference,
                                          .device = o->device,
                                          .n_cuts = r->K - 1,
                                          .cuts = r->cuts,
                                          .local = local_settings(r, r->position.batch)};
  if (status == IPRO_OK) status = ipro_trainer_create(o->model, &trainer_options, &r->trainer, err);
  if (status == IPRO_OK && o->resume) {
    status = ipro_checkpoint_restore(r->trainer, &saved, r->checkpoint_path, err);
    r->start_epoch = r->position.epochs_done;
    ipro_trainer_set_steps(r->trainer, r->position.steps_done);
  }
  ipro_checkpoint_release(&saved);
  ipro_batch_options batches = {.batch_size = r->position.batch,
                                .seed = r->position.seed,
                                .shuffle = true,
                                .limit = r->position.limit,
                                .drop_last = true,
                                .crop_padding = r->position.crop_padding,
                                .flip = r->position.flip,
                                .background = true};
  if (status == IPRO_OK)
    status = ipro_batch_loader_create(&r->train_data, &batches, &r->loader, err);
  if (status == IPRO_OK) r->steps_per_epoch = ipro_batch_loader_batches_per_epoch(r->loader);
  if (status == IPRO_OK && r->steps_per_epoch == 0)
    status =
        ipro_error_set(err, "%lld training images make no full batch of %lld",
                       (long long)(r->position.limit ? r->position.limit : r->train_data.count),
                       (long long)r->position.batch);
  return status;
}

static void print_header(const train_run *r) {
  const ipro_training_position *p = &r->position;
  int64_t images = p->limit && p->limit < r->train_data.count ? p->limit : r->train_data.count;
  printf("training %s on %s: %lld training images, %lld steps of %lld per epoch (%lld dropped); "
         "%lld test images\n",
         r->options->model, ipro_dataset_kind_name(r->train_data.kind), (long long)images,
         (long long)r->steps_per_epoch, (long long)p->batch,
         (long long)(images - r->steps_per_epoch * p->batch), (long long)r->evaluator.count);
  const ipro_optimizer_settings *opt = &p->optimizer;
  if (opt->kind == IPRO_OPTIMIZER_SGD)
    printf("sgd momentum %g%s weight decay %g", opt->momentum, opt->nesterov ? " nesterov" : "",
           opt->weight_decay);
  else
    printf("adamw betas %g,%g eps %g weight decay %g", opt->beta1, opt->beta2, opt->epsilon,
           opt->weight_decay);
  const ipro_lr_schedule *s = &p->schedule;
  printf("; lr %g %s", s->base_rate, ipro_schedule_kind_name(s->kind));
  if (s->kind == IPRO_SCHEDULE_STEP) {
    printf(" (x%g at epoch", s->gamma);
    for (int i = 0; i < s->n_milestones; i++)
      printf("%s%lld", i ? "," : " ", (long long)s->milestones[i]);
    printf(")");
  }
  if (s->warmup_epochs) printf(", %lld warm-up epoch(s)", (long long)s->warmup_epochs);
  if (p->crop_padding || p->flip)
    printf("; augmentation crop %d%s", p->crop_padding, p->flip ? " + flip" : "");
  else
    printf("; no augmentation");
  printf("; seed %llu; %s\n", (unsigned long long)p->seed,
         r->options->reference ? "reference kernels" : r->eval_backend->name);
  if (r->K > 1) {
    printf("InfoPro local training: K = %d, cut at", r->K);
    for (int k = 0; k + 1 < r->K; k++)
      printf("%s %s", k ? "," : "", r->cuts[k]);
    printf("; planned peak %llu bytes (end-to-end %llu, %.1f%% less)\n",
           (unsigned long long)r->planned_peak, (unsigned long long)r->e2e_peak,
           100.0 * (1.0 - (double)r->planned_peak / (double)r->e2e_peak));
    printf("heads:");
    for (int k = 0; k < r->n_heads; k++)
      printf("%s module %d %dc%df, %s decoder", k ? ";" : "", k + 1, r->heads[k].convs,
             r->heads[k].fcs, ipro_decoder_name(r->heads[k].decoder));
    printf("\n");
  }
  if (r->options->resume)
    printf("resuming from %s after epoch %lld (step %llu)\n", r->checkpoint_path,
           (long long)p->epochs_done, (unsigned long long)p->steps_done);
  fflush(stdout);
}

static ipro_status diverged(train_run *r, int64_t epoch, const char *what, int64_t step,
                            double value, float learning_rate, ipro_error *err) {
  char where[64] = "";
  if (step > 0)
    snprintf(where, sizeof where, ", step %lld/%lld", (long long)step,
             (long long)r->steps_per_epoch);
  char kept[4200] = "";
  if (r->options->checkpoint)
    snprintf(kept, sizeof kept, "; %s is left as it was", r->checkpoint_path);
  return ipro_error_set(err,
                        "training diverged at epoch %lld%s: the %s is %s (not finite) with "
                        "learning rate %g; stopping without writing a checkpoint or the trained "
                        "model%s",
                        (long long)epoch + 1, where, what,
                        isnan(value) ? "NaN"
                        : value > 0  ? "+infinity"
                                     : "-infinity",
                        (double)learning_rate, kept);
}

/* One epoch of training steps, then the test; prints the epoch's line. */
static ipro_status run_epoch(train_run *r, int64_t epoch, bool terminal, ipro_error *err) {
  const ipro_training_position *p = &r->position;
  double start = ipro_progress_now(), loss_sum = 0;
  ipro_progress progress;
  ipro_progress_begin(&progress, stdout, terminal, epoch + 1, p->total_epochs, r->steps_per_epoch,
                      p->batch, r->options->log_every);
  if (ipro_batch_loader_start_epoch(r->loader, epoch, err) != IPRO_OK) return IPRO_ERROR;
  const ipro_batch *batch = NULL;
  int64_t done = 0;
  float learning_rate = 0;
  enum { MAX_LOSSES = IPRO_MAX_MODULES * IPRO_MAX_LOSS_TERMS };
  double local_sums[MAX_LOSSES] = {0};
  float local[MAX_LOSSES];
  const char *local_names[MAX_LOSSES];
  int n_local = 0;
  ipro_status status;
  while ((status = ipro_batch_loader_next(r->loader, &batch, err)) == IPRO_OK && batch) {
    learning_rate = ipro_lr_at(&p->schedule, epoch * r->steps_per_epoch + done, r->steps_per_epoch,
                               p->total_epochs);
    float loss = 0;
    if (ipro_trainer_step(r->trainer, batch->images, batch->labels, learning_rate, &loss, err) !=
        IPRO_OK) {
      ipro_progress_end(&progress);
      return IPRO_ERROR;
    }
    done++;
    n_local = ipro_trainer_losses(r->trainer, local, local_names, MAX_LOSSES);
    for (int l = 0; l < n_local; l++) {
      if (!isfinite(local[l])) {
        ipro_progress_end(&progress);
        return diverged(r, epoch, local_names[l], done, local[l], learning_rate, err);
      }
      local_sums[l] += local[l];
    }
    if (!isfinite(loss)) {
      ipro_progress_end(&progress);
      return diverged(r, epoch, "training loss", done, loss, learning_rate, err);
    }
    loss_sum += loss;
    ipro_progress_update(&progress, done, loss_sum / (double)done, learning_rate);
  }
  ipro_progress_end(&progress);
  if (status != IPRO_OK) return IPRO_ERROR;

  ipro_cli_eval_totals totals;
  if (ipro_cli_evaluator_copy_parameters(&r->evaluator, read_from_trainer, r->trainer, err) !=
          IPRO_OK ||
      ipro_cli_evaluator_run(&r->evaluator, &totals, err) != IPRO_OK)
    return IPRO_ERROR;
  double test_loss = totals.cross_entropy_sum / (double)totals.seen;
  if (!isfinite(test_loss))
    return diverged(r, epoch, "test loss", 0, test_loss, learning_rate, err);
  r->test_accuracy = (double)totals.correct / (double)totals.seen;
  printf("epoch %lld/%lld  loss %.4f  test accuracy %.4f  test loss %.4f  %.1f s\n",
         (long long)epoch + 1, (long long)p->total_epochs, loss_sum / (double)done,
         r->test_accuracy, test_loss, ipro_progress_now() - start);
  if (r->K > 1) {
    printf("  local losses (epoch means):");
    for (int l = 0; l < n_local; l++)
      printf("%s %s %.4f", l ? "," : "", local_names[l], local_sums[l] / (double)done);
    printf("\n");
  }
  fflush(stdout);
  return IPRO_OK;
}

static ipro_status train(train_run *r, ipro_error *err) {
  bool terminal = isatty(fileno(stdout));
  double start = ipro_progress_now();
  int64_t epochs_run = 0;
  for (int64_t epoch = r->start_epoch; epoch < r->position.total_epochs; epoch++) {
    if (run_epoch(r, epoch, terminal, err) != IPRO_OK) return IPRO_ERROR;
    epochs_run++;
    r->position.epochs_done = epoch + 1;
    r->position.steps_done = ipro_trainer_steps(r->trainer);
    if (r->options->checkpoint &&
        ipro_checkpoint_save(r->options->checkpoint, r->trainer, &r->position, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  if (epochs_run == 0) {
    /* Resumed at the end: score the restored parameters for the final line. */
    ipro_cli_eval_totals totals;
    if (ipro_cli_evaluator_copy_parameters(&r->evaluator, read_from_trainer, r->trainer, err) !=
            IPRO_OK ||
        ipro_cli_evaluator_run(&r->evaluator, &totals, err) != IPRO_OK)
      return IPRO_ERROR;
    r->test_accuracy = (double)totals.correct / (double)totals.seen;
  }
  double seconds = ipro_progress_now() - start;
  if (r->options->out && ipro_onnx_export_initializers(r->options->model, r->options->out,
                                                       export_value, r->trainer, err) != IPRO_OK)
    return IPRO_ERROR;
  size_t planned = ipro_trainer_planned_bytes(r->trainer);
  printf("trained %lld epochs in %.1f s: test accuracy %.4f, peak bytes %zu (planned %zu); "
         "test executors %zu (planned %zu)\n",
         (long long)epochs_run, seconds, r->test_accuracy, ipro_trainer_allocated_bytes(r->trainer),
         planned, r->eval_backend->peak_bytes, ipro_cli_evaluator_planned_bytes(&r->evaluator));
  if (r->K > 1)
    printf("memory: planned peak %zu bytes, measured %zu bytes, end-to-end %llu bytes "
           "(%.1f%% less with K = %d)\n",
           planned, ipro_trainer_allocated_bytes(r->trainer), (unsigned long long)r->e2e_peak,
           100.0 * (1.0 - (double)planned / (double)r->e2e_peak), r->K);
  if (r->options->out) printf("wrote %s\n", r->options->out);
  return IPRO_OK;
}

static void release(train_run *r) {
  ipro_batch_loader_destroy(r->loader);
  ipro_trainer_free(r->trainer);
  ipro_cli_evaluator_close(&r->evaluator);
  if (r->eval_backend) r->eval_backend->destroy(r->eval_backend);
  if (r->eval_fallback) r->eval_fallback->destroy(r->eval_fallback);
  ipro_dataset_free(&r->test_data);
  ipro_dataset_free(&r->train_data);
}

int ipro_cli_train(int argc, char **argv) {
  train_options o;
  int parsed = parse(argc, argv, &o);
  if (parsed >= 0) return parsed;
  ipro_error err = {{0}};
  train_run r = {.options = &o};
  ipro_status status = prepare(&r, &err);
  if (status == IPRO_OK) {
    print_header(&r);
    status = train(&r, &err);
  }
  release(&r);
  return status == IPRO_OK ? 0 : ipro_cli_fail(err.message);
}
