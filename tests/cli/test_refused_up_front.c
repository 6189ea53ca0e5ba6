/* Hostile sizes and careless options get one clear message before any work, through the binary:
 *   - the fuzz-found model whose Reshape overflowed int64 (tests/fuzz/corpus/onnx_load/
 *     regression-reshape-overflow.onnx): exit 1, one line naming the node, no sanitizer report;
 *   - --batch beyond what ResNet-8's sizes allow (99999999999, 2^31, 2^32: once a 14-exabyte
 *     "plan", a SIGSEGV and a SIGFPE): exit 1 with the largest batch possible, which is checked
 *     by brute force: `inspect --batch M` succeeds and `inspect --batch M+1` fails; `train`
 *     refuses such a batch before reading the data;
 *   - -K with --cuts, and -K or --cuts with --budget in `train` (where the budget would be
 *     ignored): usage errors (exit 2) naming both options;
 *   - --cuts with an empty name or more names than 16 modules have: usage errors (exit 2);
 *   - --lambda, --lr, --gamma, --momentum, --weight-decay, --mean and --std with NaN, infinity or
 *     a value beyond float's range (1e39), in train, compile, plan and eval: usage errors naming
 *     the option and the value; a finite --lambda with a tiny and a huge weight still plans;
 *   - --out on /proc, --out naming a directory, and a checkpoint directory whose checkpoint file
 *     is a directory: exit 1 naming the path, before a single training step;
 *   - a run that fails before its first checkpoint leaves no --checkpoint folder it created
 *     (nor its created parents), and keeps one that was there;
 *   - two outputs on one file (--out and --out-inference spelt "a/x" and "a/../a/x", --json
 *     through a symlinked folder, --out on the checkpoint file, --json on the classes file
 *     beside --out), and a compiled program's runner given an output on its own program.ipro,
 *     kernels.so or train: exit 2 naming both, nothing written, the program still runs; --out on
 *     the input model stays allowed (the trained weights written back into it);
 *   - --seed and --warmup-epochs below 0: usage errors saying "a non-negative integer" (0 is
 *     allowed); --milestones out of order, repeated, or at or past the run's epochs: usage errors;
 *   - options the run would not use (--momentum, --no-nesterov with AdamW, in train, compile,
 *     a compiled runner; --gamma, --milestones with a schedule other than step, given, default or
 *     resumed; --aux-head, --decoder, --local-loss, --lambda with no split, in train, compile and
 *     plan): usage errors naming the option and why it has no effect;
 *   - --checkpoint DIR without --resume where DIR holds a checkpoint: exit 2 with what the
 *     checkpoint says of itself (epoch, step, batch), or that it is no checkpoint, and the file
 *     left as it was; with --resume, an --epochs at or below the epochs done (or none given when
 *     the checkpoint's run is finished), or a milestone past the resumed total: exit 2 naming the
 *     epoch reached, nothing written;
 *   - an unknown option, an option without its value and a missing required argument of every
 *     command (train, eval, compile, export, inspect, run, plan): exit 2, a first line naming
 *     which, then the usage;
 *   - opset imports beyond those the node tests run (ai.onnx 26, a made-up domain): one warning
 *     line naming them; the bundled models (ai.onnx 17) get none;
 *   - `compile` of the MLP (1x28x28 images) for 3x32x32 npz images, end to end and with -K 2:
 *     exit 1 with train's message naming both shapes, no DIR written (it failed inside a head's
 *     loss at -K 2, and wrote a program end to end);
 *   - `train` on an image folder of 3 classes at --batch 4: the output's shape with N ([N,10]),
 *     not "[1,10] at batch 1", the batch the check infers at;
 *   - `run` given a zero-byte --input: the file is empty (it said "tensor '' has dtype
 *     undefined");
 *   - a model of two outputs (the MLP with its hidden activation as a second): exit 1 naming both
 *     and saying to export the logits alone. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx_decode.h"
#include "support/check.h"
#include "support/command.h"
#include "support/mpi_runs.h"
#include "support/user_data.h"

static char directory[] = "/tmp/ipro_test_refused_XXXXXX";

static int lines(const char *text) {
  int count = 0;
  for (const char *p = text; *p; p++)
    count += *p == '\n';
  return count;
}

static void expect(const char *arguments, int status, const char *first, const char *second) {
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == status, "%s: exit status %d (expected %d), stderr: %s", arguments,
            r.exit_status, status, r.err);
  CHECK_MSG(strstr(r.err, first) && (!second || strstr(r.err, second)),
            "%s: message lacks '%s' / '%s': %s", arguments, first, second ? second : "", r.err);
  CHECK_MSG(!strstr(r.err, "runtime error") && !strstr(r.err, "Sanitizer"),
            "%s: a sanitizer report: %s", arguments, r.err);
  CHECK_MSG(!strstr(r.out, "epoch"), "%s: training started before the refusal: %s", arguments,
            r.out);
}

static void regression_input(void) {
  ipro_command_result r;
  ipro_test_run_infopro("inspect tests/fuzz/corpus/onnx_load/regression-reshape-overflow.onnx", &r);
  CHECK_MSG(r.exit_status == 1 && lines(r.err) == 1 && strstr(r.err, "(Reshape)") &&
                strstr(r.err, "overflows"),
            "the Reshape-overflow model: exit %d, stderr: %s", r.exit_status, r.err);
}

/* The largest batch the message gives, or -1. */
static long long largest_batch(const char *message) {
  const char *at = strstr(message, "the largest batch possible is ");
  return at ? strtoll(at + strlen("the largest batch possible is "), NULL, 10) : -1;
}

