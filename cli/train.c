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
 * Settings on --resume: options given on the command line win, the rest of the position come
 * from the checkpoint; the batch size and the optimizer must match it, since the compiled program
 * and the saved state depend on them. The split into local modules and its heads come from the
 * checkpoint (version 3) when no -K, --cuts, --plan or --budget is given; a split given, or a
 * compiled program's, must be the checkpoint's (cuts and each module's heads), or the run is
 * refused saying which differs. A checkpoint of version 1 or 2 records no split: it must be given
 * again, as it was before.
 *
 * Augmentation: on by default for CIFAR (random crop with 4 pixels of zero padding, horizontal
 * flip: the usual recipe); off by default for MNIST and Fashion-MNIST, whose 28x28 images are
 * centred and size-normalised, so shifts of up to 4 pixels (a seventh of the image) mostly cut
 * signal away, and mirrored digits are other symbols. --augment turns the CIFAR recipe on for
 * any dataset but image folders, where it means the ImageNet recipe instead: random-resized-crop
 * and flip, for which the training images are kept uncropped (runtime/batch_loader.h).
 *
 * A loss that is not finite stops training at once (exit status 1) and leaves the last
 * checkpoint and the --out file as they were. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "class_mapping.h"
#include "commands.h"
#include "data_source.h"
#include "epoch_history.h"
#include "evaluation.h"
#include "finite_number.h"
#include "finite_parameters.h"
#include "frontend/cost.h"
#include "frontend/onnx_export.h"
#include "ir/atomic_file.h"
#include "ir/printable.h"
#include "json_stdout.h"
#include "local_options.h"
#include "memory_report.h"
#include "normalization_options.h"
#include "output_file.h"
#include "output_paths.h"
#include "pipeline_report.h"
#include "progress.h"
#include "runtime/checkpoint.h"
#include "runtime/mpi/pipeline.h"
#include "runtime/process_memory.h"
#include "runtime/program_file.h"
#include "runtime/program_source.h"
#include "silenced_stderr.h"
#include "train_model.h"
#include "version.h"

/* Under --resume in train's usage; a compiled program's runner, whose split is fixed, leaves it
 * out of its own. */
#define RESUME_SPLIT_NOTE                                                                          \
  "                          (and, without -K, --cuts, --plan or --budget, the checkpoint's\n"     \
  "                          split and heads; one given must be the checkpoint's)\n"

static const char usage[] =
    "usage: infopro train MODEL.onnx --data SPEC [options]\n"
    "  --data SPEC             training and test data: fashion-mnist[:DIR], mnist:DIR,\n"
    "                          cifar10:DIR, cifar100:DIR, imagefolder:DIR (DIR/train/CLASS/*.png\n"
    "                          or .jpg, DIR/val/CLASS/...) or npz:FILE (x_train, y_train,\n"
    "                          x_test, y_test)\n"
    "  --strict                an unreadable image in an image folder is an error (default: it\n"
    "                          is skipped with a warning)\n"
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
    "  --mean m1,.., --std s1,..  per-channel normalisation, (x/255 - mean) / std, of the\n"
    "                          training and test images (default: the dataset's usual values)\n"
    "  --augment, --no-augment random crop (padding 4) and horizontal flip; for image folders\n"
    "                          random-resized-crop (scale 0.08-1, ratio 3/4-4/3) and flip\n"
    "                          (default: on for CIFAR, off for the others)\n"
    "  --test-limit N          test on the first N test images only (default: all)\n"
    "  --eval-batch N          images per forward pass when testing (default 256, as in eval)\n"
    "  --log-every N           steps between progress lines when stdout is not a terminal\n"
    "                          (default: about ten per epoch)\n"
    "  --out TRAINED.onnx      write the model with its trained weights at the end (weights in\n"
    "                          TRAINED.onnx.data when the model came with external data or\n"
    "                          would pass 2 GB)\n"
    "  --out-inference FILE    also write it in inference form (BatchNormalization on the\n"
    "                          trained running statistics, training-only outputs and Dropout's\n"
    "                          training mode removed), as `infopro export --inference` does\n"
    "  --json FILE             write the run's results and memory figures as JSON (- for stdout)\n"
    "  --checkpoint DIR        write DIR/checkpoint.ipck at the end of every epoch\n"
    "  --resume                continue from DIR/checkpoint.ipck at the next epoch; --epochs,\n"
    "                          --batch, --lr and the other schedule options, the optimizer's\n"
    "                          options, --seed, --limit and --augment not given take the\n"
    "                          checkpoint's values\n" RESUME_SPLIT_NOTE
    "  --reference             run the plain C reference kernels instead of oneDNN\n"
    "  --device cpu|cuda       where to train: the CPU (oneDNN, the default) or an NVIDIA GPU\n"
    "Defaults follow the InfoPro paper's recipe: SGD, momentum 0.9, Nesterov, weight decay 1e-4,\n"
    "cosine schedule. After every epoch the test split is scored; a loss that is not finite\n"
    "stops training with exit status 1, leaving the last checkpoint and --out untouched.\n";

/* Across processes (`infopro train`; a compiled program's runner says it its own way). */
static const char usage_mpi[] =
    "Started by mpirun -np K (K the plan's modules), rank r trains module r+1 as a pipeline\n"
    "stage; rank 0 reads the data, prints, and writes --out and the checkpoint.\n"
    "mpirun -np K*R runs R data-parallel replicas of the pipeline: rank w trains module\n"
    "w%K+1 on its 1/R of every --batch (the global batch), gradients averaged over replicas.\n"
    "With fewer processes than modules, each rank trains a stage of consecutive modules,\n"
    "grouped so that the slowest stage's work is the least (its measured step time with a\n"
    "--plan made with --calibrate, else its FLOPs):\n"
    "  --stages S              S stages (mpirun -np S, or -np S*R for R replicas)\n"
    "  --stages N1,N2,..       stages of N1, N2, .. modules, in order (summing to K)\n";

/* Which options the command line set, so that --resume takes the others from the checkpoint. */
typedef struct {
  bool epochs, batch, lr, schedule, warmup, gamma, milestones, optimizer, momentum, weight_decay,
      nesterov, seed, limit, augment;
} given_options;

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
  given_options given;
  ipro_cli_local_options local;
  ipro_cli_normalization normalization;
  /* --stages (under mpirun): S, or the modules of each stage (n_stage_sizes of them); 0 and 0
   * when not given */
  int stages, n_stage_sizes;
  int stage_sizes[IPRO_MAX_MODULES];
  const ipro_program *program; /* a compiled program's runner (DIR/train); NULL for train */
  FILE *json_stdout; /* --json -: the original standard output, the log on stderr (json_stdout.h) */
} train_options;

/* ---- arguments ---- */

static int parse_double(const char *flag, const char *text, double low, bool low_inclusive,
                        double *out) {
  double value = 0;
  if (!ipro_cli_parse_finite(text, &value) || (low_inclusive ? value < low : value <= low)) {
    fprintf(stderr, "infopro train: %s expects a %s number (finite, at most 3.4e38), got '%s'\n",
            flag, low_inclusive ? "non-negative" : "positive", text ? text : "nothing");
    return 0;
  }
  *out = value;
  return 1;
}

/* Reads "a,b,c": positive integers of at most max_value, at most max_count of them, into values
 * (*count of them); false on anything else. */
static bool read_positive_list(const char *text, int64_t max_value, int max_count, int64_t *values,
                               int *count) {
  *count = 0;
  const char *p = text ? text : "";
  for (;;) {
    char *end = NULL;
    errno = 0;
    long long value = strtoll(p, &end, 10);
    if (errno || end == p || value <= 0 || value > max_value || *count == max_count ||
        (*end != ',' && *end != '\0'))
      return false;
    values[(*count)++] = value;
    if (*end == '\0') return true;
    p = end + 1;
  }
}

static int parse_milestones(const char *text, train_options *o) {
  if (!read_positive_list(text, INT64_MAX, IPRO_SCHEDULE_MAX_MILESTONES, o->milestones,
                          &o->n_milestones)) {
    fprintf(stderr,
            "infopro train: --milestones expects up to %d comma-separated positive epochs, "
            "got '%s'\n",
            IPRO_SCHEDULE_MAX_MILESTONES, text ? text : "");
    return 0;
  }
  /* the schedule applies them in order; one given twice or out of order is a slip */
  for (int m = 1; m < o->n_milestones; m++)
    if (o->milestones[m] <= o->milestones[m - 1]) {
      fprintf(stderr,
              "infopro train: --milestones expects increasing epochs, each given once, got "
              "'%s'\n",
              text);
      return 0;
    }
  return 1;
}

/* --stages S or --stages N1,N2,..: only under mpirun (checked after the value, so that a
 * malformed one is said the same way everywhere). */
static int parse_stages(const char *text, const ipro_program *program, train_options *o) {
  const char *name = program ? "train" : "infopro train";
  int64_t values[IPRO_MAX_MODULES];
  int n = 0;
  if (!read_positive_list(text, IPRO_MAX_MODULES, IPRO_MAX_MODULES, values, &n)) {
    fprintf(stderr,
            "%s: --stages expects a count of stages, or the modules of each stage separated by "
            "commas (each 1 to %d), got '%s'\n",
            name, IPRO_MAX_MODULES, text);
    return 0;
  }
  if (!ipro_pipeline_launched()) {
    fprintf(stderr,
            "%s: --stages groups the plan's modules over the processes of mpirun; this run is "
            "one process, which trains them all\n",
            name);
    return 0;
  }
  o->stages = n == 1 ? (int)values[0] : n;
  o->n_stage_sizes = n == 1 ? 0 : n;
  for (int i = 0; i < o->n_stage_sizes; i++)
    o->stage_sizes[i] = (int)values[i];
  return 1;
}

/* What a compiled program's runner says about itself under --help (to stdout) and after a usage
 * error (to stderr). */
static void print_program_usage(const ipro_program *p, FILE *to) {
  char shown[IPRO_PRINTABLE_MAX]; /* a model-supplied name, escaped (ir/printable.h) */
  fprintf(to,
          "usage: train --data SPEC [options]\n"
          "A training program compiled by `infopro compile` from %s (SHA-256 %s):\n"
          "batch %lld, %s, ",
          ipro_printable(p->model_name, shown, sizeof shown), p->model_sha256, (long long)p->batch,
          ipro_device_name(p->device));
  if (p->local.K == 1)
    fprintf(to, "end to end (K = 1)");
  else
    fprintf(to, "K = %d, cut at", p->local.K);
  for (int k = 0; k + 1 < p->local.K; k++)
    fprintf(to, "%s %s (%dc%df, %s decoder)", k ? "," : "",
            ipro_printable(p->cuts[k], shown, sizeof shown), p->local.module_heads[k].convs,
            p->local.module_heads[k].fcs, ipro_decoder_name(p->local.module_heads[k].decoder));
  fprintf(to,
          "; optimizer %s; kernels for a %s CPU.\n"
          "It takes `infopro train`'s options that do not change the program, with the same\n"
          "meanings:\n",
          p->optimizer.kind == IPRO_OPTIMIZER_ADAMW ? "adamw" : "sgd", p->cpu);
  /* train's usage without its first line (the model) and without the options fixed here */
  const char *at = strchr(usage, '\n') + 1;
  while (*at) {
    const char *end = strchr(at, '\n');
    size_t length = end ? (size_t)(end - at) + 1 : strlen(at);
    bool fixed = strncmp(at, "  --batch", 9) == 0 || strncmp(at, "  --optimizer", 13) == 0 ||
                 strncmp(at, "  --reference", 13) == 0 || strncmp(at, "  --device", 10) == 0;
    if (strncmp(at, RESUME_SPLIT_NOTE, strlen(RESUME_SPLIT_NOTE)) == 0)
      length = strlen(RESUME_SPLIT_NOTE);
    else if (!fixed)
      fwrite(at, 1, length, to);
    at += length;
  }
  fprintf(to,
          "Started by mpirun -np %d, rank r trains module r+1 as a pipeline stage (the MPI plugin\n"
          "beside it is loaded then); rank 0 reads the data, prints, and writes --out and the\n"
          "checkpoint. With fewer processes each rank trains a stage of consecutive modules,\n"
          "grouped by their %s (or --stages S | N1,N2,..). Its modules were lowered for\n"
          "the whole batch: it runs no data-parallel replicas, one process per stage.\n",
          p->local.K, p->work_is_time ? "measured step times" : "FLOPs per step");
}

/* train's options that take a value: one of them given last lacks it, any other is unknown. */
static const char *const value_options[] = {"--data",
                                            "--out",
                                            "--out-inference",
                                            "--json",
                                            "--checkpoint",
                                            "--epochs",
                                            "--batch",
                                            "--eval-batch",
                                            "--limit",
                                            "--test-limit",
                                            "--log-every",
                                            "--seed",
                                            "--lr",
                                            "--warmup-epochs",
                                            "--gamma",
                                            "--momentum",
                                            "--weight-decay",
                                            "--milestones",
                                            "--schedule",
                                            "--optimizer",
                                            "--device",
                                            "--stages",
                                            NULL};

