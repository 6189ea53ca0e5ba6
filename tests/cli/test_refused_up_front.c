/* Hostile sizes and careless options get one clear message before any work, through the binary:
 *   - the fuzz-found model whose Reshape overflowed int64 (tests/fuzz/corpus/onnx_load/
 *     regression-reshape-overflow.onnx): exit 1, one line naming the node, no sanitizer report;
 *   - --batch beyond what ResNet-8's sizes allow (99999999999, 2^31, 2^32: once a 14-exabyte
 *     "plan", a SIGSEGV and a SIGFPE): exit 1 with the largest batch possible, which is checked
 *     by brute force: `inspect --batch M` succeeds and `inspect --batch M+1` fails; `train`
 *     refuses such a batch before reading the data;
 *   - -K with --cuts, and -K or --cuts with --budget in `train` (where the budget would be
 *     ignored): usage errors (exit 2) naming both options;
 *   - --lambda, --lr, --gamma, --momentum, --weight-decay, --mean and --std with NaN, infinity or
 *     a value beyond float's range (1e39), in train, compile, plan and eval: usage errors naming
 *     the option and the value; a finite --lambda with a tiny and a huge weight still plans;
 *   - --out on /proc, --out naming a directory, and a checkpoint directory whose checkpoint file
 *     is a directory: exit 1 naming the path, before a single training step;
 *   - opset imports beyond those the node tests run (ai.onnx 26, a made-up domain): one warning
 *     line naming them; the bundled models (ai.onnx 17) get none. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx_decode.h"
#include "support/check.h"
#include "support/command.h"

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
  expect("train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --out /proc/infopro.onnx", 1,
         "cannot write '/proc/infopro.onnx'", NULL);
  char arguments[1024], blocked[800];
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --out '%s'", directory);
  expect(arguments, 1, "it is a directory", NULL);
  /* The checkpoint file's name is taken by a directory: the save after the first epoch would
   * fail, so the run must not start. */
  snprintf(blocked, sizeof blocked, "%s/ck/checkpoint.ipck", directory);
  char parent[800];
  snprintf(parent, sizeof parent, "%s/ck", directory);
  CHECK(mkdir(parent, 0700) == 0 && mkdir(blocked, 0700) == 0);
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --checkpoint '%s'",
           parent);
  expect(arguments, 1, "checkpoint directory", "it is a directory");
}

/* a run small enough that, were an option not refused, the test would still take seconds */
#define TINY "--data fashion-mnist --limit 64 --test-limit 64 --epochs 1"

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

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  const char *source = getenv("IPRO_SOURCE_DIR");
  if (source && chdir(source) != 0) return ipro_test_skip("cannot enter IPRO_SOURCE_DIR");
  regression_input();
  batch_bound();
  train_batch_bound();
  conflicting_options();
  non_finite_numbers();
  unwritable_outputs();
  untested_opsets();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