static void batch_bound(void) {
  static const char *const batches[] = {"99999999999", "2147483648", "4294967296"};
  long long largest = -1;
  for (int i = 0; i < 3; i++) {
    char arguments[256];
    snprintf(arguments, sizeof arguments, "plan models/resnet8_fmnist.onnx --batch %s -K 2",
             batches[i]);
    ipro_command_result r;
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1 && lines(r.err) == 1, "%s: exit %d, stderr: %s", arguments,
              r.exit_status, r.err);
    long long m = largest_batch(r.err);
    CHECK_MSG(m > 0 && (largest < 0 || m == largest), "%s: no largest batch in: %s", arguments,
              r.err);
    largest = m;
  }
  char arguments[256];
  ipro_command_result r;
  snprintf(arguments, sizeof arguments, "inspect models/resnet8_fmnist.onnx --batch %lld", largest);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "the largest batch %lld is refused: %s", largest, r.err);
  snprintf(arguments, sizeof arguments, "inspect models/resnet8_fmnist.onnx --batch %lld",
           largest + 1);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && largest_batch(r.err) == largest,
            "batch %lld, one past the largest, gives exit %d: %s", largest + 1, r.exit_status,
            r.err);
}

static void train_batch_bound(void) {
  expect("train models/mlp_fmnist.onnx --data fashion-mnist --batch 4294967296", 1,
         "batch 4294967296 is too large", "the largest batch possible is");
}

/* --cuts text is split into names when read: an empty name, or more than a split can have, is a
 * usage error naming what --cuts expects, before the model is read. */
static void cuts_text(void) {
  expect("plan models/resnet8_fmnist.onnx --cuts /Relu_output_0,,/conv1/Conv_output_0", 2,
         "--cuts expects tensor names separated by commas, none empty", NULL);
  expect("train models/mlp_fmnist.onnx --data fashion-mnist --cuts /Relu_output_0,", 2,
         "none empty", NULL);
  char arguments[512] = "plan models/resnet8_fmnist.onnx --cuts a";
  for (int k = 1; k < 16; k++)
    strcat(arguments, ",a");
  expect(arguments, 2, "--cuts expects at most 15 tensor names (16 modules)", NULL);
}

/* a folder given where the model file goes: the reason is said, not only "cannot read" */
static void folder_as_model(void) {
  expect("inspect models", 1, "cannot read 'models': Is a directory", NULL);
  expect("eval models --data fashion-mnist", 1, "cannot read 'models': Is a directory", NULL);
}

static void conflicting_options(void) {
  expect("plan models/resnet8_fmnist.onnx -K 2 --cuts /Relu_output_0", 2, "-K and --cuts", NULL);
  expect("train models/mlp_fmnist.onnx --data fashion-mnist -K 2 --budget 64MiB", 2,
         "-K and --budget", "give one of");
  expect("train models/mlp_fmnist.onnx --data fashion-mnist --cuts x --budget 1GiB", 2,
         "--cuts and --budget", NULL);
  expect("train models/mlp_fmnist.onnx --data fashion-mnist --plan p.json -K 3", 2, "-K and --plan",
         NULL);
}

static void unwritable_outputs(void) {
  expect("train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 --out "
         "/proc/infopro.onnx",
         1, "cannot write '/proc/infopro.onnx'", NULL);
  char arguments[1024], blocked[800];
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 --out '%s'",
           directory);
  expect(arguments, 1, "it is a directory", NULL);
  /* The checkpoint file's name is taken by a directory: the save after the first epoch would
   * fail, so the run must not start. */
  snprintf(blocked, sizeof blocked, "%s/ck/checkpoint.ipck", directory);
  char parent[800];
  snprintf(parent, sizeof parent, "%s/ck", directory);
  CHECK(mkdir(parent, 0700) == 0 && mkdir(blocked, 0700) == 0);
  snprintf(
      arguments, sizeof arguments,
      "train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 --checkpoint '%s'",
      parent);
  expect(arguments, 1, "checkpoint directory", "it is a directory");
  /* standard output that cannot be written (a full disk) is a failure, not a 0 over lost output */
  if (access("/dev/full", W_OK) == 0) {
    char command[1200];
    ipro_command_result r;
    snprintf(command, sizeof command, "'%s' inspect models/mlp_fmnist.onnx > /dev/full",
             getenv("IPRO_INFOPRO"));
    ipro_test_run_command_expecting(command, &r, 1);
    CHECK_MSG(strstr(r.err, "infopro: cannot write the standard output: "),
              "inspect > /dev/full: %s", r.err);
  } else {
    printf("not checked: a full standard output (no /dev/full here)\n");
  }
}