/* A usage error: the compiled runner names itself and shows its own usage, not infopro train's. */
static int refuse_argument(const ipro_program *program, const char *argument, bool last) {
  if (!program)
    return ipro_cli_refuse_argument("infopro train", argument, last, value_options, usage);
  ipro_cli_refuse_argument("train", argument, last, value_options, NULL);
  print_program_usage(program, stderr);
  return 2;
}

static int missing_argument(const ipro_program *program, const char *what) {
  if (!program) return ipro_cli_missing_argument("infopro train", what, usage);
  ipro_cli_missing_argument("train", what, NULL);
  print_program_usage(program, stderr);
  return 2;
}

/* The options a compiled program fixed: giving one to its runner is a usage error. They are the
 * split and head options (the same list their parser takes) and these four of train's own. */
static bool fixed_by_program(const char *flag) {
  static const char *const fixed[] = {"--batch", "--optimizer", "--reference", "--device"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (strcmp(flag, fixed[i]) == 0) return true;
  return ipro_cli_is_local_option(flag);
}

/* The name of the program (in messages) that runs this: infopro train, or a compiled program's
 * runner. */
static const char *command_name(const train_options *o) {
  return o->program ? "train" : "infopro train";
}

/* A milestone at or after the run's last epoch would never lower the rate (the rate drops from
 * the epoch after it): such a --milestones is a slip, refused rather than ignored. whose: what
 * the epoch count comes from, when not --epochs. */
static int refuse_unreachable_milestones(const train_options *o, int64_t total_epochs,
                                         const char *whose) {
  if (!o->given.milestones || o->milestones[o->n_milestones - 1] < total_epochs) return 0;
  if (total_epochs == 1) { /* "give milestones below 1" asked for what cannot be */
    fprintf(stderr,
            "%s: --milestones has no epoch to change the rate at in a one-epoch run (a "
            "milestone must lie below the run's epochs); leave it out or give more --epochs\n",
            command_name(o));
    return 2;
  }
  fprintf(stderr,
          "%s: --milestones epoch %lld is not below the run's %lld epochs%s, so it would never "
          "apply; give milestones below %lld\n",
          command_name(o), (long long)o->milestones[o->n_milestones - 1], (long long)total_epochs,
          whose, (long long)total_epochs);
  return 2;
}

/* Warm-up epochs that take the whole run leave no epoch at the peak rate: the schedule refused
 * them once the data was read, exit status 1 and no option named; they are a usage error before
 * any work, naming both options. whose: what the epoch count comes from, when not --epochs. */
static int refuse_warmup_taking_the_run(const train_options *o, int64_t warmup,
                                        int64_t total_epochs, const char *whose) {
  if (warmup < total_epochs) return 0;
  fprintf(stderr,
          "%s: --warmup-epochs %lld leaves nothing of the run's %lld epoch(s)%s; give fewer "
          "warm-up epochs than --epochs\n",
          command_name(o), (long long)warmup, (long long)total_epochs, whose);
  return 2;
}

/* Options that set what the run does not use were once ignored without a word: --momentum and
 * --no-nesterov are SGD's (AdamW's moments have their own fixed betas), --gamma and --milestones
 * the step schedule's. Each is a usage error naming the optimizer or schedule that makes it
 * moot, whether given (--optimizer, --schedule), fixed by a compiled program, taken from the
 * checkpoint resumed (from_checkpoint) or the default. */
static int refuse_options_without_effect(const train_options *o, ipro_optimizer_kind optimizer,
                                         ipro_schedule_kind schedule, bool from_checkpoint) {
  const given_options *g = &o->given;
  const char *sgd_only = g->momentum ? "--momentum" : g->nesterov ? "--no-nesterov" : NULL;
  const char *step_only = g->gamma ? "--gamma" : g->milestones ? "--milestones" : NULL;
  if (sgd_only && optimizer == IPRO_OPTIMIZER_ADAMW) {
    fprintf(stderr,
            "%s: %s has no effect with %s: it sets SGD's momentum, and AdamW's moments use "
            "their own betas; leave it out%s\n",
            command_name(o), sgd_only,
            g->optimizer      ? "--optimizer adamw"
            : o->program      ? "this program's optimizer, adamw"
            : from_checkpoint ? "the checkpoint's optimizer, adamw"
                              : "adamw",
            o->program         ? " (or compile the model again with --optimizer sgd)"
            : !from_checkpoint ? " or train with --optimizer sgd"
                               : "");
    return 2;
  }
  if (step_only && schedule != IPRO_SCHEDULE_STEP) {
    char whose[64];
    snprintf(whose, sizeof whose, "%s%s",
             g->schedule       ? "--schedule "
             : from_checkpoint ? "the checkpoint's schedule, "
                               : "the default schedule, ",
             ipro_schedule_kind_name(schedule));
    fprintf(stderr, "%s: %s has no effect with %s: %s; leave it out or give --schedule step\n",
            command_name(o), step_only, whose,
            g->gamma ? "it is the step schedule's factor" : "they are the step schedule's epochs");
    return 2;
  }
  return 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse(int argc, char **argv, const ipro_program *program, const char *model_path,
                 train_options *o) {
  *o = (train_options){.epochs = 5,
                       .batch = 128,
                       .eval_batch = 256,
                       .schedule = IPRO_SCHEDULE_COSINE,
                       .optimizer = IPRO_OPTIMIZER_SGD,
                       .gamma = 0.1,
                       .nesterov = true};
  given_options *g = &o->given;
  ipro_cli_local_defaults(&o->local);
  if (program) {
    o->program = program;
    o->model = model_path;
    o->batch = program->batch;
    o->optimizer = program->optimizer.kind;
    o->device = program->device;
    o->local.local = program->local;
  }
  for (int i = 0; i < argc; i++) {
    if (program && strcmp(argv[i], "--help") == 0) {
      print_program_usage(program, stdout);
      return 0;
    }
    if (program && fixed_by_program(argv[i])) {
      fprintf(stderr,
              "train: %s was fixed when this program was compiled (see --help); compile the "
              "model again with infopro compile to change it\n",
              argv[i]);
      return 2;
    }
    int shared = ipro_cli_training_option("train", argc, argv, &i, &o->local, &o->normalization);
    if (shared == 2) return 2;
    if (shared == 1) continue;
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int ok = 1;
    if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      fputs(usage_mpi, stdout);
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
    } else if (strcmp(a, "--strict") == 0) {
      o->strict = true;
    } else if (strcmp(a, "--no-nesterov") == 0) {
      o->nesterov = false, g->nesterov = true;
    } else if (strcmp(a, "--augment") == 0 || strcmp(a, "--no-augment") == 0) {
      o->augment = a[2] == 'a', g->augment = true;
    } else if (a[0] == '-' && !v) {
      return refuse_argument(program, a, true);
    } else if (strcmp(a, "--data") == 0) {
      o->data = argv[++i];
    } else if (strcmp(a, "--out") == 0) {
      o->out = argv[++i];
    } else if (strcmp(a, "--out-inference") == 0) {
      o->out_inference = argv[++i];
    } else if (strcmp(a, "--json") == 0) {
      o->json = argv[++i];
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
      ok = ipro_cli_parse_count(a, argv[++i], &o->warmup), g->warmup = true;
    } else if (strcmp(a, "--seed") == 0) {
      int64_t seed = 0;
      ok = ipro_cli_parse_count(a, argv[++i], &seed), o->seed = (uint64_t)seed, g->seed = true;
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
    } else if (strcmp(a, "--stages") == 0) {
      ok = parse_stages(argv[++i], program, o);
    } else if (strcmp(a, "--optimizer") == 0) {
      const char *kind = argv[++i];
      ok = strcmp(kind, "sgd") == 0 || strcmp(kind, "adamw") == 0, g->optimizer = true;
      o->optimizer = strcmp(kind, "adamw") == 0 ? IPRO_OPTIMIZER_ADAMW : IPRO_OPTIMIZER_SGD;
      if (!ok) fprintf(stderr, "infopro train: unknown optimizer '%s' (sgd or adamw)\n", kind);
    } else if (a[0] != '-' && !o->model) {
      o->model = a;
    } else {
      return refuse_argument(program, a, false);
    }
    if (!ok) return 2;
  }
  if (!o->model) return missing_argument(program, "MODEL.onnx");
  if (!o->data) return missing_argument(program, "--data SPEC");
  if (ipro_cli_local_conflicts("train", &o->local, false)) return 2;
  if (o->resume && !o->checkpoint) {
    fprintf(stderr, "infopro train: --resume needs --checkpoint DIR\n");
    return 2;
  }
  if (g->momentum && o->momentum >= 1) {
    fprintf(stderr, "infopro train: --momentum must be below 1, got %g\n", o->momentum);
    return 2;
  }
  /* a resumed run's optimizer, schedule and epochs may be the checkpoint's: checked once it is
   * read (refuse_resume_with_nothing_to_train) */
  if (!o->resume && refuse_options_without_effect(o, o->optimizer, o->schedule, false)) return 2;
  if (!o->resume && refuse_warmup_taking_the_run(o, o->warmup, o->epochs, "")) return 2;
  if (!o->resume && refuse_unreachable_milestones(o, o->epochs, "")) return 2;
  /* --limit below --batch makes no complete batch, whatever the data (a larger split is cut to
   * it, a smaller one is smaller still): the batch loader said so once the data was read, exit
   * status 1, naming neither option */
  if (!o->resume && g->limit && o->limit < o->batch) {
    fprintf(stderr,
            "%s: --limit %lld leaves no complete batch of %lld (--batch); give a --limit of at "
            "least the batch, or a smaller --batch\n",
            command_name(o), (long long)o->limit, (long long)o->batch);
    return 2;
  }
  return -1;
}

/* TRAINED.onnx -> TRAINED.classes.txt, beside it. */
static void classes_path(const char *out, char *path, size_t size) {
  size_t length = strlen(out);
  if (length > 5 && !strcmp(out + length - 5, ".onnx")) length -= 5;
  snprintf(path, size, "%.*s.classes.txt", (int)length, out);
}

/* Every file the run writes (a model's weights file, frontend/onnx_export.h, and the classes
 * file only in some runs, but a name they may take is refused all the same) and, in a compiled
 * program's runner, the program's own files beside it and its model's side files (external data,
 * which the next start reads its weights from): no two may be the same file. The input model is
 * not among them: --out MODEL.onnx writes the trained weights back into it. */
static int refuse_clashing_files(const train_options *o) {
  ipro_cli_outputs *files = calloc(1, sizeof *files); /* 80 paths: not on the stack */
  char(*side_files)[512] = malloc(sizeof *side_files * IPRO_ONNX_MAX_SIDE_FILES);
  if (!files || !side_files) {
    free(files), free(side_files);
    fprintf(stderr, "%s: out of memory\n", command_name(o));
    return 1;
  }
  char path[4200];
  ipro_cli_outputs_add(files, "--out", o->out, false);
  if (o->out) {
    snprintf(path, sizeof path, "%s.data", o->out);
    ipro_cli_outputs_add(files, "the weights file written beside --out", path, false);
    classes_path(o->out, path, sizeof path);
    ipro_cli_outputs_add(files, "the classes file written beside --out", path, false);
  }
  ipro_cli_outputs_add(files, "--out-inference", o->out_inference, false);
  if (o->out_inference) {
    snprintf(path, sizeof path, "%s.data", o->out_inference);
    ipro_cli_outputs_add(files, "the weights file written beside --out-inference", path, false);
  }
  ipro_cli_outputs_add(files, "--json", o->json, false);
  if (o->checkpoint) {
    ipro_checkpoint_path(o->checkpoint, path, sizeof path);
    ipro_cli_outputs_add(files, "the checkpoint file of --checkpoint", path, false);
  }
  if (o->program) { /* the runner's model lies in its program's folder, its side files too */
    const char *slash = strrchr(o->model, '/');
    int folder = slash ? (int)(slash - o->model) : 1, count = 0;
    const char *model_folder = slash ? o->model : ".";
    for (int i = 0; i < IPRO_PROGRAM_FOLDER_FILE_COUNT; i++) {
      snprintf(path, sizeof path, "%.*s/%s", folder, model_folder, ipro_program_folder_files[i]);
      ipro_cli_outputs_add(files, "one of this program's own files", path, true);
    }
    /* the model's external data, copied into the folder by compile (read from the model in
     * memory; a model that cannot be read is reported where it is loaded) */
    ipro_error ignored = {{0}};
    if (ipro_onnx_side_files(o->model, side_files, IPRO_ONNX_MAX_SIDE_FILES, &count, &ignored))
      count = 0;
    for (int i = 0; i < count; i++) {
      snprintf(path, sizeof path, "%.*s/%s", folder, model_folder, side_files[i]);
      ipro_cli_outputs_add(files, "the weights file of this program's model", path, true);
    }
  }
  int status = ipro_cli_outputs_refuse_clashes(command_name(o), files);
  free(files), free(side_files);
  return status;
}

/* Without --resume a run starts at epoch 1 and its first checkpoint would replace the one DIR
 * holds, which may be of hours of training, or of another model: refused, as a usage error (the
 * command line asks for a fresh run where there is a run to continue), with what the checkpoint's
 * first bytes say of it. A checkpoint path that is not a file is left to the checks that report
 * an unwritable checkpoint. */
static int refuse_replacing_checkpoint(const train_options *o) {
  char path[4200];
  struct stat info;
  if (!o->checkpoint || o->resume) return 0;
  ipro_checkpoint_path(o->checkpoint, path, sizeof path);
  if (stat(path, &info) != 0 || !S_ISREG(info.st_mode)) return 0;
  ipro_training_position p;
  ipro_error err = {{0}};
  if (ipro_checkpoint_read_position(path, &p, &err) != IPRO_OK)
    fprintf(stderr,
            "%s: %s already holds %s, which is not a checkpoint this infopro reads (%s); remove "
            "it (or choose another folder) to start afresh\n",
            command_name(o), o->checkpoint, path, err.message);
  else
    fprintf(stderr,
            "%s: %s already holds a checkpoint (%s: after epoch %lld of %lld, step %llu, batch "
            "%lld, %s); give --resume to continue it, or remove it (or choose another folder) to "
            "start afresh\n",
            command_name(o), o->checkpoint, path, (long long)p.epochs_done,
            (long long)p.total_epochs, (unsigned long long)p.steps_done, (long long)p.batch,
            p.optimizer.kind == IPRO_OPTIMIZER_ADAMW ? "adamw" : "sgd");
  return 2;
}

/* On --resume, --epochs is the run's total, epochs done included (the checkpoint's own total
 * when not given): a total the checkpoint has already reached trains nothing, and once printed
 * "trained 0 epochs" and wrote --out all the same. Refused as a usage error before any work.
 * The milestones given are checked here too, against that total. A checkpoint that cannot be
 * read is left to the reading that reports it. */
static int refuse_resume_with_nothing_to_train(const train_options *o) {
  if (!o->resume) return 0;
  char path[4200];
  ipro_checkpoint_path(o->checkpoint, path, sizeof path);
  ipro_training_position p;
  ipro_error ignored = {{0}};
  if (ipro_checkpoint_read_position(path, &p, &ignored) != IPRO_OK) return 0;
  int64_t total = o->given.epochs ? o->epochs : p.total_epochs;
  if (total <= p.epochs_done) {
    if (o->given.epochs)
      fprintf(stderr,
              "%s: %s is after epoch %lld; --epochs %lld trains nothing more (on --resume it is "
              "the run's total, epochs done included); give --epochs above %lld\n",
              command_name(o), path, (long long)p.epochs_done, (long long)o->epochs,
              (long long)p.epochs_done);
    else
      fprintf(stderr,
              "%s: %s is after epoch %lld, the last of its %lld-epoch run: --resume trains "
              "nothing more; give --epochs above %lld (the run's total, epochs done included)\n",
              command_name(o), path, (long long)p.epochs_done, (long long)p.total_epochs,
              (long long)p.epochs_done);
    return 2;
  }
  if (refuse_options_without_effect(o, o->given.optimizer ? o->optimizer : p.optimizer.kind,
                                    o->given.schedule ? o->schedule : p.schedule.kind, true))
    return 2;
  if (refuse_warmup_taking_the_run(o, o->given.warmup ? o->warmup : p.schedule.warmup_epochs, total,
                                   o->given.epochs ? "" : " (the checkpoint's)"))
    return 2;
  return refuse_unreachable_milestones(o, total, o->given.epochs ? "" : " (the checkpoint's)");
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
static ipro_training_position fresh_position(const train_options *o, ipro_dataset_kind kind) {
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

/* ---- the run ---- */

/* The first tensor of a local module's head that a checkpoint holds (ir/local_settings.h), or
 * NULL: a checkpoint of a split run. */
static const char *saved_head_tensor(const ipro_checkpoint *c) {
  for (int i = 0; i < c->n_tensors; i++)
    if (ipro_is_head_tensor_name(c->tensors[i].name)) return c->tensors[i].name;
  return NULL;
}

typedef struct {
  const train_options *options;
  const ipro_cli_train_model *model; /* infopro train's; NULL in a compiled program's runner */
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
  /* under mpirun (runtime/mpi/pipeline.h): this rank's part of the pipeline, and on rank 0 every
   * rank's state, gathered after each epoch for the test, the checkpoint and --out */
  ipro_pipeline *pipeline;
  ipro_checkpoint gathered;
  /* prepare's agreement found a rank that failed (failed_rank, the lowest): prepare_pipeline says
   * it without meeting the others again */
  bool failure_agreed;
  int failed_rank;
  /* the plan's modules grouped into the pipeline's stages, and each module's work that balanced
   * them (ipro_cli_training_split's: measured nanoseconds or FLOPs per step; 0 where unknown) */
  ipro_pipeline_stages stages;
  ipro_cli_pipeline_report ranks; /* on rank 0 at the end: every rank's time and memory */
  ipro_cli_epoch_history history; /* --json: each epoch's figures (on rank 0) */
  uint64_t module_work[IPRO_MAX_MODULES];
  bool work_is_time;
  /* measured without reading the plan: from the start of the command, and while the trainer
   * exists (runtime/process_memory.h) */
  ipro_process_memory process, training;
  /* allocator bytes held by each once built (pipeline: its message buffers) */
  int64_t trainer_heap, test_pass_heap, pipeline_heap;
  uint64_t trainer_creation_peak; /* the allocator's peak while the trainer was built */
  uint64_t split_search_rss;      /* RssAnon growth while the split was searched */
  uint64_t split_search_held;     /* allocator bytes the search left held (memory_report.h) */
  /* The allocator's figures of what runs between epochs outside the training steps (a
   * checkpoint written; in a pipeline, every rank's state gathered on rank 0): the most those
   * held at once, and the process's peak then, over the training probe's baseline. */
  uint64_t between_epochs_held, between_epochs_peak;
  ipro_head_choice heads[IPRO_MAX_MODULES]; /* of each local module, as the plan chose them */
  int n_heads;
  /* The split and heads options in effect: the command line's, or on --resume without a split
   * the checkpoint's cuts (whole names: one may hold a comma) and its heads' settings */
  ipro_cli_local_options local;
  bool split_from_checkpoint;
  /* the checkpoint's heads replaced those the planner chose here: the planned peak is then the
   * trainer's own plan */
  bool planned_by_trainer;
  /* on --resume, what of the checkpoint's normalisation replaced the data's
   * (take_checkpoint_normalization): its means, its stds */
  bool mean_from_checkpoint, std_from_checkpoint;
} train_run;

/* Whether this process prints and writes files: rank 0 of a pipeline, or the only process. */
static bool leads(const train_run *r) {
  return !r->pipeline || ipro_pipeline_rank(r->pipeline) == 0;
}

/* The evaluator's and the exporter's view of a gathered pipeline's state: a tensor by name. */
static const ipro_checkpoint_tensor *gathered_tensor(const ipro_checkpoint *c, const char *name) {
  for (int i = 0; i < c->n_tensors; i++)
    if (strcmp(c->tensors[i].name, name) == 0) return &c->tensors[i];
  return NULL;
}

static ipro_status gathered_memory(void *context, const char *name, size_t bytes,
                                   const void **device, ipro_error *err) {
  const ipro_checkpoint_tensor *t = gathered_tensor(context, name);
  if (!t || t->bytes != bytes)
    return ipro_error_set(err, "the pipeline's ranks hold no tensor '%s' of %zu bytes", name,
                          bytes);
  *device = t->data;
  return IPRO_OK;
}

static ipro_status read_from_gathered(void *context, const char *name, void *host, size_t bytes,
                                      ipro_error *err) {
  const void *data = NULL;
  if (gathered_memory(context, name, bytes, &data, err) != IPRO_OK) return IPRO_ERROR;
  memcpy(host, data, bytes);
  return IPRO_OK;
}

static ipro_status trainer_memory(void *context, const char *name, size_t bytes,
                                  const void **device, ipro_error *err) {
  return ipro_trainer_tensor_memory(context, name, bytes, device, err);
}

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

static ipro_status export_gathered(void *context, const char *name, ipro_dtype dtype,
                                   const int64_t *dims, int rank, void *out, size_t bytes,
                                   ipro_error *err) {
  const ipro_checkpoint_tensor *t = gathered_tensor(context, name);
  if (!t) return IPRO_EXPORT_KEEP;
  bool same = t->dtype == dtype && t->shape.rank == rank && t->bytes == bytes;
  for (int d = 0; same && d < rank; d++)
    same = t->shape.dims[d] == dims[d];
  if (!same) return ipro_error_set(err, "initializer '%s' changed shape during training", name);
  memcpy(out, t->data, bytes);
  return IPRO_OK;
}

/* Users' own data (image folders, npz) is normalised with the training split's measured
 * statistics, the test split included, and the class mapping is shown; --mean/--std, when given,
 * replace whatever normalisation the data came with, on both splits. */
static ipro_status open_data(train_run *r, ipro_error *err) {
  const train_options *o = r->options;
  bool uncropped = o->resume ? r->position.random_resized_crop : o->given.augment && o->augment;
  if (ipro_cli_open_dataset(o->model, o->data, o->strict, uncropped, IPRO_SPLIT_TRAIN,
                            &r->train_data, err) != IPRO_OK ||
      ipro_cli_open_dataset(o->model, o->data, o->strict, false, IPRO_SPLIT_TEST, &r->test_data,
                            err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_dataset_kind kind = r->train_data.kind;
  if (kind == IPRO_DATASET_IMAGEFOLDER || kind == IPRO_DATASET_NPZ) {
    if (ipro_dataset_set_normalization(&r->test_data, r->train_data.mean, r->train_data.std,
                                       r->test_data.channels, err) != IPRO_OK)
      return ipro_error_prefix(err, "%s: the test split's channels differ from training's",
                               o->data);
    ipro_cli_print_classes(&r->train_data);
    /* nine significant digits: the floats themselves, so that eval given them scores the same
     * inputs (four digits moved Swin-T's test accuracy from 0.2266 to 0.2305) */
    char mean[IPRO_CLI_NORMALIZATION_TEXT_BYTES], std[IPRO_CLI_NORMALIZATION_TEXT_BYTES];
    ipro_cli_normalization_text(r->train_data.mean, r->train_data.channels, mean);
    ipro_cli_normalization_text(r->train_data.std, r->train_data.channels, std);
    printf("normalisation measured on the training split: mean %s std %s (the model --out writes "
           "carries them for `infopro eval`; elsewhere give them as --mean/--std)\n",
           mean, std);
  }
  if (ipro_cli_normalization_apply(&o->normalization, o->data, &r->train_data, err) != IPRO_OK ||
      ipro_cli_normalization_apply(&o->normalization, o->data, &r->test_data, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* On --resume, the normalisation the checkpoint's run trained with (version 3), where --mean or
 * --std is not given again: before, a run trained with --mean/--std and resumed without them went
 * on with the dataset's default, silently training on other inputs. */
static ipro_status take_checkpoint_normalization(train_run *r, const ipro_checkpoint *saved,
                                                 ipro_error *err) {
  const ipro_cli_normalization *given = &r->options->normalization;
  if (!saved->n_normalization || (given->n_mean && given->n_std)) return IPRO_OK;
  if (saved->n_normalization != r->train_data.channels)
    return ipro_error_set(err,
                          "cannot resume: checkpoint '%s' was trained on images of %d channel(s); "
                          "%s has %d",
                          r->checkpoint_path, saved->n_normalization, r->options->data,
                          r->train_data.channels);
  ipro_cli_normalization taken = *given;
  size_t bytes = sizeof(float) * (size_t)saved->n_normalization;
  if (!taken.n_mean) {
    memcpy(taken.mean, saved->mean, bytes);
    taken.n_mean = saved->n_normalization;
  }
  if (!taken.n_std) {
    memcpy(taken.std, saved->std, bytes);
    taken.n_std = saved->n_normalization;
  }
  if (ipro_cli_normalization_apply(&taken, r->options->data, &r->train_data, err) != IPRO_OK ||
      ipro_cli_normalization_apply(&taken, r->options->data, &r->test_data, err) != IPRO_OK)
    return IPRO_ERROR;
  r->mean_from_checkpoint = !given->n_mean;
  r->std_from_checkpoint = !given->n_std;
  return IPRO_OK;
}

/* The heads' settings for this dataset: image channels and normalisation (the decoder's target
 * undoes it), and the number of classes. */
static ipro_local_settings local_settings(const train_run *r, int64_t batch) {
  ipro_local_settings s = r->local.local;
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

/* Under mpirun: records that the ranks agreed that rank `failed` failed (prepare_pipeline then
 * says so without meeting the others again), and returns an error (this rank's own, if it has
 * one). */
static ipro_status failure_agreed(train_run *r, int failed, ipro_status status, ipro_error *err) {
  r->failure_agreed = true;
  r->failed_rank = failed;
  return status == IPRO_OK ? ipro_error_set(err, "rank %d failed", failed) : IPRO_ERROR;
}

/* Under mpirun: whether every rank got this far (collective over the ranks that did; one that
 * returned from prepare earlier meets it in prepare_pipeline's call). After a failure was agreed
 * on, no rank meets the others again. */
static ipro_status agree(train_run *r, ipro_status status, ipro_error *err) {
  if (!r->pipeline || r->failure_agreed) return status;
  int failed = ipro_pipeline_first_failure(r->pipeline, status == IPRO_OK);
  return failed < 0 ? status : failure_agreed(r, failed, status, err);
}

/* The split searched for the model. Under mpirun rank 0 searches alone (once, not once per rank;
 * with --calibrate timing the kernels on its own, the other ranks waiting without spinning) and
 * hands its split to the others, so every rank trains the same cuts and heads. */
static ipro_status search_split(train_run *r, ipro_cli_training_split *split, ipro_error *err) {
  ipro_local_settings settings = local_settings(r, r->position.batch);
  if (!r->pipeline)
    return r->model->split(r->options->model, &r->local, &settings, r->options->device,
                           r->options->reference, split, err);
  struct {
    int32_t ok;
    ipro_cli_training_split split;
  } *shared = calloc(1, sizeof *shared);
  if (!shared) return ipro_error_set(err, "out of memory");
  bool lead = ipro_pipeline_rank(r->pipeline) == 0;
  if (lead)
    shared->ok = r->model->split(r->options->model, &r->local, &settings, r->options->device,
                                 r->options->reference, &shared->split, err) == IPRO_OK;
  ipro_error mine = *err; /* rank 0's message survives a failed broadcast's */
  if (ipro_pipeline_broadcast(r->pipeline, shared, sizeof *shared, err) != IPRO_OK) {
    free(shared);
    return IPRO_ERROR;
  }
  *err = mine;
  if (shared->ok) *split = shared->split;
  bool ok = shared->ok;
  free(shared);
  if (ok) return IPRO_OK;
  if (!lead) ipro_error_set(err, "rank 0 could not choose the split");
  return failure_agreed(r, 0, IPRO_ERROR, err); /* rank 0 says why, in prepare_pipeline */
}

/* With -K, --budget, --cuts or --plan: the split, chosen on the memory the modules' programs
 * really need (runtime/module_costing.h), and the end-to-end peak for comparison; a compiled
 * program's own split. */
static ipro_status choose_split(train_run *r, ipro_error *err) {
  ipro_cli_training_split split;
  const ipro_program *program = r->options->program;
  if (program) {
    const ipro_head_options *h = &program->local.heads;
    if (program->local.K > 1 &&
        (r->train_data.channels != h->image_channels || r->train_data.num_classes != h->classes))
      return ipro_error_set(err,
                            "%s: the program was compiled for %d-channel images of %d classes; "
                            "this data has %d channels and %d classes",
                            r->options->data, h->image_channels, h->classes, r->train_data.channels,
                            r->train_data.num_classes);
    split = (ipro_cli_training_split){.K = program->local.K,
                                      .planned_peak = program->planned_peak,
                                      .e2e_peak = program->e2e_peak,
                                      .work_is_time = program->work_is_time};
    memcpy(split.module_work, program->module_work, sizeof split.module_work);
    memcpy(split.cut_names, program->cuts, sizeof split.cut_names);
    memcpy(split.heads, program->local.module_heads, sizeof split.heads);
  } else if (search_split(r, &split, err) != IPRO_OK) {
    return IPRO_ERROR;
  }
  r->K = split.K;
  for (int k = 0; k + 1 < split.K; k++) {
    memcpy(r->cut_names[k], split.cut_names[k], sizeof r->cut_names[k]);
    r->cuts[k] = r->cut_names[k];
  }
  r->planned_peak = split.planned_peak;
  r->e2e_peak = split.e2e_peak;
  r->n_heads = split.K - 1;
  memcpy(r->heads, split.heads, sizeof r->heads);
  memcpy(r->module_work, split.module_work, sizeof r->module_work);
  r->work_is_time = split.work_is_time;
  return IPRO_OK;
}

/* "module 3" or "modules 1-2": what stage s of the pipeline trains, into buffer. */
static const char *stage_modules(const train_run *r, int s, char *buffer, size_t size) {
  return ipro_cli_pipeline_modules_text(r->stages.first[s] + 1, r->stages.first[s + 1], buffer,
                                        size);
}

/* The stages of a pipeline with fewer stages than modules: what each rank trains, with its work
 * per step (the plan file's measured step time, or FLOPs by the plan's cost model) where known. */
static void print_stages(const train_run *r) {
  bool known = false;
  for (int k = 0; k < r->K; k++)
    known = known || r->module_work[k] > 0;
  printf("MPI: the %d modules in %d stage%s, one per rank of a replica%s:", r->K, r->stages.stages,
         r->stages.stages == 1 ? "" : "s",
         r->options->n_stage_sizes ? " (--stages)"
         : !known                  ? ""
         : r->work_is_time ? ", balanced by the step times --plan's file measured (--calibrate)"
                           : ", balanced by FLOPs per step");
  for (int s = 0; s < r->stages.stages; s++) {
    char modules[32];
    uint64_t sum = 0;
    for (int k = r->stages.first[s]; k < r->stages.first[s + 1]; k++)
      sum += r->module_work[k];
    printf("%s rank %d %s", s ? "," : "", s, stage_modules(r, s, modules, sizeof modules));
    if (known && r->work_is_time)
      printf(" (%.1f ms)", 1e-6 * (double)sum);
    else if (known)
      printf(" (%.2f GFLOP)", 1e-9 * (double)sum);
  }
  printf("\n");
}

/* Under mpirun: the plan's K modules grouped into the pipeline's stages. --stages N1,N2,.. gives
 * them; --stages S, or fewer processes than modules without it, asks for S stages balanced by
 * the modules' work (measured times from a --plan file made with --calibrate, else FLOPs);
 * otherwise one module per stage (the processes then a multiple of K, checked with the replicas by
 * ipro_pipeline_arrange). */
static ipro_status choose_stages(train_run *r, ipro_error *err) {
  const train_options *o = r->options;
  int K = r->K, ranks = ipro_pipeline_size(r->pipeline);
  if (o->n_stage_sizes) {
    int sum = 0;
    for (int s = 0; s < o->n_stage_sizes; s++)
      sum += o->stage_sizes[s];
    if (sum != K)
      return ipro_error_set(err,
                            "--stages gives stages of %d modules in all; the plan has %d (give "
                            "the modules of each stage, summing to %d)",
                            sum, K, K);
    r->stages = (ipro_pipeline_stages){.stages = o->n_stage_sizes};
    for (int s = 0; s < o->n_stage_sizes; s++)
      r->stages.first[s + 1] = r->stages.first[s] + o->stage_sizes[s];
    return IPRO_OK;
  }
  int S = o->stages ? o->stages : ranks % K != 0 && ranks < K ? ranks : K;
  if (S > K)
    return ipro_error_set(err,
                          "--stages %d for a plan of %d module%s: a stage trains one module at "
                          "least (give at most %d stages)",
                          S, K, K == 1 ? "" : "s", K);
  r->stages = ipro_pipeline_stages_balanced(r->module_work, K, S);
  return IPRO_OK;
}

/* The source of a compiled program's lowered modules for this run: its seed and normalisation. */
static ipro_program_source program_source_of(const train_run *r,
                                             const ipro_trainer_options *options) {
  return (ipro_program_source){.program = r->options->program,
                               .path = r->options->model,
                               .run = options->local.heads,
                               .open_network = ipro_graph_open};
}

/* A compiled program has no split search to make oneDNN's primitives before the trainer's
 * memory window, as `infopro train`'s search does (and names what it keeps): its modules' kernels
 * (all K: a pipeline stage's trainer plans the others too, runtime/trainer.c) are built once here,
 * on a backend of the run's device that is then let go, so that the trainer finds them in oneDNN's
 * primitive cache, and what the cache keeps is measured as the same term. */
static ipro_status warm_program_kernels(const train_run *r, const ipro_trainer_options *options,
                                        ipro_error *err) {
  ipro_backend *backend = NULL, *fallback = NULL;
  if (ipro_backend_create_for(options->device, options->reference, &backend, &fallback, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  ipro_program_source lowered = program_source_of(r, options);
  ipro_module_source source = ipro_program_module_source(&lowered);
  ipro_status status = IPRO_OK;
  for (int k = 0; status == IPRO_OK && k < source.K; k++) {
    ipro_executor_options plan_only = ipro_executor_module_plan_options(k == 0, k + 1 == source.K);
    ipro_graph *graph = NULL;
    ipro_training_graph training;
    ipro_executor *executor = NULL;
    status = source.build(source.context, k, k + 1 == source.K, backend, &graph, &training, err);
    if (status == IPRO_OK)
      status = ipro_executor_create_with(graph, backend, fallback, &plan_only, &executor, err);
    ipro_executor_free(executor);
    if (graph) ipro_training_graph_release(&training);
    ipro_graph_free(graph);
  }
  ipro_program_source_release(&lowered);
  backend->destroy(backend);
  if (fallback) fallback->destroy(fallback);
  return status;
}

/* The trainer: of the compiled program's lowered modules, or of the model's, built now. */
static ipro_status create_trainer(train_run *r, const ipro_trainer_options *options,
                                  ipro_error *err) {
  const ipro_program *program = r->options->program;
  if (!program) return r->model->create_trainer(r->options->model, options, &r->trainer, err);
  if (options->batch != program->batch)
    return ipro_error_set(err,
                          "this program's modules were lowered for batch %lld; this run would "
                          "train them at batch %lld (the batch of the checkpoint it resumes): "
                          "compile the model for that batch, or train with infopro train",
                          (long long)program->batch, (long long)options->batch);
  ipro_program_source lowered = program_source_of(r, options);
  ipro_module_source source = ipro_program_module_source(&lowered);
  ipro_status status = ipro_trainer_create_from(&source, options, &r->trainer, err);
  ipro_program_source_release(&lowered);
  return status;
}

/* "split into K = 2 modules at A (module 1: 1c2f, paper decoder)" or "trained end to end". */
static void describe_split(const ipro_split_record *split, char *out, size_t size) {
  char shown[IPRO_PRINTABLE_MAX]; /* a model-supplied name, escaped (ir/printable.h) */
  if (split->K == 1) {
    snprintf(out, size, "trained end to end");
    return;
  }
  size_t at = (size_t)snprintf(out, size, "split into K = %d modules at", split->K);
  for (int k = 0; k + 1 < split->K && at < size; k++) {
    const ipro_head_choice *h = &split->local.module_heads[k];
    at += (size_t)snprintf(out + at, size - at, "%s %s (module %d: %dc%df, %s decoder)",
                           k ? "," : "", ipro_printable(split->cuts[k], shown, sizeof shown), k + 1,
                           h->convs, h->fcs, ipro_decoder_name(h->decoder));
  }
}

/* This run's split as a checkpoint records it. */
static void run_split(const train_run *r, ipro_split_record *out) {
  memset(out, 0, sizeof *out);
  out->K = r->K;
  for (int k = 0; k + 1 < r->K; k++) {
    snprintf(out->cuts[k], sizeof out->cuts[k], "%s", r->cut_names[k]);
    out->local.module_heads[k] = r->heads[k];
  }
  out->local.n_module_heads = r->K - 1;
}

/* On --resume with no split given (-K, --cuts, --plan, --budget) to infopro train: the split the
 * checkpoint records, as --cuts, with its heads' settings (shape or the automatic choice, loss,
 * decoder, λ). Nothing where it records none (versions 1 and 2) or was trained end to end. */
static void take_checkpoint_split(train_run *r, const ipro_checkpoint *saved) {
  const ipro_cli_local_options *l = &r->local;
  const ipro_split_record *split = &saved->split;
  if (r->options->program || split->K < 2 || l->K || l->budget_bytes || l->n_cuts || l->plan_path)
    return;
  for (int k = 0; k + 1 < split->K; k++)
    snprintf(r->local.cuts[k], sizeof r->local.cuts[k], "%s", split->cuts[k]);
  r->local.n_cuts = split->K - 1;
  ipro_local_settings *mine = &r->local.local;
  const ipro_local_settings *theirs = &split->local;
  mine->heads.convs = theirs->heads.convs;
  mine->heads.fcs = theirs->heads.fcs;
  mine->heads.decoder = theirs->heads.decoder;
  mine->heads.aux_loss = theirs->heads.aux_loss;
  memcpy(mine->lambda_first, theirs->lambda_first, sizeof mine->lambda_first);
  memcpy(mine->lambda_last, theirs->lambda_last, sizeof mine->lambda_last);
  mine->choose_heads = theirs->choose_heads;
  mine->decoder_fixed = theirs->decoder_fixed;
  r->local.lambda_given = true;
  r->split_from_checkpoint = true;
}

/* A resumed run's split against the checkpoint's. Where the checkpoint records it: taken from it
 * (take_checkpoint_split), the heads the planner chose here give way to the checkpoint's (another
 * CPU can plan other heads under the same limit); given, or a compiled program's, it must be the
 * same. Where it records none, a split run's checkpoint resumed end to end, or the other way round,
 * is refused with what to give; any other difference is found by the restore, whose message gets
 * the same hint. */
static ipro_status check_resumed_split(train_run *r, const ipro_checkpoint *saved,
                                       ipro_error *err) {
  if (saved->split.K) {
    ipro_split_record mine;
    run_split(r, &mine);
    if (r->split_from_checkpoint && !ipro_split_same_cuts_and_heads(&mine, &saved->split) &&
        mine.K == saved->split.K) {
      memcpy(r->heads, saved->split.local.module_heads, sizeof r->heads);
      r->planned_by_trainer = true;
      run_split(r, &mine);
    }
    if (ipro_split_same_cuts_and_heads(&mine, &saved->split)) return IPRO_OK;
    char written[512], here[512];
    describe_split(&saved->split, written, sizeof written);
    describe_split(&mine, here, sizeof here);
    return ipro_error_set(
        err,
        "cannot resume: checkpoint '%s' was written by a run %s; this %s is "
        "%s: %s",
        r->checkpoint_path, written, r->options->program ? "program" : "run", here,
        r->options->program ? "resume it with a program compiled with that split, or with "
                              "infopro train"
                            : "resume without -K, --cuts, --plan, --budget or head options to "
                              "take the checkpoint's split");
  }
  const char *head = saved_head_tensor(saved);
  if (head && r->K == 1)
    return ipro_error_set(
        err,
        "cannot resume: checkpoint '%s' was written by a run split into local modules (it "
        "holds tensor '%s' of a local module's head), but this run trains end to end: %s",
        r->checkpoint_path, head,
        r->options->program ? "resume it with a program compiled with that split"
                            : "this checkpoint (written before infopro recorded splits in "
                              "checkpoints) does not say its split; give the same -K, --cuts or "
                              "--plan (and head options) as the run that wrote it");
  if (!head && r->K > 1)
    return ipro_error_set(err,
                          "cannot resume: checkpoint '%s' was written by a run trained end to "
                          "end (it holds no local module's head), but this run is split into %d "
                          "local modules: %s",
                          r->checkpoint_path, r->K,
                          r->options->program
                              ? "resume it with infopro train or a program compiled with K = 1"
                              : "resume it without -K, --cuts, --plan or --budget");
  return IPRO_OK;
}

/* A restore that failed on a split run: the tensors may differ because the split does (a
 * checkpoint that records no split), or because the heads' loss does (one that records it, whose
 * cuts and heads check_resumed_split found the same). */
static ipro_status hint_split(const train_run *r, bool recorded, ipro_error *err) {
  if (r->K == 1 || r->options->program) return IPRO_ERROR;
  char message[sizeof err->message];
  snprintf(message, sizeof message, "%s", err->message);
  return ipro_error_set(err, "%s; %s", message,
                        recorded ? "its split and heads are this run's: was it written with "
                                   "another --local-loss?"
                                 : "this checkpoint does not record its split: was it written "
                                   "with other -K, --cuts or --plan (or head options)?");
}

/* The message for a compiled program started on more MPI processes than it has stages. */
static ipro_status program_without_replicas(const train_run *r, ipro_error *err) {
  const ipro_program *p = r->options->program;
  return ipro_error_set(err,
                        "%d MPI processes for this program of %d module%s: it runs no "
                        "data-parallel replicas, its modules being lowered for the whole batch "
                        "of %lld, so one process per stage (mpirun -np %d, one module per "
                        "process, or fewer, each a stage of modules)",
                        ipro_pipeline_size(r->pipeline), p->local.K, p->local.K == 1 ? "" : "s",
                        (long long)p->batch, p->local.K);
}

/* Settings, backends, evaluator, loader, split, trainer, checkpoint — in that order, so that a
 * wrong model or dataset is reported before anything is compiled. */
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
  /* Under mpirun rank 0, which alone writes checkpoints, alone checks the folder (ranks making
   * and removing one folder at once would remove it under another's check). */
  ipro_status status = IPRO_OK;
  if (o->checkpoint && leads(r)) status = ipro_checkpoint_check_directory(o->checkpoint, err);
  if (status == IPRO_OK && o->out) status = ipro_check_writable(o->out, err);
  if (status == IPRO_OK && o->out_inference) status = ipro_check_writable(o->out_inference, err);
  if (status == IPRO_OK && o->json && strcmp(o->json, "-") != 0 && leads(r))
    status = ipro_check_writable(o->json, err);
  /* The model at the training batch, before the data is read: a batch the model's sizes do not
   * allow is refused with the largest one possible. */
  ipro_graph *model = NULL;
  if (status == IPRO_OK)
    status = ipro_graph_open(o->model, o->resume ? r->position.batch : o->batch, &model, err);
  ipro_graph_free(model);
  if (status == IPRO_OK) status = open_data(r, err);
  if (status == IPRO_OK && o->resume) status = take_checkpoint_normalization(r, &saved, err);
  /* An image folder's labels are the sorted positions of its class folders' names: resumed on a
   * folder whose classes moved, the run would go on training with shifted labels. */
  if (status == IPRO_OK && o->resume &&
      ipro_cli_check_checkpoint_classes(saved.class_names, saved.n_class_names, r->checkpoint_path,
                                        &r->train_data, o->data, err) != IPRO_OK)
    status = ipro_error_prefix(err, "cannot resume");
  if (status == IPRO_OK && !o->resume) r->position = fresh_position(o, r->train_data.kind);
  /* a --limit beyond the training split uses all of it, as --test-limit and eval's --limit do
   * (it was an error here alone); the header says how many images that is */
  if (status == IPRO_OK && r->position.limit > r->train_data.count) r->position.limit = 0;
  if (status == IPRO_OK)
    status = ipro_lr_schedule_check(&r->position.schedule, r->position.total_epochs, err);
  if (status == IPRO_OK && leads(r))
    status =
        ipro_cli_create_backend(o->device, o->reference, &r->eval_backend, &r->eval_fallback, err);
  /* on host memory the test pass's graphs are loaded now, before the trainer's blocks exist */
  if (status == IPRO_OK && leads(r))
    status = r->eval_backend->host_memory
                 ? ipro_cli_evaluator_preload(o->model, &r->test_data, &r->evaluator, err)
                 : ipro_cli_evaluator_check(o->model, &r->test_data, err);
  /* The batch loader before the trainer, so that the allocator's figure for the trainer
   * (memory_report.h) holds the trainer alone. */
  ipro_batch_options batches = {.batch_size = r->position.batch,
                                .seed = r->position.seed,
                                .shuffle = true,
                                .limit = r->position.limit,
                                .drop_last = true,
                                .crop_padding = r->position.crop_padding,
                                .flip = r->position.flip,
                                .random_resized_crop = r->position.random_resized_crop,
                                .background = true,
                                /* the trainer copies each batch into its image block, the
                                 * second buffer; a pipeline's rank 0 reads it after the step */
                                .one_slot = !r->pipeline};
  /* A split smaller than the batch is the data's doing (a --limit below it was refused up
   * front, or on --resume the checkpoint's): said naming the data, before the loader refuses it
   * in its own words. */
  int64_t images = r->position.limit ? r->position.limit : r->train_data.count;
  if (status == IPRO_OK && images < r->position.batch)
    status = ipro_error_set(
        err, "%s: %lld training images%s make no complete batch of %lld (--batch)", o->data,
        (long long)images, r->position.limit ? " (--limit)" : "", (long long)r->position.batch);
  if (status == IPRO_OK)
    status = ipro_batch_loader_create(&r->train_data, &batches, &r->loader, err);
  if (status == IPRO_OK) r->steps_per_epoch = ipro_batch_loader_batches_per_epoch(r->loader);
  /* anonymous pages only: the library code the search pages in is its own term */
  uint64_t before_search = ipro_process_memory_status_bytes("RssAnon");
  ipro_process_memory search;
  ipro_process_memory_begin(&search);
  if (status == IPRO_OK && o->resume) take_checkpoint_split(r, &saved);
  /* Under mpirun the ranks agree whether every one got this far before their first collective
   * calls (rank 0's split handed on; arranging replicas, MPI_Comm_split): a rank that failed
   * before them (a dataset missing on its machine) left the others waiting in them for ever. */
  status = agree(r, status, err);
  if (status == IPRO_OK) status = choose_split(r, err);
  if (status == IPRO_OK && o->resume) status = check_resumed_split(r, &saved, err);
  int64_t kept = ipro_process_memory_heap_level(&search);
  /* what the search freed goes back to the system before the trainer's blocks are mapped, which
   * would otherwise come on top of it in the process's high-water mark */
  ipro_process_memory_return_free_pages();
  uint64_t after_search = ipro_process_memory_status_bytes("RssAnon");
  r->split_search_rss = after_search > before_search ? after_search - before_search : 0;
  r->split_search_held = kept > 0 ? (uint64_t)kept : 0;
  status = agree(r, status, err); /* and again before arranging them */
  if (status == IPRO_OK && r->pipeline) status = choose_stages(r, err);
  /* A compiled program's modules were lowered for its whole batch: data-parallel replicas, each
   * training a share of it, could never run, so one rank per stage is the only count offered. */
  if (status == IPRO_OK && r->pipeline && o->program &&
      ipro_pipeline_size(r->pipeline) != r->stages.stages)
    status = program_without_replicas(r, err);
  if (status == IPRO_OK && r->pipeline)
    status = ipro_pipeline_arrange(r->pipeline, r->K, &r->stages, r->position.batch, err);
  /* R data-parallel replicas share every batch (runtime/mpi/pipeline.h) */
  int64_t batch = r->position.batch / (r->pipeline ? ipro_pipeline_replicas(r->pipeline) : 1);
  ipro_trainer_options trainer_options = {.batch = batch,
                                          .optimizer = r->position.optimizer,
                                          .reference = o->reference,
                                          .device = o->device,
                                          .n_cuts = r->K - 1,
                                          .cuts = r->cuts,
                                          .local = local_settings(r, batch)};
  if (r->pipeline && status == IPRO_OK) { /* this rank's stage */
    int stage = ipro_pipeline_stage(r->pipeline);
    trainer_options.first_module = r->stages.first[stage];
    trainer_options.module_count = r->stages.first[stage + 1] - r->stages.first[stage];
  }
  if (status == IPRO_OK && o->program && batch == o->program->batch) {
    /* measured as the split search is: the same two terms */
    before_search = ipro_process_memory_status_bytes("RssAnon");
    ipro_process_memory_begin(&search);
    status = warm_program_kernels(r, &trainer_options, err);
    kept = ipro_process_memory_heap_level(&search);
    after_search = ipro_process_memory_status_bytes("RssAnon");
    r->split_search_rss += after_search > before_search ? after_search - before_search : 0;
    r->split_search_held += kept > 0 ? (uint64_t)kept : 0;
  }
  /* --json's per-epoch records, made before the trainer's allocations are measured */
  if (status == IPRO_OK && o->json && leads(r))
    status = ipro_cli_epoch_history_reserve(
        &r->history, r->position.total_epochs - r->position.epochs_done, err);
  ipro_process_memory_begin(&r->training); /* the trainer's allocations start here */
  if (status == IPRO_OK) status = create_trainer(r, &trainer_options, err);
  if (status == IPRO_OK && r->planned_by_trainer)
    r->planned_peak = ipro_trainer_planned_bytes(r->trainer);
  r->trainer_heap = ipro_process_memory_heap_level(&r->training);
  r->trainer_creation_peak = ipro_process_memory_heap_growth(&r->training);
  /* What the search cached and the trainer does not hold (oneDNN's primitives of the candidate
   * modules it costed) goes now, before training makes the process's peak: it was the search's,
   * so the search's kept term loses it and the trainer's probe, whose baseline held it, forgets
   * it. */
  if (status == IPRO_OK) {
    int64_t level = ipro_process_memory_heap_level(&r->training);
    ipro_backend_release_unused_primitives();
    int64_t freed = level - ipro_process_memory_heap_level(&r->training);
    if (freed > 0) {
      r->split_search_held -=
          (uint64_t)freed < r->split_search_held ? (uint64_t)freed : r->split_search_held;
      ipro_process_memory_forget(&r->training, freed);
      ipro_process_memory_return_free_pages();
    }
  }
  /* The test pass runs between steps, inside the training block (DESIGN.md's memory model); in a
   * pipeline, on rank 0 alone, inside its own module's block. */
  if (status == IPRO_OK && leads(r))
    status = ipro_cli_evaluator_open_in(
        o->model, &r->test_data, o->eval_batch, o->test_limit, r->eval_backend, r->eval_fallback,
        ipro_trainer_block(r->trainer), ipro_trainer_block_bytes(r->trainer), &r->evaluator, err);
  if (status == IPRO_OK && leads(r))
    ipro_cli_warn_untested_opsets(r->evaluator.full.graph, o->model);
  /* Opening it can free more than it takes (oneDNN's primitive cache, full with a large network's
   * kernels, lets some of the trainer's go): then it holds nothing of its own. */
  int64_t after_test_pass = ipro_process_memory_heap_level(&r->training);
  r->test_pass_heap = after_test_pass > r->trainer_heap ? after_test_pass - r->trainer_heap : 0;
  /* Building the test pass (loading and compiling the model in inference form) is not the
   * trainer's: what it holds afterwards is counted as its own term. */
  ipro_process_memory_restart_peak(&r->training);
  if (status == IPRO_OK && o->resume) {
    status = r->pipeline ? ipro_pipeline_restore(r->trainer, &saved, r->checkpoint_path, err)
                         : ipro_checkpoint_restore(r->trainer, &saved, r->checkpoint_path, err);
    if (status != IPRO_OK) status = hint_split(r, saved.split.K != 0, err);
    r->start_epoch = r->position.epochs_done;
    ipro_trainer_set_steps(r->trainer, r->position.steps_done);
  }
  ipro_checkpoint_release(&saved);
  return status;
}

static void print_header(const train_run *r) {
  char shown[IPRO_PRINTABLE_MAX]; /* a model-supplied name, escaped (ir/printable.h) */
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
  /* a one-epoch run's step schedule has no milestone (none lies below its one epoch): said,
   * rather than an empty list */
  if (s->kind == IPRO_SCHEDULE_STEP && s->n_milestones == 0)
    printf(" (no milestone in a %lld-epoch run: the rate stays %g)", (long long)p->total_epochs,
           s->base_rate);
  else if (s->kind == IPRO_SCHEDULE_STEP) {
    printf(" (x%g at epoch", s->gamma);
    for (int i = 0; i < s->n_milestones; i++)
      printf("%s%lld", i ? "," : " ", (long long)s->milestones[i]);
    printf(")");
  }
  if (s->warmup_epochs) printf(", %lld warm-up epoch(s)", (long long)s->warmup_epochs);
  if (p->random_resized_crop)
    printf("; augmentation random-resized-crop%s", p->flip ? " + flip" : "");
  else if (p->crop_padding || p->flip)
    printf("; augmentation crop %d%s", p->crop_padding, p->flip ? " + flip" : "");
  else
    printf("; no augmentation");
  printf("; seed %llu; %s\n", (unsigned long long)p->seed,
         r->options->reference ? "reference kernels" : r->eval_backend->name);
  if (r->mean_from_checkpoint || r->std_from_checkpoint) {
    char mean[IPRO_CLI_NORMALIZATION_TEXT_BYTES], std[IPRO_CLI_NORMALIZATION_TEXT_BYTES];
    ipro_cli_normalization_text(r->train_data.mean, r->train_data.channels, mean);
    ipro_cli_normalization_text(r->train_data.std, r->train_data.channels, std);
    printf("normalisation: mean %s std %s (%s)\n", mean, std,
           !r->std_from_checkpoint    ? "the checkpoint's mean, --std given"
           : !r->mean_from_checkpoint ? "the checkpoint's std, --mean given"
                                      : "the checkpoint's");
  }
  if (r->K > 1) {
    printf("InfoPro local training: K = %d, cut at", r->K);
    for (int k = 0; k + 1 < r->K; k++)
      printf("%s %s", k ? "," : "", ipro_printable(r->cuts[k], shown, sizeof shown));
    if (r->split_from_checkpoint) printf(" (the checkpoint's split)");
    char change[64];
    ipro_cli_peak_change(r->planned_peak, r->e2e_peak, change, sizeof change);
    printf("; planned peak %llu bytes (end-to-end %llu, %s)\n", (unsigned long long)r->planned_peak,
           (unsigned long long)r->e2e_peak, change);
    printf("heads:");
    for (int k = 0; k < r->n_heads; k++)
      printf("%s module %d %dc%df, %s decoder", k ? ";" : "", k + 1, r->heads[k].convs,
             r->heads[k].fcs, ipro_decoder_name(r->heads[k].decoder));
    if (r->planned_by_trainer)
      printf(" (the checkpoint's; the planner chose others here, so the planned peak is the "
             "trainer's own plan)");
    printf("\n");
  }
  /* kernels left to a slower fallback than the backend's own (no LLVM, say): said, not hidden */
  const ipro_backend *trainer_backend = r->trainer ? ipro_trainer_backend(r->trainer) : NULL;
  const char *degraded = trainer_backend && trainer_backend->degraded[0]
                             ? trainer_backend->degraded
                             : r->eval_backend->degraded;
  if (degraded[0])
    fprintf(stderr, "infopro: warning: %s; those nodes run on the reference kernels, slower\n",
            degraded);
  /* A compiled program was planned where it was compiled; the CPU backend plans its kernels for
   * the CPU and the threads it runs on (oneDNN's implementations, their scratchpads, which can
   * grow with the thread count, and the layouts it carries activations in), so on another CPU, or
   * with another OMP_NUM_THREADS, the trainer's plan can differ from the program's. Said, not
   * hidden: the memory line at the end is this machine's. */
  uint64_t here = r->trainer && !r->pipeline ? ipro_trainer_planned_bytes(r->trainer) : 0;
  if (r->options->program && here && here != r->planned_peak)
    fprintf(stderr,
            "infopro: warning: on this machine the program's modules plan %llu bytes, not the "
            "%llu planned when it was compiled (the CPU backend plans its kernels for the CPU and "
            "the threads it runs on); compile it here, with these threads, for this plan\n",
            (unsigned long long)here, (unsigned long long)r->planned_peak);
  double started = ipro_progress_since_exec();
  if (started >= 0)
    printf("ready to train %.2f s after start (%s)\n", started,
           r->options->program ? "a compiled program" : "model loaded, planned and compiled");
  if (r->pipeline && r->stages.stages < r->K) print_stages(r);
  if (r->pipeline && ipro_pipeline_replicas(r->pipeline) > 1)
    printf("MPI: %d replicas of the %d-stage pipeline, each training %lld images of every batch "
           "and averaging gradients before each update\n",
           ipro_pipeline_replicas(r->pipeline), r->stages.stages,
           (long long)(p->batch / ipro_pipeline_replicas(r->pipeline)));
  if (r->options->resume)
    printf("resuming from %s after epoch %lld (step %llu)\n", r->checkpoint_path,
           (long long)p->epochs_done, (unsigned long long)p->steps_done);
  fflush(stdout);
}

/* "; the checkpoint DIR/checkpoint.ipck is left as it was", for a run that stops diverged. Named
 * only when there is one: a run that diverges before its first save has none to keep. */
static void kept_checkpoint(const train_run *r, char *kept, size_t size) {
  kept[0] = '\0';
  if (r->options->checkpoint && access(r->checkpoint_path, F_OK) == 0)
    snprintf(kept, size, "; the checkpoint %s is left as it was", r->checkpoint_path);
}

static ipro_status diverged(train_run *r, int64_t epoch, const char *what, int64_t step,
                            double value, float learning_rate, ipro_error *err) {
  char where[64] = "";
  if (step > 0)
    snprintf(where, sizeof where, ", step %lld/%lld", (long long)step,
             (long long)r->steps_per_epoch);
  char kept[4200];
  kept_checkpoint(r, kept, sizeof kept);
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

/* The trained values themselves, before a checkpoint or the trained model is written from them:
 * a NaN can sit in the weights while every loss is finite (finite_parameters.h). epoch is
 * 0-based. In a pipeline, rank 0 checks the state gathered from every rank. */
static ipro_status check_trained_values(train_run *r, int64_t epoch, ipro_error *err) {
  ipro_cli_non_finite found = {0};
  if (r->pipeline)
    ipro_cli_find_non_finite_checkpoint(&r->gathered, &found);
  else if (ipro_cli_find_non_finite_trainer(r->trainer, &found, err) != IPRO_OK)
    return IPRO_ERROR;
  if (!found.non_finite) return IPRO_OK;
  char kept[4200];
  kept_checkpoint(r, kept, sizeof kept);
  return ipro_error_set(err,
                        "training diverged by epoch %lld: %lld of the %lld values of '%s' are not "
                        "finite (NaN or infinity), though the losses are; stopping without "
                        "writing a checkpoint or the trained model%s",
                        (long long)epoch + 1, (long long)found.non_finite,
                        (long long)found.elements, found.name, kept);
}

/* One epoch's running figures, updated after every step (in one process, or on each rank of a
 * pipeline for its own modules' losses). */
enum { MAX_LOSSES = IPRO_MAX_MODULES * IPRO_MAX_LOSS_TERMS };
typedef struct {
  train_run *run;
  int64_t epoch;
  ipro_progress progress;
  double loss_sum;
  double local_sums[MAX_LOSSES];
  const char *local_names[MAX_LOSSES];
  int n_local;
  char gathered_names[MAX_LOSSES][IPRO_PIPELINE_NAME_BYTES];
  const ipro_batch *batch;
} epoch_figures;
_Static_assert((int)MAX_LOSSES <= (int)IPRO_PIPELINE_MAX_VALUES,
               "every rank's losses fit the gather");

static float epoch_rate(void *context, int64_t done) {
  const epoch_figures *f = context;
  const ipro_training_position *p = &f->run->position;
  return ipro_lr_at(&p->schedule, f->epoch * f->run->steps_per_epoch + done,
                    f->run->steps_per_epoch, p->total_epochs);
}

static ipro_status next_batch(void *context, const float **images, const int64_t **labels,
                              ipro_error *err) {
  epoch_figures *f = context;
  if (ipro_batch_loader_next(f->run->loader, &f->batch, err) != IPRO_OK) return IPRO_ERROR;
  if (!f->batch) return ipro_error_set(err, "the loader ran out of batches before the epoch's end");
  *images = f->batch->images;
  *labels = f->batch->labels;
  return IPRO_OK;
}

/* After step `done` (1-based): accumulates the losses of the modules this process trains and
 * stops on one that is not finite. */
static ipro_status count_step(void *context, int64_t done, float learning_rate, ipro_error *err) {
  epoch_figures *f = context;
  float local[MAX_LOSSES];
  f->n_local = ipro_trainer_losses(f->run->trainer, local, f->local_names, MAX_LOSSES);
  for (int l = 0; l < f->n_local; l++) {
    if (!isfinite(local[l]))
      return diverged(f->run, f->epoch, f->local_names[l], done, local[l], learning_rate, err);
    f->local_sums[l] += local[l];
  }
  if (f->run->pipeline) return IPRO_OK; /* the network's loss is on the last rank */
  /* the network's loss: the last module's cross-entropy, the last of its losses */
  float loss = local[f->n_local - 1];
  if (!isfinite(loss))
    return diverged(f->run, f->epoch, "training loss", done, loss, learning_rate, err);
  f->loss_sum += loss;
  ipro_progress_update(&f->progress, done, f->loss_sum / (double)done, learning_rate);
  return IPRO_OK;
}

/* The epoch's steps in this process: one after another, or this rank's part of the pipeline,
 * after which rank 0 collects every rank's loss sums. */
static ipro_status train_steps(epoch_figures *f, ipro_error *err) {
  train_run *r = f->run;
  ipro_pipeline_feed feed = {.context = f,
                             .next_batch = next_batch,
                             .learning_rate = epoch_rate,
                             .after_step = count_step};
  if (!r->pipeline) {
    for (int64_t done = 0; done < r->steps_per_epoch; done++) {
      const float *images = NULL;
      const int64_t *labels = NULL;
      float learning_rate = epoch_rate(f, done), loss = 0;
      if (next_batch(f, &images, &labels, err) != IPRO_OK ||
          ipro_trainer_take_batch(r->trainer, images, labels, err) != IPRO_OK)
        return IPRO_ERROR;
      ipro_batch_loader_release(r->loader); /* the next batch is prepared during the step */
      if (ipro_trainer_step(r->trainer, NULL, NULL, learning_rate, &loss, err) != IPRO_OK ||
          count_step(f, done + 1, learning_rate, err) != IPRO_OK)
        return IPRO_ERROR;
    }
    return IPRO_OK;
  }
  if (ipro_pipeline_train(r->pipeline, r->steps_per_epoch, &feed, err) != IPRO_OK)
    return IPRO_ERROR;
  double mine[MAX_LOSSES];
  memcpy(mine, f->local_sums, sizeof mine);
  if (ipro_pipeline_gather_values(r->pipeline, mine, f->local_names, f->n_local, f->local_sums,
                                  f->local_names, f->gathered_names, &f->n_local, err) != IPRO_OK)
    return IPRO_ERROR;
  if (leads(r)) f->loss_sum = f->local_sums[f->n_local - 1];
  return IPRO_OK;
}

/* What runs between epochs (scoring a pipeline's gathered state, checkpoints) is measured as a
 * term of its own, outside the trainer's figure (runtime/process_memory.h). */
static void between_epochs_begin(train_run *r) { ipro_process_memory_aside_begin(&r->training); }

static void between_epochs_end(train_run *r) {
  int64_t level = r->training.level_before_aside - r->training.heap_baseline;
  uint64_t held = ipro_process_memory_aside_end(&r->training);
  if (held > r->between_epochs_held) r->between_epochs_held = held;
  int64_t peak = level + (int64_t)held;
  if (peak > 0 && (uint64_t)peak > r->between_epochs_peak) r->between_epochs_peak = (uint64_t)peak;
}

/* Scores the test split with the trained parameters: read from the trainer, or from every
 * rank's state gathered on rank 0 (collective; the other ranks only contribute theirs). */
static ipro_status evaluate(train_run *r, ipro_cli_eval_totals *totals, ipro_error *err) {
  ipro_status status = IPRO_OK;
  if (r->pipeline) {
    ipro_training_position position = r->position;
    position.steps_done = ipro_trainer_steps(r->trainer);
    /* gathering and scoring are measured apart from the training steps, until train() ends the
     * stretch */
    between_epochs_begin(r);
    ipro_checkpoint_release(&r->gathered);
    status = ipro_pipeline_gather_state(r->pipeline, &position, &r->gathered, err);
    if (status != IPRO_OK || !leads(r)) return status;
    status =
        r->evaluator.parameters_in_place
            ? ipro_cli_evaluator_use_parameters(&r->evaluator, gathered_memory, &r->gathered, err)
            : ipro_cli_evaluator_copy_parameters(&r->evaluator, read_from_gathered, &r->gathered,
                                                 err);
  } else {
    status =
        r->evaluator.parameters_in_place
            ? ipro_cli_evaluator_use_parameters(&r->evaluator, trainer_memory, r->trainer, err)
            : ipro_cli_evaluator_copy_parameters(&r->evaluator, read_from_trainer, r->trainer, err);
  }
  if (status == IPRO_OK) status = ipro_cli_evaluator_run(&r->evaluator, totals, err);
  return status;
}

/* For image folders: how fast the loader's thread prepares batches (cropping, flipping and
 * normalising) beside how fast training uses them, so far in the run. */
static void report_loader(train_run *r, double training_seconds) {
  int64_t made = 0;
  double seconds = 0;
  ipro_batch_loader_work(r->loader, &made, &seconds);
  const ipro_training_position *p = &r->position;
  printf("  batches prepared at %.0f images/s on the loader's thread (%s); trained at %.0f "
         "images/s\n",
         seconds > 0 ? (double)made / seconds : 0,
         p->random_resized_crop ? "random-resized-crop, flip, normalise" : "normalise",
         (double)(r->steps_per_epoch * p->batch) / training_seconds);
}

/* One epoch of training steps, then the test; prints the epoch's line. */
static ipro_status run_epoch(train_run *r, int64_t epoch, bool terminal, ipro_error *err) {
  const ipro_training_position *p = &r->position;
  double start = ipro_progress_now();
  epoch_figures f = {.run = r, .epoch = epoch};
  ipro_progress_begin(&f.progress, stdout, terminal, epoch + 1, p->total_epochs, r->steps_per_epoch,
                      p->batch, r->options->log_every);
  ipro_status status = IPRO_OK;
  if (!r->pipeline || ipro_pipeline_stage(r->pipeline) == 0) /* who reads the batches */
    status = ipro_batch_loader_start_epoch(r->loader, epoch, err);
  if (status == IPRO_OK) status = train_steps(&f, err);
  double training_seconds = ipro_progress_now() - start;
  ipro_progress_end(&f.progress);
  if (status != IPRO_OK) return IPRO_ERROR;
  float learning_rate = epoch_rate(&f, r->steps_per_epoch - 1);
  ipro_cli_eval_totals totals;
  if (evaluate(r, &totals, err) != IPRO_OK) return IPRO_ERROR;
  if (!leads(r)) return IPRO_OK;
  double test_loss = totals.cross_entropy_sum / (double)totals.seen;
  if (!isfinite(test_loss))
    return diverged(r, epoch, "test loss", 0, test_loss, learning_rate, err);
  r->test_accuracy = (double)totals.correct / (double)totals.seen;
  int64_t done = r->steps_per_epoch;
  printf("epoch %lld/%lld  loss %.4f  test accuracy %.4f  test loss %.4f  %.1f s\n",
         (long long)epoch + 1, (long long)p->total_epochs, f.loss_sum / (double)done,
         r->test_accuracy, test_loss, ipro_progress_now() - start);
  if (r->K > 1) {
    printf("  local losses (epoch means):");
    for (int l = 0; l < f.n_local; l++)
      printf("%s %s %.4f", l ? "," : "", f.local_names[l], f.local_sums[l] / (double)done);
    printf("\n");
  }
  ipro_cli_epoch_record record = {.epoch = epoch + 1,
                                  .loss = f.loss_sum / (double)done,
                                  .test_accuracy = r->test_accuracy,
                                  .test_loss = test_loss,
                                  .learning_rate = learning_rate,
                                  .seconds = ipro_progress_now() - start};
  for (int l = 0; l < f.n_local && l < IPRO_CLI_HISTORY_MAX_LOSSES; l++)
    record.local_losses[l] = f.local_sums[l] / (double)done;
  ipro_cli_epoch_history_add(&r->history, &record, f.local_names, r->K > 1 ? f.n_local : 0);
  if (r->train_data.kind == IPRO_DATASET_IMAGEFOLDER) report_loader(r, training_seconds);
  fflush(stdout);
  return IPRO_OK;
}

/* What the memory line says of this process's trainer, measured from the trainer's creation to
 * now: the part every rank of a pipeline reports (report_pipeline) and the final line begins
 * with. */
static ipro_cli_memory_report memory_of_trainer(const train_run *r) {
  return (ipro_cli_memory_report){.planned = ipro_trainer_planned_bytes(r->trainer),
                                  .counted = ipro_trainer_allocated_bytes(r->trainer),
                                  .allocator = ipro_process_memory_heap_growth(&r->training),
                                  .trainer_creation_peak = r->trainer_creation_peak,
                                  .trainer_held = (uint64_t)r->trainer_heap,
                                  .test_pass_held = (uint64_t)r->test_pass_heap,
                                  .pipeline_held =
                                      r->pipeline_heap > 0 ? (uint64_t)r->pipeline_heap : 0,
                                  .rss_growth = ipro_process_memory_rss_growth(&r->process),
                                  .device_growth = ipro_trainer_device_growth(r->trainer),
                                  .on_device = r->options->device == IPRO_DEVICE_CUDA};
}

/* Every rank's time per step and memory, gathered on rank 0 (collective) into r->ranks, whose
 * time lines it prints (cli/pipeline_report.h). */
_Static_assert((int)IPRO_CLI_PIPELINE_FIGURES *IPRO_MAX_MODULES <= (int)IPRO_PIPELINE_MAX_VALUES,
               "every stage's figures fit the gather");
static ipro_status report_pipeline(train_run *r, ipro_error *err) {
  ipro_pipeline_timing t = ipro_pipeline_timing_of(r->pipeline);
  double steps = t.steps > 0 ? (double)t.steps : 1;
  ipro_cli_memory_report memory = memory_of_trainer(r);
  double mine[IPRO_CLI_PIPELINE_FIGURES] = {
      [IPRO_CLI_PIPELINE_STEP_MS] = 1e3 * t.compute_seconds / steps,
      [IPRO_CLI_PIPELINE_CPU_MS] = 1e3 * t.compute_cpu_seconds / steps,
      [IPRO_CLI_PIPELINE_WAIT_MS] = 1e3 * t.wait_seconds / steps,
      [IPRO_CLI_PIPELINE_SENT_BYTES] = (double)t.sent_bytes,
      [IPRO_CLI_PIPELINE_ALLREDUCE_MS] = 1e3 * t.allreduce_seconds / steps,
      [IPRO_CLI_PIPELINE_PLANNED_BYTES] = (double)memory.planned,
      [IPRO_CLI_PIPELINE_TRAINER_BYTES] =
          (double)(memory.on_device ? memory.counted : ipro_cli_memory_report_trainer(&memory)),
      [IPRO_CLI_PIPELINE_PROGRAMS_BYTES] = (double)ipro_cli_memory_report_programs(&memory),
      [IPRO_CLI_PIPELINE_RSS_GROWTH_BYTES] = (double)memory.rss_growth,
      [IPRO_CLI_PIPELINE_DEVICE_BYTES] = (double)memory.device_growth};
  double all[IPRO_PIPELINE_MAX_VALUES];
  const char *all_names[IPRO_PIPELINE_MAX_VALUES];
  char storage[IPRO_PIPELINE_MAX_VALUES][IPRO_PIPELINE_NAME_BYTES];
  int n = 0;
  if (ipro_pipeline_gather_values(r->pipeline, mine, ipro_cli_pipeline_figure_names,
                                  IPRO_CLI_PIPELINE_FIGURES, all, all_names, storage, &n,
                                  err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_cli_pipeline_report *p = &r->ranks;
  *p = (ipro_cli_pipeline_report){.replicas = ipro_pipeline_replicas(r->pipeline),
                                  .K = r->K,
                                  .batch = r->position.batch,
                                  .on_device = memory.on_device};
  for (int rank = 0; rank < r->stages.stages && (rank + 1) * IPRO_CLI_PIPELINE_FIGURES <= n;
       rank++, p->ranks++) {
    p->rank[rank].first_module = r->stages.first[rank] + 1;
    p->rank[rank].last_module = r->stages.first[rank + 1];
    memcpy(p->rank[rank].figures, &all[rank * IPRO_CLI_PIPELINE_FIGURES],
           sizeof p->rank[rank].figures);
  }
  ipro_cli_pipeline_report_time(p, stdout);
  return IPRO_OK;
}

/* --json FILE: the run's results, its memory report, each epoch's figures and, under mpirun,
 * every rank's. */
typedef struct {
  const train_run *run;
  const ipro_cli_memory_report *memory;
  int64_t epochs_run;
  double seconds;
} json_results;

static void print_json(const void *context, FILE *out) {
  const json_results *j = context;
  const train_run *r = j->run;
  ipro_json_writer w = {.out = out};
  ipro_json_begin_object(&w, NULL);
  ipro_json_string(&w, "infopro", ipro_cli_version());
  ipro_json_string(&w, "model", r->options->model);
  ipro_json_int(&w, "epochs", j->epochs_run);
  ipro_json_double(&w, "seconds", j->seconds);
  ipro_json_double(&w, "test_accuracy", r->test_accuracy);
  /* the split trained: its cuts and each local module's heads, as the header says them */
  ipro_json_begin_object(&w, "split");
  ipro_json_int(&w, "K", r->K);
  ipro_json_begin_array(&w, "cuts");
  for (int k = 0; k + 1 < r->K; k++)
    ipro_json_string(&w, NULL, r->cuts[k]);
  ipro_json_end_array(&w);
  ipro_json_begin_array(&w, "heads");
  for (int k = 0; k < r->n_heads; k++) {
    char shape[32];
    snprintf(shape, sizeof shape, "%dc%df", r->heads[k].convs, r->heads[k].fcs);
    ipro_json_begin_object(&w, NULL);
    ipro_json_int(&w, "module", k + 1);
    ipro_json_string(&w, "classifier", shape);
    ipro_json_string(&w, "decoder", ipro_decoder_name(r->heads[k].decoder));
    ipro_json_end_object(&w);
  }
  ipro_json_end_array(&w);
  ipro_json_end_object(&w);
  ipro_cli_memory_report_json(j->memory, &w);
  ipro_cli_epoch_history_json(&r->history, &w);
  if (r->pipeline) ipro_cli_pipeline_report_json(&r->ranks, &w);
  ipro_json_end_object(&w);
}

static ipro_status write_json(const train_run *r, const ipro_cli_memory_report *memory,
                              int64_t epochs_run, double seconds, ipro_error *err) {
  if (!r->options->json) return IPRO_OK;
  json_results results = {r, memory, epochs_run, seconds};
  return ipro_cli_write_output(r->options->json, r->options->json_stdout, print_json, &results,
                               err);
}

/* What a checkpoint holds beside the trainer's state, its position and split: the data's class
 * names and the normalisation the run trains with; then written. */
static ipro_status complete_and_write(const train_run *r, ipro_checkpoint *checkpoint,
                                      ipro_error *err) {
  const ipro_dataset *d = &r->train_data;
  ipro_checkpoint_set_normalization(checkpoint, d->mean, d->std, d->channels);
  if (ipro_checkpoint_set_class_names(checkpoint, d->class_names,
                                      d->class_names ? d->num_classes : 0, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_checkpoint_write(r->options->checkpoint, checkpoint, err);
}

/* The single process's checkpoint after an epoch. */
static ipro_status save_checkpoint(const train_run *r, ipro_error *err) {
  ipro_checkpoint checkpoint;
  if (ipro_checkpoint_capture(r->trainer, &r->position, &checkpoint, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_status status = complete_and_write(r, &checkpoint, err);
  ipro_checkpoint_release(&checkpoint);
  return status;
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
    ipro_status saved = IPRO_OK;
    if (r->options->checkpoint && !r->pipeline) {
      between_epochs_begin(r);
      /* no checkpoint of values that are not finite; its memory is the checkpoint's */
      saved = check_trained_values(r, epoch, err);
      if (saved == IPRO_OK) saved = save_checkpoint(r, err);
      between_epochs_end(r);
    } else if (r->pipeline) {
      /* the stretch the gather and the test pass began (evaluate) goes on */
      if (r->options->checkpoint && leads(r)) { /* the state gathered for the test */
        r->gathered.position = r->position;
        /* no checkpoint of values that are not finite: rank 0 fails, which stops every rank */
        saved = check_trained_values(r, epoch, err);
        if (saved == IPRO_OK) saved = complete_and_write(r, &r->gathered, err);
      }
      /* kept after the last epoch for --out; released before training goes on */
      if (epoch + 1 < r->position.total_epochs) ipro_checkpoint_release(&r->gathered);
      between_epochs_end(r);
    }
    if (saved != IPRO_OK) return IPRO_ERROR;
  }
  if (epochs_run == 0) {
    /* Resumed at the end, which refuse_resume_with_nothing_to_train refuses unless the
     * checkpoint was replaced since: score the restored parameters for the final line. */
    ipro_cli_eval_totals totals;
    if (evaluate(r, &totals, err) != IPRO_OK) return IPRO_ERROR;
    if (r->pipeline) between_epochs_end(r);
    if (leads(r)) r->test_accuracy = (double)totals.correct / (double)totals.seen;
  }
  if (r->pipeline && report_pipeline(r, err) != IPRO_OK) return IPRO_ERROR;
  if (!leads(r)) return IPRO_OK;
  double seconds = ipro_progress_now() - start;
  /* The training's measurement ends here: writing the trained model (the model file read and
   * decoded again) is its own named term, measured from here. */
  uint64_t training_heap = ipro_process_memory_heap_growth(&r->training);
  /* before anything is written from them (the checkpoints were checked before each save), and
   * after the training's measurement, which the buffer it reads into would otherwise join */
  if (check_trained_values(r, r->position.epochs_done - 1, err) != IPRO_OK) return IPRO_ERROR;
  /* no step follows: the shared block and the training state (gradients, optimizer moments) go
   * back before the model is read and written, which then reuses their memory rather than coming
   * on top of it */
  ipro_trainer_release_step_memory(r->trainer);
  uint64_t peak_before_export = ipro_process_memory_status_bytes("VmHWM");
  ipro_process_memory export_probe;
  ipro_process_memory_begin(&export_probe);
  /* the normalisation trained with goes into the model's metadata, where eval finds it */
  char mean[IPRO_CLI_NORMALIZATION_TEXT_BYTES], std[IPRO_CLI_NORMALIZATION_TEXT_BYTES];
  ipro_cli_normalization_text(r->train_data.mean, r->train_data.channels, mean);
  ipro_cli_normalization_text(r->train_data.std, r->train_data.channels, std);
  /* and an image folder's class names, which eval checks a folder against; other data removes
   * names a model trained before may carry */
  char *classes = ipro_cli_classes_metadata(&r->train_data);
  if (r->train_data.class_names && !classes)
    return ipro_error_set(err, "out of memory for the class names");
  const char *const keys[] = {IPRO_CLI_MEAN_METADATA, IPRO_CLI_STD_METADATA,
                              IPRO_CLI_CLASSES_METADATA};
  const char *const values[] = {mean, std, classes};
  ipro_export_request trained = {.source_model = r->options->model,
                                 .destination = r->options->out,
                                 .value_of = r->pipeline ? export_gathered : export_value,
                                 .context = r->pipeline ? (void *)&r->gathered : (void *)r->trainer,
                                 .n_metadata = 3,
                                 .metadata_keys = keys,
                                 .metadata_values = values};
  ipro_export_request inference = trained;
  inference.destination = r->options->out_inference;
  inference.inference = true;
  bool exported = (!r->options->out || ipro_onnx_export(&trained, err) == IPRO_OK) &&
                  (!r->options->out_inference || ipro_onnx_export(&inference, err) == IPRO_OK);
  free(classes);
  if (!exported) return IPRO_ERROR;
  uint64_t peak_after_export = ipro_process_memory_status_bytes("VmHWM");
  /* In a pipeline each rank holds its own module's memory; rank 0 speaks for its own. */
  ipro_cli_memory_report memory = memory_of_trainer(r);
  memory.allocator = training_heap;
  memory.export_heap = r->options->out || r->options->out_inference
                           ? ipro_process_memory_heap_growth(&export_probe)
                           : 0;
  memory.export_rss_peak =
      peak_after_export > peak_before_export ? peak_after_export - peak_before_export : 0;
  memory.between_epochs_held = r->between_epochs_held;
  memory.between_epochs_peak = r->between_epochs_peak;
  memory.rss_baseline = r->process.rss_baseline;
  memory.library_pages = ipro_process_memory_file_growth(&r->process);
  memory.dataset = r->train_data.bytes + r->test_data.bytes;
  memory.split_search_rss = r->split_search_rss;
  memory.split_search_held = r->split_search_held;
  memory.kernels_ahead = r->options->program != NULL;
  memory.loader = ipro_batch_loader_bytes(r->loader) + ipro_batch_loader_bytes(r->evaluator.loader);
  memory.end_to_end = r->e2e_peak;
  memory.K = r->K;
  printf("trained %lld epochs in %.1f s: test accuracy %.4f\n", (long long)epochs_run, seconds,
         r->test_accuracy);
  if (r->pipeline) {
    char modules[32];
    printf("memory of rank 0 (%s of %d):\n", stage_modules(r, 0, modules, sizeof modules), r->K);
  }
  ipro_cli_memory_report_print(&memory, stdout);
  if (r->pipeline) ipro_cli_pipeline_report_memory(&r->ranks, stdout);
  if (r->options->out) printf("wrote %s\n", r->options->out);
  if (r->options->out_inference) printf("wrote %s (inference form)\n", r->options->out_inference);
  if (r->options->out && r->train_data.class_names) {
    char path[4096];
    classes_path(r->options->out, path, sizeof path);
    if (ipro_cli_write_classes(&r->train_data, path, err) != IPRO_OK) return IPRO_ERROR;
    printf("wrote %s\n", path);
  }
  return write_json(r, &memory, epochs_run, seconds, err);
}

static void release(train_run *r) {
  ipro_cli_epoch_history_free(&r->history);
  ipro_batch_loader_destroy(r->loader);
  ipro_trainer_free(r->trainer);
  ipro_cli_evaluator_close(&r->evaluator);
  if (r->eval_backend) r->eval_backend->destroy(r->eval_backend);
  if (r->eval_fallback) r->eval_fallback->destroy(r->eval_fallback);
  ipro_dataset_free(&r->test_data);
  ipro_dataset_free(&r->train_data);
  ipro_checkpoint_release(&r->gathered);
}

/* Under mpirun: ends the job with status 1, this rank's message (naming it, and with replicas
 * which stage of which replica it is, 1-based as the modules are) on stderr, and MPI_Abort so
 * that no rank waits for one that has stopped. */
static int fail_rank(train_run *r, const char *message) {
  char stage[64] = "";
  if (ipro_pipeline_replicas(r->pipeline) > 1)
    snprintf(stage, sizeof stage, " (stage %d of replica %d)", ipro_pipeline_stage(r->pipeline) + 1,
             ipro_pipeline_replica(r->pipeline) + 1);
  fprintf(stderr, "infopro: rank %d%s: %s\n", ipro_pipeline_rank(r->pipeline), stage, message);
  fflush(stderr);
  ipro_pipeline_abort(r->pipeline, 1);
  return 1;
}

/* Under mpirun, after every rank prepared: the first rank that failed (if any) prints its
 * message, and every rank stops with status 1 (a failure that every rank meets, such as a
 * missing model, is printed once). Then the ranks meet their neighbours. */
static ipro_status prepare_pipeline(train_run *r, ipro_status prepared, ipro_error *err,
                                    int *exit_status) {
  /* one agreement per rank: prepare's, where the ranks that got that far failed or not */
  int failed = r->failure_agreed ? r->failed_rank
                                 : ipro_pipeline_first_failure(r->pipeline, prepared == IPRO_OK);
  if (failed >= 0) {
    if (failed == ipro_pipeline_rank(r->pipeline))
      fprintf(stderr, "infopro: rank %d: %s\n", failed, err->message);
    *exit_status = 1;
    return IPRO_ERROR;
  }
  const ipro_dataset *d = &r->train_data;
  size_t image_bytes = sizeof(float) * (size_t)r->position.batch * (size_t)d->channels *
                       (size_t)d->height * (size_t)d->width;
  int64_t before = ipro_process_memory_heap_level(&r->training);
  if (ipro_pipeline_attach(r->pipeline, r->trainer, image_bytes,
                           sizeof(int64_t) * (size_t)r->position.batch, err) != IPRO_OK)
    *exit_status = fail_rank(r, err->message); /* does not return */
  r->pipeline_heap = ipro_process_memory_heap_level(&r->training) - before;
  return IPRO_OK;
}

/* A compiled program's model is served from memory under a path beside the runner
 * (DIR/MODEL.onnx) where no file lies: a message naming that path names the runner, DIR/train,
 * instead, which is what the user ran. */
static void name_the_runner(const char *model_path, ipro_error *err) {
  const char *slash = model_path ? strrchr(model_path, '/') : NULL;
  if (!slash) return;
  char runner[1200], message[sizeof err->message];
  snprintf(runner, sizeof runner, "%.*s/train", (int)(slash - model_path), model_path);
  size_t used = 0, length = strlen(model_path);
  for (const char *at = err->message; *at && used + 1 < sizeof message;) {
    bool model = strncmp(at, model_path, length) == 0;
    const char *piece = model ? runner : at;
    size_t size = model ? strlen(runner) : 1;
    if (used + size >= sizeof message) break;
    memcpy(message + used, piece, size);
    used += size;
    at += model ? length : 1;
  }
  message[used] = '\0';
  memcpy(err->message, message, used + 1);
}

/* `infopro train` (model: how it searches the split and builds the trainer) and a compiled
 * program's runner (program not NULL, its model at model_path). */
static int train_command(int argc, char **argv, const ipro_cli_train_model *model,
                         const ipro_program *program, const char *model_path) {
  ipro_error err = {{0}};
  ipro_pipeline *mpi = NULL;
  if (ipro_pipeline_launched()) {
    /* A plugin that cannot load fails every rank alike: rank 0 says why. Anything else (MPI
     * failing to start on one node) is said by the rank it happens on. */
    if (ipro_pipeline_open(&mpi, &err) != IPRO_OK) {
      int rank = ipro_pipeline_launched_rank();
      if (ipro_pipeline_plugin_missing()) return rank > 0 ? 1 : ipro_cli_fail(err.message);
      fprintf(stderr, "infopro: rank %d: %s\n", rank, err.message);
      return 1;
    }
    if (ipro_pipeline_rank(mpi) > 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 reports */
      return ipro_cli_fail("cannot silence the standard output of a rank other than 0");
  }
  /* Every rank parses the same command line and meets its usage errors alike: rank 0 prints
   * them, and every rank exits with their status. */
  int stderr_aside = mpi && ipro_pipeline_rank(mpi) > 0 ? ipro_cli_stderr_silence() : -1;
  train_options o;
  int parsed = parse(argc, argv, program, model_path, &o);
  if (parsed < 0 && refuse_clashing_files(&o)) parsed = 2;
  if (parsed < 0 && refuse_replacing_checkpoint(&o)) parsed = 2;
  if (parsed < 0 && refuse_resume_with_nothing_to_train(&o)) parsed = 2;
  ipro_cli_stderr_restore(stderr_aside);
  if (parsed >= 0) {
    ipro_pipeline_close(mpi);
    return parsed;
  }
  /* --json -: stdout for the JSON alone, on the process that writes it (a pipeline's rank 0) */
  if (o.json && strcmp(o.json, "-") == 0 && (!mpi || ipro_pipeline_rank(mpi) == 0) &&
      !(o.json_stdout = ipro_cli_json_stdout_begin())) {
    fprintf(stderr, "%s: --json -: cannot set stdout aside for the JSON: %s\n", command_name(&o),
            strerror(errno));
    ipro_pipeline_close(mpi);
    return 1;
  }
  train_run r = {.options = &o,
                 .model = model,
                 .pipeline = mpi && ipro_pipeline_size(mpi) > 1 ? mpi : NULL,
                 .local = o.local};
  /* The libraries the run will map are part of the baseline, not of the growth measured from it:
   * the kernel compiler (LLVM) is otherwise loaded at the first compilation. */
  ipro_process_memory_map_large_blocks();
  ipro_status status = model ? model->preload(&err) : IPRO_OK;
  ipro_process_memory_begin(&r.process);
  if (status == IPRO_OK) status = prepare(&r, &err);
  int exit_status = 0;
  if (r.pipeline) status = prepare_pipeline(&r, status, &err, &exit_status);
  /* what the split search and the construction freed is not kept resident through training */
  ipro_process_memory_return_free_pages();
  if (status == IPRO_OK) {
    if (leads(&r)) print_header(&r);
    status = train(&r, &err);
  }
  if (status != IPRO_OK && program) name_the_runner(model_path, &err);
  if (status != IPRO_OK && !exit_status)
    exit_status = r.pipeline ? fail_rank(&r, err.message) : ipro_cli_fail(err.message);
  ipro_pipeline_detach(r.pipeline); /* its device buffers go before the trainer's backend */
  release(&r);
  ipro_pipeline_close(mpi);
  if (o.json_stdout && fclose(o.json_stdout) != 0 && !exit_status)
    exit_status = ipro_cli_fail("cannot write the JSON to stdout");
  return exit_status;
}

int ipro_cli_train_loop(int argc, char **argv, const ipro_cli_train_model *model) {
  return train_command(argc, argv, model, NULL, NULL);
}

int ipro_cli_train_compiled(int argc, char **argv, const ipro_program *program,
                            const char *model_path) {
  return train_command(argc, argv, NULL, program, model_path);
}
