/* `infopro train`'s options (train_options.h): its usage, and a compiled program's
 * runner's, which shows train's without the options its program fixed; the parser; the refusals
 * before any work. */
#include "train_options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "finite_number.h"
#include "frontend/onnx_export.h"
#include "ir/printable.h"
#include "output_paths.h"
#include "runtime/checkpoint.h"
#include "runtime/mpi/pipeline.h"
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

static int parse_milestones(const char *text, ipro_cli_train_options *o) {
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
static int parse_stages(const char *text, const ipro_program *program, ipro_cli_train_options *o) {
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

/* "A training program compiled by infopro 0.29.0 (...) from MODEL (SHA-256 ...):", the compiler
 * left out for a program of format 2 or 3, which does not record it. */
static void print_program_origin(const ipro_program *p, FILE *to) {
  char shown[IPRO_PRINTABLE_MAX], compiler[IPRO_PRINTABLE_MAX]; /* from the file: escaped */
  fprintf(to, "A training program compiled by %s%s from %s (SHA-256 %s):\n",
          p->compiler[0] ? "infopro " : "`infopro compile`",
          p->compiler[0] ? ipro_printable(p->compiler, compiler, sizeof compiler) : "",
          ipro_printable(p->model_name, shown, sizeof shown), p->model_sha256);
}

/* What a compiled program's runner says about itself under --help (to stdout) and after a usage
 * error (to stderr). */
static void print_program_usage(const ipro_program *p, FILE *to) {
  char shown[IPRO_PRINTABLE_MAX]; /* a model-supplied name, escaped (ir/printable.h) */
  fprintf(to, "usage: train --data SPEC [options]\n");
  print_program_origin(p, to);
  fprintf(to, "batch %lld, %s, ", (long long)p->batch, ipro_device_name(p->device));
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
          "--version gives this runner's build, then the infopro that compiled the program.\n"
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

const char *ipro_cli_train_command_name(const ipro_cli_train_options *o) {
  return o->program ? "train" : "infopro train";
}

/* A milestone at or after the run's last epoch would never lower the rate (the rate drops from
 * the epoch after it): such a --milestones is a slip, refused rather than ignored. whose: what
 * the epoch count comes from, when not --epochs. */
static int refuse_unreachable_milestones(const ipro_cli_train_options *o, int64_t total_epochs,
                                         const char *whose) {
  if (!o->given.milestones || o->milestones[o->n_milestones - 1] < total_epochs) return 0;
  if (total_epochs == 1) { /* "give milestones below 1" asked for what cannot be */
    fprintf(stderr,
            "%s: --milestones has no epoch to change the rate at in a one-epoch run (a "
            "milestone must lie below the run's epochs); leave it out or give more --epochs\n",
            ipro_cli_train_command_name(o));
    return 2;
  }
  fprintf(stderr,
          "%s: --milestones epoch %lld is not below the run's %lld epochs%s, so it would never "
          "apply; give milestones below %lld\n",
          ipro_cli_train_command_name(o), (long long)o->milestones[o->n_milestones - 1],
          (long long)total_epochs, whose, (long long)total_epochs);
  return 2;
}

/* Warm-up epochs that take the whole run leave no epoch at the peak rate: the schedule refused
 * them once the data was read, exit status 1 and no option named; they are a usage error before
 * any work, naming both options. whose: what the epoch count comes from, when not --epochs. */
static int refuse_warmup_taking_the_run(const ipro_cli_train_options *o, int64_t warmup,
                                        int64_t total_epochs, const char *whose) {
  if (warmup < total_epochs) return 0;
  fprintf(stderr,
          "%s: --warmup-epochs %lld leaves nothing of the run's %lld epoch(s)%s; give fewer "
          "warm-up epochs than --epochs\n",
          ipro_cli_train_command_name(o), (long long)warmup, (long long)total_epochs, whose);
  return 2;
}

/* Options that set what the run does not use were once ignored without a word: --momentum and
 * --no-nesterov are SGD's (AdamW's moments have their own fixed betas), --gamma and --milestones
 * the step schedule's. Each is a usage error naming the optimizer or schedule that makes it
 * moot, whether given (--optimizer, --schedule), fixed by a compiled program, taken from the
 * checkpoint resumed (from_checkpoint) or the default. */
static int refuse_options_without_effect(const ipro_cli_train_options *o,
                                         ipro_optimizer_kind optimizer, ipro_schedule_kind schedule,
                                         bool from_checkpoint) {
  const ipro_cli_train_given *g = &o->given;
  const char *sgd_only = g->momentum ? "--momentum" : g->nesterov ? "--no-nesterov" : NULL;
  const char *step_only = g->gamma ? "--gamma" : g->milestones ? "--milestones" : NULL;
  if (sgd_only && optimizer == IPRO_OPTIMIZER_ADAMW) {
    fprintf(stderr,
            "%s: %s has no effect with %s: it sets SGD's momentum, and AdamW's moments use "
            "their own betas; leave it out%s\n",
            ipro_cli_train_command_name(o), sgd_only,
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
            ipro_cli_train_command_name(o), step_only, whose,
            g->gamma ? "it is the step schedule's factor" : "they are the step schedule's epochs");
    return 2;
  }
  return 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse(int argc, char **argv, const ipro_program *program, const char *model_path,
                 ipro_cli_train_options *o) {
  *o = (ipro_cli_train_options){.epochs = 5,
                                .batch = 128,
                                .eval_batch = 256,
                                .schedule = IPRO_SCHEDULE_COSINE,
                                .optimizer = IPRO_OPTIMIZER_SGD,
                                .gamma = 0.1,
                                .nesterov = true};
  ipro_cli_train_given *g = &o->given;
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
    if (program && strcmp(argv[i], "--version") == 0) { /* the runner's build, then the program's */
      ipro_cli_print_version(stdout);
      print_program_origin(program, stdout);
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
            ipro_cli_train_command_name(o), (long long)o->limit, (long long)o->batch);
    return 2;
  }
  return -1;
}

void ipro_cli_train_classes_path(const char *out, char *path, size_t size) {
  size_t length = strlen(out);
  if (length > 5 && !strcmp(out + length - 5, ".onnx")) length -= 5;
  snprintf(path, size, "%.*s.classes.txt", (int)length, out);
}

/* Every file the run writes (a model's weights file, frontend/onnx_export.h, and the classes
 * file only in some runs, but a name they may take is refused all the same) and, in a compiled
 * program's runner, the program's own files beside it and its model's side files (external data,
 * which the next start reads its weights from): no two may be the same file. The input model is
 * not among them: --out MODEL.onnx writes the trained weights back into it. */
static int refuse_clashing_files(const ipro_cli_train_options *o) {
  ipro_cli_outputs *files = calloc(1, sizeof *files); /* 80 paths: not on the stack */
  char(*side_files)[IPRO_CLI_PATH_BYTES] = malloc(sizeof *side_files * IPRO_ONNX_MAX_SIDE_FILES);
  if (!files || !side_files) {
    free(files), free(side_files);
    fprintf(stderr, "%s: out of memory\n", ipro_cli_train_command_name(o));
    return 1;
  }
  char path[4200];
  ipro_cli_outputs_add(files, "--out", o->out, false);
  if (o->out) {
    snprintf(path, sizeof path, "%s.data", o->out);
    ipro_cli_outputs_add(files, "the weights file written beside --out", path, false);
    ipro_cli_train_classes_path(o->out, path, sizeof path);
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
    int folder = slash ? (int)(slash - o->model) : 1;
    const char *model_folder = slash ? o->model : ".";
    for (int i = 0; i < IPRO_PROGRAM_FOLDER_FILE_COUNT; i++) {
      snprintf(path, sizeof path, "%.*s/%s", folder, model_folder, ipro_program_folder_files[i]);
      ipro_cli_outputs_add(files, "one of this program's own files", path, true);
    }
    /* the model's external data, copied into the folder by compile (read from the model in
     * memory) */
    int count = ipro_cli_model_side_files(o->model, side_files);
    for (int i = 0; i < count; i++)
      ipro_cli_outputs_add(files, "the weights file of this program's model", side_files[i], true);
  }
  int status = ipro_cli_outputs_refuse_clashes(ipro_cli_train_command_name(o), files);
  free(files), free(side_files);
  /* --json and --out-inference on a file the run reads (the model, its external data, an npz
   * file) would replace it; --out may be the model: it writes the trained weights back */
  const char *const options[2][2] = {{"--json", o->json}, {"--out-inference", o->out_inference}};
  for (int i = 0; i < 2 && status == 0; i++) {
    char read_path[4200];
    const char *read =
        ipro_cli_read_file_at(options[i][1], o->model, o->data, read_path, sizeof read_path);
    if (!read) continue;
    fprintf(stderr,
            "%s: %s '%s' is '%s', which the run reads: writing it would replace it; write it "
            "elsewhere\n",
            ipro_cli_train_command_name(o), options[i][0], options[i][1], read);
    status = 2;
  }
  return status;
}

/* Without --resume a run starts at epoch 1 and its first checkpoint would replace the one DIR
 * holds, which may be of hours of training, or of another model: refused, as a usage error (the
 * command line asks for a fresh run where there is a run to continue), with what the checkpoint's
 * first bytes say of it once its CRC-32 holds (a damaged one is said to be damaged, not described
 * by figures read from the damage). A checkpoint path that is not a file is left to the checks
 * that report an unwritable checkpoint. */
static int refuse_replacing_checkpoint(const ipro_cli_train_options *o) {
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
            ipro_cli_train_command_name(o), o->checkpoint, path, err.message);
  else
    fprintf(stderr,
            "%s: %s already holds a checkpoint (%s: after epoch %lld of %lld, step %llu, batch "
            "%lld, %s); give --resume to continue it, or remove it (or choose another folder) to "
            "start afresh\n",
            ipro_cli_train_command_name(o), o->checkpoint, path, (long long)p.epochs_done,
            (long long)p.total_epochs, (unsigned long long)p.steps_done, (long long)p.batch,
            p.optimizer.kind == IPRO_OPTIMIZER_ADAMW ? "adamw" : "sgd");
  return 2;
}

/* On --resume, --epochs is the run's total, epochs done included (the checkpoint's own total
 * when not given): a total the checkpoint has already reached trains nothing, and once printed
 * "trained 0 epochs" and wrote --out all the same. Refused as a usage error before any work.
 * The milestones given are checked here too, against that total. A checkpoint that cannot be
 * read, or is damaged (its CRC-32 checked first: a damaged position once read as "after epoch
 * 24769797950537729"), is left to the reading that reports it. */
static int refuse_resume_with_nothing_to_train(const ipro_cli_train_options *o) {
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
              ipro_cli_train_command_name(o), path, (long long)p.epochs_done, (long long)o->epochs,
              (long long)p.epochs_done);
    else
      fprintf(stderr,
              "%s: %s is after epoch %lld, the last of its %lld-epoch run: --resume trains "
              "nothing more; give --epochs above %lld (the run's total, epochs done included)\n",
              ipro_cli_train_command_name(o), path, (long long)p.epochs_done,
              (long long)p.total_epochs, (long long)p.epochs_done);
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

int ipro_cli_train_options_read(int argc, char **argv, const ipro_program *program,
                                const char *model_path, ipro_cli_train_options *o) {
  int parsed = parse(argc, argv, program, model_path, o);
  if (parsed < 0 && refuse_clashing_files(o)) parsed = 2;
  if (parsed < 0 && refuse_replacing_checkpoint(o)) parsed = 2;
  if (parsed < 0 && refuse_resume_with_nothing_to_train(o)) parsed = 2;
  return parsed;
}