/* a run small enough that, were an option not refused, the test would still take seconds */
#define TINY "--data fashion-mnist --limit 64 --test-limit 64 --epochs 1 --batch 32"

/* A run that fails before its first checkpoint (here: its model is missing) left the
 * --checkpoint folder it had created, empty, behind; it removes it now, with the parents it
 * created, and leaves a folder that was there before. */
static void failed_run_checkpoint_folder(void) {
  char created[800], parent[800], existing[800], arguments[2048];
  snprintf(parent, sizeof parent, "%s/made", directory);
  snprintf(created, sizeof created, "%s/made/ck", directory);
  snprintf(existing, sizeof existing, "%s/there", directory);
  CHECK(mkdir(existing, 0700) == 0);
  const char *const folders[] = {created, existing};
  for (int i = 0; i < 2; i++) {
    snprintf(arguments, sizeof arguments, "train models/missing.onnx " TINY " --checkpoint '%s'",
             folders[i]);
    ipro_command_result r;
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1, "%s: exit status %d, stderr: %s", arguments, r.exit_status,
              r.err);
  }
  CHECK_MSG(access(parent, F_OK) != 0, "the failed run left the folder %s it created", parent);
  CHECK_MSG(access(existing, F_OK) == 0, "the failed run removed the folder %s it found", existing);
}

/* Real-valued options end up in float arithmetic, where NaN, infinity or a value beyond float's
 * range (1e39) once trained a model full of NaN weights and exited 0: each is a usage error naming
 * the option and the value, before any work. */
static void non_finite_numbers(void) {
  static const char *const lambdas[] = {"nan,1,0,1",  "1,inf,0,1", "1,1,-inf,1",
                                        "1e39,1,0,1", "1,1,0,1x",  "1,1,0"};
  for (size_t i = 0; i < sizeof lambdas / sizeof lambdas[0]; i++) {
    char arguments[256];
    snprintf(arguments, sizeof arguments, "train models/mlp_fmnist.onnx " TINY " -K 2 --lambda %s",
             lambdas[i]);
    expect(arguments, 2, "--lambda expects four non-negative weights", lambdas[i]);
    snprintf(arguments, sizeof arguments, "plan models/mlp_fmnist.onnx -K 2 --lambda %s",
             lambdas[i]);
    expect(arguments, 2, "--lambda", lambdas[i]);
  }
  expect("compile models/mlp_fmnist.onnx --data fashion-mnist -o /nonexistent/p --lambda 5,1,0,nan",
         2, "--lambda", "5,1,0,nan");
  expect("train models/mlp_fmnist.onnx " TINY " --lr 1e39", 2, "--lr expects", "1e39");
  expect("train models/mlp_fmnist.onnx " TINY " --gamma inf", 2, "--gamma", "inf");
  expect("train models/mlp_fmnist.onnx " TINY " --momentum nan", 2, "--momentum", "nan");
  expect("compile models/mlp_fmnist.onnx --data fashion-mnist -o /nonexistent/p --momentum nan", 2,
         "--momentum", "nan");
  expect(
      "compile models/mlp_fmnist.onnx --data fashion-mnist -o /nonexistent/p --weight-decay 1e39",
      2, "--weight-decay", "1e39");
  expect("train models/mlp_fmnist.onnx " TINY " --mean 1e39", 2, "--mean", "1e39");
  expect("eval models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --std nan", 2, "--std",
         "nan");
  /* what is finite still parses, the smallest floats included */
  ipro_command_result r;
  ipro_test_run_infopro("plan models/mlp_fmnist.onnx -K 2 --batch 8 --lambda 0.5,1,1e-50,3.4e38",
                        &r);
  CHECK_MSG(r.exit_status == 0, "a finite --lambda is refused: exit %d, stderr: %s", r.exit_status,
            r.err);
}

/* Counts that may be 0 say so when refused (they said "a positive integer" while 0 passed), and
 * the step schedule's milestones must be increasing epochs below the run's: one out of order,
 * given twice or never reached was accepted silently. */
static void schedule_options(void) {
  expect("train models/mlp_fmnist.onnx " TINY " --seed -1", 2,
         "--seed expects a non-negative integer, got '-1'", NULL);
  expect("train models/mlp_fmnist.onnx " TINY " --warmup-epochs -1", 2,
         "--warmup-epochs expects a non-negative integer, got '-1'", NULL);
  expect("train models/mlp_fmnist.onnx " TINY " --epochs 0", 2,
         "--epochs expects a positive integer, got '0'", NULL);
  expect("train models/mlp_fmnist.onnx " TINY " --schedule step --milestones 5,1", 2,
         "--milestones expects increasing epochs, each given once, got '5,1'", NULL);
  expect("train models/mlp_fmnist.onnx " TINY " --milestones 2,2", 2,
         "--milestones expects increasing epochs, each given once, got '2,2'", NULL);
  expect("train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --test-limit 64 --batch 32 "
         "--epochs 3 --schedule step --milestones 1,3",
         2, "--milestones epoch 3 is not below the run's 3 epochs, so it would never apply",
         "give milestones below 3");
  /* option conflicts found once the data was read, exit status 1, naming no option (a batch
   * loader's "10 examples make no complete batch of 32"): usage errors before any work */
  expect("train models/mlp_fmnist.onnx " TINY " --warmup-epochs 1", 2,
         "infopro train: --warmup-epochs 1 leaves nothing of the run's 1 epoch(s)",
         "give fewer warm-up epochs than --epochs");
  expect("train models/mlp_fmnist.onnx --data fashion-mnist --limit 10 --batch 32", 2,
         "infopro train: --limit 10 leaves no complete batch of 32 (--batch)", NULL);
  /* a one-epoch run has no milestone to give: it was told to "give milestones below 1" */
  expect("train models/mlp_fmnist.onnx " TINY " --schedule step --milestones 1", 2,
         "infopro train: --milestones has no epoch to change the rate at in a one-epoch run",
         "leave it out or give more --epochs");
}

/* Options the run would not use were ignored without a word (exit 0, the header showing the
 * optimizer or schedule that ignored them): SGD's --momentum and --no-nesterov with AdamW, the
 * step schedule's --gamma and --milestones with another schedule, and the heads' options with
 * no split to put heads on. Each is a usage error naming the option and why; plan and compile
 * say the same. */
static void options_without_effect(void) {
  expect("train models/mlp_fmnist.onnx " TINY " --optimizer adamw --momentum 0.5", 2,
         "infopro train: --momentum has no effect with --optimizer adamw: it sets SGD's momentum",
         "leave it out or train with --optimizer sgd");
  expect("train models/mlp_fmnist.onnx " TINY " --no-nesterov --optimizer adamw", 2,
         "--no-nesterov has no effect with --optimizer adamw", NULL);
  expect("compile models/mlp_fmnist.onnx --data fashion-mnist -o /nonexistent/p --optimizer adamw "
         "--momentum 0.5",
         2, "infopro compile: --momentum has no effect with --optimizer adamw", NULL);
  expect("train models/mlp_fmnist.onnx " TINY " --gamma 0.5", 2,
         "infopro train: --gamma has no effect with the default schedule, cosine: it is the step "
         "schedule's factor",
         "give --schedule step");
  expect("train models/mlp_fmnist.onnx " TINY " --schedule constant --milestones 1", 2,
         "--milestones has no effect with --schedule constant: they are the step schedule's "
         "epochs",
         NULL);
  expect("train models/mlp_fmnist.onnx " TINY " --schedule cosine --gamma 0.5 --milestones 1", 2,
         "--gamma has no effect with --schedule cosine", NULL);
  expect("train models/mlp_fmnist.onnx " TINY " --decoder reduced", 2,
         "infopro train: --decoder has no effect without a split: it shapes the local modules' "
         "heads, and end-to-end training (no -K, --budget, --cuts or --plan) has none",
         "give a split (-K N, --budget, --cuts or --plan) or leave it out");
  expect("train models/mlp_fmnist.onnx " TINY " --local-loss ce --lambda 1,1,1,1", 2,
         "--local-loss has no effect without a split", NULL);
  expect("train models/mlp_fmnist.onnx " TINY " -K 1 --aux-head 1c2f", 2,
         "--aux-head has no effect without a split", "-K 1 (end-to-end training) has none");
  /* a head beyond the limits names them */
  expect("plan models/resnet8_fmnist.onnx -K 2 --batch 8 --aux-head 4c2f", 2,
         "--aux-head expects auto or <n>c<m>f with n of 0 to 3 convolutions and m of 1 to 3",
         "got '4c2f'");
  expect("plan models/mlp_fmnist.onnx --lambda 1,1,1,1", 2,
         "infopro plan: --lambda has no effect without a split", NULL);
  expect("compile models/mlp_fmnist.onnx --data fashion-mnist -o /nonexistent/p --aux-head 0c1f", 2,
         "infopro compile: --aux-head has no effect without a split", NULL);
  /* with a split they still apply */
  ipro_command_result r;
  ipro_test_run_infopro("plan models/mlp_fmnist.onnx -K 2 --batch 8 --decoder reduced", &r);
  CHECK_MSG(r.exit_status == 0, "plan -K 2 --decoder reduced: exit %d, stderr: %s", r.exit_status,
            r.err);
}

/* models/mlp_fmnist.onnx with its opset imports replaced by the given ones. */
static void write_with_opsets(const char *path, const char *domain, int64_t version,
                              int64_t default_version) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  ipro_error err;
  CHECK_OK(ipro_onnx_read_file("models/mlp_fmnist.onnx", &bytes, &size, &err), &err);
  Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, bytes);
  CHECK(model && model->n_opset_import >= 1);
  if (!model || model->n_opset_import < 1) return;
  Onnx__OperatorSetIdProto extra = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  extra.domain = (char *)domain;
  extra.has_version = 1;
  extra.version = version;
  Onnx__OperatorSetIdProto *imports[2] = {model->opset_import[0], &extra};
  Onnx__OperatorSetIdProto **saved = model->opset_import;
  size_t saved_count = model->n_opset_import;
  int64_t saved_version = model->opset_import[0]->version;
  model->opset_import[0]->version = default_version;
  model->opset_import = imports;
  model->n_opset_import = domain ? 2 : 1;
  size_t packed_size = onnx__model_proto__get_packed_size(model);
  uint8_t *packed = malloc(packed_size);
  onnx__model_proto__pack(model, packed);
  model->opset_import = saved;
  model->n_opset_import = saved_count;
  model->opset_import[0]->version = saved_version;
  FILE *file = fopen(path, "wb");
  CHECK(file && fwrite(packed, 1, packed_size, file) == packed_size);
  if (file) fclose(file);
  free(packed);
  onnx__model_proto__free_unpacked(model, NULL);
  free(bytes);
}

static void untested_opsets(void) {
  char path[800], arguments[1024];
  snprintf(path, sizeof path, "%s/opsets.onnx", directory);
  snprintf(arguments, sizeof arguments, "inspect '%s'", path);
  ipro_command_result r;
  write_with_opsets(path, "com.example.unknown", 3, 26);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && lines(r.err) == 1 && strstr(r.err, "warning") &&
                strstr(r.err, "ai.onnx 26, com.example.unknown 3"),
            "opset 26 + an unknown domain: exit %d, stderr: %s", r.exit_status, r.err);
  ipro_test_run_infopro("inspect models/mlp_fmnist.onnx", &r);
  CHECK_MSG(r.exit_status == 0 && r.err[0] == '\0', "a tested opset warned: %s", r.err);
}

#define SMALL_RUN                                                                                  \
  "models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --test-limit 64 --epochs 1 --batch 32"

static void clashing_outputs(void) {
  char a[800], link[800], arguments[4096];
  snprintf(a, sizeof a, "%s/a", directory);
  snprintf(link, sizeof link, "%s/link", directory);
  CHECK(mkdir(a, 0700) == 0 && symlink(a, link) == 0);
  snprintf(arguments, sizeof arguments,
           "train " SMALL_RUN " --out '%s/x.onnx' --out-inference '%s/../a/x.onnx'", a, a);
  expect(arguments, 2, "--out-inference", "are the same file: one would overwrite the other");
  snprintf(arguments, sizeof arguments, "train " SMALL_RUN " --out '%s/x.onnx' --json '%s/x.onnx'",
           a, link);
  expect(arguments, 2, "--json", "are the same file");
  snprintf(arguments, sizeof arguments,
           "train " SMALL_RUN " --checkpoint '%s/ck_out' --out '%s/ck_out/checkpoint.ipck'",
           directory, directory);
  expect(arguments, 2, "the checkpoint file of --checkpoint", "are the same file");
  snprintf(arguments, sizeof arguments,
           "train " SMALL_RUN " --out '%s/m.onnx' --json '%s/m.classes.txt'", a, a);
  expect(arguments, 2, "the classes file written beside --out", "are the same file");
  char written[900];
  snprintf(written, sizeof written, "%s/x.onnx", a);
  CHECK_MSG(access(written, F_OK) != 0, "a refused run wrote %s", written);
  /* --json or --out-inference on the model the run reads (spelt another way), or on its external
   * data: refused, the files intact (--out on the model stays allowed: it writes the weights back)
   */
  char model[900], data[900], command[2200];
  snprintf(model, sizeof model, "%s/ext.onnx", a);
  snprintf(data, sizeof data, "%s/ext.onnx.data", a);
  snprintf(arguments, sizeof arguments, "export models/mlp_fmnist.onnx -o '%s' --external-data",
           model);
  ipro_command_result exported;
  ipro_test_run_infopro(arguments, &exported);
  CHECK_MSG(exported.exit_status == 0 && access(data, F_OK) == 0, "export --external-data: %s",
            exported.err);
  snprintf(command, sizeof command, "cp '%s' '%s.kept' && cp '%s' '%s.kept'", model, model, data,
           data);
  CHECK(system(command) == 0);
  snprintf(
      arguments, sizeof arguments,
      "train '%s' --data fashion-mnist --limit 64 --batch 32 --epochs 1 --json '%s/../a/ext.onnx'",
      model, a);
  expect(arguments, 2, "--json", "which the run reads");
  snprintf(arguments, sizeof arguments,
           "train '%s' --data fashion-mnist --limit 64 --batch 32 --epochs 1 --out-inference '%s'",
           model, data);
  expect(arguments, 2, "--out-inference", "which the run reads");
  snprintf(command, sizeof command, "cmp -s '%s' '%s.kept' && cmp -s '%s' '%s.kept'", model, model,
           data, data);
  CHECK_MSG(system(command) == 0, "a refused run changed the model or its external data");
}

/* A checkpoint made by a small run (whose --out is its own input model, which stays allowed),
 * then a run on its folder without --resume. */
static void existing_checkpoint(void) {
  char model[800], checkpoint[800], file[900], arguments[4096];
  snprintf(model, sizeof model, "%s/model.onnx", directory);
  snprintf(checkpoint, sizeof checkpoint, "%s/ck_kept", directory);
  snprintf(file, sizeof file, "%s/checkpoint.ipck", checkpoint);
  ipro_command_result r;
  snprintf(arguments, sizeof arguments, "cp models/mlp_fmnist.onnx '%s'", model);
  ipro_test_run_command_expecting(arguments, &r, 0);
  snprintf(arguments, sizeof arguments,
           "train '%s' --data fashion-mnist --limit 64 --test-limit 64 --epochs 1 --batch 32 "
           "--checkpoint '%s' --out '%s'",
           model, checkpoint, model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "--out on the input model: exit %d: %s", r.exit_status, r.err);
  snprintf(arguments, sizeof arguments, "cp '%s' '%s.before'", file, file);
  ipro_test_run_command_expecting(arguments, &r, 0);
  snprintf(arguments, sizeof arguments, "train " SMALL_RUN " --checkpoint '%s'", checkpoint);
  expect(arguments, 2, "already holds a checkpoint (",
         "after epoch 1 of 1, step 2, batch 32, sgd)");
  expect(arguments, 2, "give --resume to continue it, or remove it (or choose another folder)",
         NULL);
  /* On --resume, --epochs is the run's total: at or below the epochs done (or not given, the
   * checkpoint's run being finished) it trains nothing; that printed "trained 0 epochs", exited 0
   * and wrote --out. Refused, nothing written; so is a milestone at or past the resumed total. */
  char out[900];
  snprintf(out, sizeof out, "%s/resumed.onnx", directory);
  snprintf(arguments, sizeof arguments, "train " SMALL_RUN " --checkpoint '%s' --resume --out '%s'",
           checkpoint, out);
  expect(arguments, 2, "checkpoint.ipck is after epoch 1; --epochs 1 trains nothing more",
         "give --epochs above 1");
  snprintf(arguments, sizeof arguments,
           "train '%s' --data fashion-mnist --limit 64 --batch 32 --checkpoint '%s' --resume "
           "--out '%s'",
           model, checkpoint, out);
  expect(arguments, 2,
         "is after epoch 1, the last of its 1-epoch run: --resume trains nothing more",
         "give --epochs above 1");
  snprintf(arguments, sizeof arguments,
           "train '%s' --data fashion-mnist --limit 64 --batch 32 --checkpoint '%s' --resume "
           "--epochs 3 --schedule step --milestones 1,3 --out '%s'",
           model, checkpoint, out);
  expect(arguments, 2, "--milestones epoch 3 is not below the run's 3 epochs", NULL);
  /* the schedule resumed is the checkpoint's (cosine): the step schedule's options are moot */
  snprintf(arguments, sizeof arguments,
           "train '%s' --data fashion-mnist --limit 64 --batch 32 --checkpoint '%s' --resume "
           "--epochs 3 --gamma 0.5 --out '%s'",
           model, checkpoint, out);
  expect(arguments, 2, "--gamma has no effect with the checkpoint's schedule, cosine", NULL);
  CHECK_MSG(access(out, F_OK) != 0, "a refused resume wrote %s", out);
  char before[1000];
  snprintf(before, sizeof before, "%s.before", file);
  CHECK_MSG(ipro_test_same_file(file, before), "the refused run changed %s", file);
  /* a file of that name that is no checkpoint is not replaced either */
  snprintf(arguments, sizeof arguments, "mkdir '%s/ck_junk' && echo junk > '%s/ck_junk/%s'",
           directory, directory, "checkpoint.ipck");
  ipro_test_run_command_expecting(arguments, &r, 0);
  snprintf(arguments, sizeof arguments, "train " SMALL_RUN " --checkpoint '%s/ck_junk'", directory);
  expect(arguments, 2, "which is not a checkpoint this infopro reads", "(bad magic)");
}

/* A compiled program's runner given an output on one of its own files. */
static void runner_outputs(void) {
  char program[800], command[4096];
  snprintf(program, sizeof program, "%s/program", directory);
  ipro_command_result r;
  snprintf(command, sizeof command,
           "'%s' compile models/mlp_fmnist.onnx --data fashion-mnist --batch 32 -o '%s'",
           getenv("IPRO_INFOPRO"), program);
  ipro_test_run_command_expecting(command, &r, 0);
  static const char *const own[] = {"program.ipro", "kernels.so", "train"};
  for (int i = 0; i < 3; i++) {
    snprintf(command, sizeof command,
             "'%s/train' --data fashion-mnist --limit 64 --test-limit 64 --epochs 1 --out "
             "'%s/../program/%s'",
             program, program, own[i]);
    ipro_test_run_command(command, &r);
    CHECK_MSG(r.exit_status == 2 && strstr(r.err, "one of this program's own files") &&
                  strstr(r.err, own[i]) && !strstr(r.out, "epoch"),
              "--out on the program's %s: exit %d, stderr: %s", own[i], r.exit_status, r.err);
  }
  /* the runner refuses what would have no effect as train does, in its own name */
  snprintf(command, sizeof command,
           "'%s/train' --data fashion-mnist --limit 64 --test-limit 64 --epochs 1 --no-nesterov "
           "--schedule constant --gamma 0.5",
           program);
  ipro_test_run_command(command, &r);
  CHECK_MSG(r.exit_status == 2 &&
                !strncmp(r.err, "train: --gamma has no effect with --schedule constant", 53),
            "the runner's --gamma with a constant schedule: exit %d, stderr: %s", r.exit_status,
            r.err);
  snprintf(command, sizeof command,
           "'%s/train' --data fashion-mnist --limit 64 --test-limit 64 --epochs 1 --out "
           "'%s/trained.onnx'",
           program, program);
  ipro_test_run_command_expecting(command, &r, 0);
}

/* Images of another shape than the model takes (3x32x32 npz images for the MLP's 1x28x28), end to
 * end and with -K 2: train's message naming both shapes, before anything is built; no DIR made. */
static void compile_for_images_the_model_cannot_take(void) {
  static uint8_t pixels[8 * 3 * 32 * 32];
  int64_t labels[8];
  for (int i = 0; i < 8; i++)
    labels[i] = i;
  for (size_t p = 0; p < sizeof pixels; p++)
    pixels[p] = (uint8_t)(p * 13);
  ipro_test_npy arrays[4] = {
      {"x_train", "|u1", 4, {8, 3, 32, 32}, pixels, sizeof pixels, false},
      {"y_train", "<i8", 1, {8}, labels, sizeof labels, false},
      {"x_test", "|u1", 4, {8, 3, 32, 32}, pixels, sizeof pixels, false},
      {"y_test", "<i8", 1, {8}, labels, sizeof labels, false},
  };
  char npz[800], arguments[2048], program[800];
  snprintf(npz, sizeof npz, "%s/c3.npz", directory);
  CHECK(ipro_test_write_npz(npz, arrays, 4, false, false));
  static const char *const splits[] = {"", " -K 2"};
  for (int i = 0; i < 2; i++) {
    snprintf(program, sizeof program, "%s/c3_program%d", directory, i);
    snprintf(arguments, sizeof arguments,
             "compile models/mlp_fmnist.onnx --data 'npz:%s' --batch 4%s -o '%s'", npz, splits[i],
             program);
    expect(arguments, 1, "takes input 'input' of float32 [N,1,28,28]",
           "but npz images are float32 [N,3,32,32]");
    CHECK_MSG(access(program, F_OK) != 0, "%s: a refused compile made %s", arguments, program);
  }
}

/* An image folder of 3 classes for the 10-class MLP at --batch 4: the output's shape with N, as
 * the data's, not at the batch of 1 the early check infers at. */
static void classes_without_the_check_batch(void) {
  char folder[800], arguments[2048];
  snprintf(folder, sizeof folder, "%s/three", directory);
  CHECK(ipro_test_write_tiny_image_folder(folder, 3));
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data 'imagefolder:%s' --batch 4 --epochs 1", folder);
  expect(arguments, 1, "output 'logits' is float32 [N,10], but imagefolder has 3 classes",
         "(expected float32 [N,3] logits)");
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(!strstr(r.err, "at batch"), "%s: a batch the user did not give: %s", arguments, r.err);
}

/* The MLP with its hidden activation as a second graph output, as a network returning auxiliary
 * logits beside its own (torchvision's GoogLeNet in training mode): refused, naming both outputs
 * and what to export instead. */
static void two_outputs(void) {
  char model[800], arguments[2048];
  snprintf(model, sizeof model, "%s/two_outputs.onnx", directory);
  FILE *in = fopen("models/mlp_fmnist.onnx", "rb");
  CHECK(in != NULL);
  if (!in) return;
  static uint8_t bytes[1 << 20];
  size_t size = fread(bytes, 1, sizeof bytes, in);
  fclose(in);
  Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, size, bytes);
  CHECK(proto && proto->graph && proto->graph->n_output == 1);
  if (!proto || !proto->graph || proto->graph->n_output != 1) return;
  Onnx__ValueInfoProto hidden = ONNX__VALUE_INFO_PROTO__INIT, *outputs[2];
  hidden.name = "/net/net.2/Relu_output_0";
  outputs[0] = proto->graph->output[0], outputs[1] = &hidden;
  Onnx__ValueInfoProto **kept = proto->graph->output;
  proto->graph->output = outputs, proto->graph->n_output = 2;
  size_t packed_size = onnx__model_proto__get_packed_size(proto);
  uint8_t *packed = malloc(packed_size);
  if (packed) onnx__model_proto__pack(proto, packed);
  proto->graph->output = kept, proto->graph->n_output = 1;
  onnx__model_proto__free_unpacked(proto, NULL);
  FILE *out = fopen(model, "wb");
  CHECK(packed && out && fwrite(packed, 1, packed_size, out) == packed_size);
  if (out) fclose(out);
  free(packed);
  snprintf(arguments, sizeof arguments,
           "train '%s' --data fashion-mnist --limit 64 --batch 16 --epochs 1", model);
  expect(arguments, 1, "has 1 input(s) and 2 output(s) ('logits', '/net/net.2/Relu_output_0')",
         "export the logits alone");
}

/* A zero-byte --input file for `run`: it is empty, not a tensor of an unsupported dtype. */
static void empty_input_file(void) {
  char empty[800], arguments[1024];
  snprintf(empty, sizeof empty, "%s/empty.pb", directory);
  FILE *file = fopen(empty, "wb");
  CHECK(file && fclose(file) == 0);
  snprintf(arguments, sizeof arguments, "run models/mlp_fmnist.onnx --input '%s'", empty);
  expect(arguments, 1, "empty.pb' is empty (0 bytes), not an ONNX TensorProto", NULL);
}

/* A usage error's first line names what is wrong, before the usage: an unknown option given last
 * is unknown (it read "missing value after"), an option that takes a value given last lacks it,
 * and a missing required argument is named (before, only the usage was printed). */
static void argument_messages(void) {
  static const struct {
    const char *arguments, *first_line;
  } cases[] = {
      {"train models/mlp_fmnist.onnx --data fashion-mnist --bogus",
       "infopro train: unknown option '--bogus'\n"},
      {"train models/mlp_fmnist.onnx --bogus --data fashion-mnist",
       "infopro train: unknown option '--bogus'\n"},
      {"train models/mlp_fmnist.onnx --data", "infopro train: missing value after '--data'\n"},
      {"train models/mlp_fmnist.onnx", "infopro train: missing --data SPEC\n"},
      {"train --data fashion-mnist", "infopro train: missing MODEL.onnx\n"},
      {"train models/mlp_fmnist.onnx extra.onnx --data fashion-mnist",
       "infopro train: unexpected argument 'extra.onnx'\n"},
      {"eval models/mlp_fmnist.onnx --data fashion-mnist --bogus",
       "infopro eval: unknown option '--bogus'\n"},
      {"eval models/mlp_fmnist.onnx --data", "infopro eval: missing value after '--data'\n"},
      {"eval models/mlp_fmnist.onnx", "infopro eval: missing --data SPEC\n"},
      {"compile models/mlp_fmnist.onnx --data fashion-mnist -o d --bogus",
       "infopro compile: unknown option '--bogus'\n"},
      {"compile models/mlp_fmnist.onnx --data fashion-mnist -o",
       "infopro compile: missing value after '-o'\n"},
      {"compile models/mlp_fmnist.onnx --data fashion-mnist", "infopro compile: missing -o DIR\n"},
      {"compile models/mlp_fmnist.onnx -o d", "infopro compile: missing --data SPEC\n"},
      {"export models/mlp_fmnist.onnx --bogus", "infopro export: unknown option '--bogus'\n"},
      {"export models/mlp_fmnist.onnx -o", "infopro export: missing value after '-o'\n"},
      {"export models/mlp_fmnist.onnx", "infopro export: missing -o OUT.onnx\n"},
      {"export -o out.onnx", "infopro export: missing MODEL.onnx\n"},
      {"inspect models/mlp_fmnist.onnx --bogus", "infopro inspect: unknown option '--bogus'\n"},
      {"inspect", "infopro inspect: missing MODEL.onnx\n"},
      {"run models/mlp_fmnist.onnx --input", "infopro run: missing value after '--input'\n"},
      {"run models/mlp_fmnist.onnx --bogus", "infopro run: unknown option '--bogus'\n"},
      {"run --reference", "infopro run: missing MODEL.onnx\n"},
      {"plan models/mlp_fmnist.onnx --device", "infopro plan: missing value after '--device'\n"},
      {"plan models/mlp_fmnist.onnx --bogus", "infopro plan: unknown option '--bogus'\n"},
      {"plan --batch 8", "infopro plan: missing MODEL.onnx\n"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    ipro_command_result r;
    ipro_test_run_infopro(cases[c].arguments, &r);
    size_t length = strlen(cases[c].first_line);
    CHECK_MSG(r.exit_status == 2 && !strncmp(r.err, cases[c].first_line, length) &&
                  !strncmp(r.err + length, "usage: infopro ", 15),
              "%s: exit status %d, stderr (expected the line %s then the usage): %s",
              cases[c].arguments, r.exit_status, cases[c].first_line, r.err);
  }
}

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  const char *source = getenv("IPRO_SOURCE_DIR");
  if (source && chdir(source) != 0) return ipro_test_skip("cannot enter IPRO_SOURCE_DIR");
  regression_input();
  batch_bound();
  train_batch_bound();
  conflicting_options();
  folder_as_model();
  cuts_text();
  non_finite_numbers();
  schedule_options();
  options_without_effect();
  unwritable_outputs();
  failed_run_checkpoint_folder();
  untested_opsets();
  clashing_outputs();
  compile_for_images_the_model_cannot_take();
  classes_without_the_check_batch();
  two_outputs();
  empty_input_file();
  const char *no_training = ipro_test_training_unavailable();
  if (no_training)
    printf("skipped the runs that train: %s\n", no_training);
  else
    existing_checkpoint(), runner_outputs();
  argument_messages();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
