/* A model (or a checkpoint) whose weights hold values that are not finite is refused by every
 * command that would compute with them or pass them on, before any work: one line naming the
 * file, the first such initializer and how many of its values are not finite, exit status 1, and
 * every output that existed before the run byte for byte as it was (cli/finite_parameters.h).
 * Before, `eval` printed an accuracy of -nan with exit 0, `train` blamed "divergence" after its
 * first epoch, and `export` and `compile` copied the values on without a word.
 *
 * The broken models are the bundled ones with values set here (nan_model.h): the MLP's first
 * bias with one NaN, the same with three +infinity, and ResNet-8's first BatchNormalization
 * running variance with one +infinity (running statistics are read by inference, so they count);
 * the MLP's bias with three -infinity, whose refusal adds how to export a model so that such a
 * mask is kept as a constant (models without torch.export's signature hold buffers as
 * initializers), and the same with one of them +infinity, whose refusal does not.
 * Each command is run on them: eval, train (also as a compiled program's runner, whose embedded
 * model is replaced here), export (to another file, and over the model itself) and compile; and
 * train --resume on a checkpoint with a NaN written into it. The refusals need no dataset: they
 * come before the data is read; the checkpoint and the runner, which need a real training run
 * first, are skipped when Fashion-MNIST is missing. `infopro plan` does not compute with weights
 * and is not among them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx_decode.h"
#include "runtime/checkpoint.h"
#include "runtime/framed_file.h"
#include "runtime/program_file.h"
#include "support/check.h"
#include "support/command.h"
#include "support/mpi_runs.h"
#include "support/nan_model.h"

static char directory[] = "/tmp/ipro_test_non_finite_XXXXXX";

/* What stands in for an earlier run's output: a file the refused command must leave alone. */
static const char earlier[] = "an earlier run's output\n";

static void write_earlier(const char *path) {
  FILE *file = fopen(path, "w");
  CHECK_MSG(file && fputs(earlier, file) >= 0 && fclose(file) == 0, "cannot write %s", path);
}

static void check_still_earlier(const char *what, const char *path) {
  size_t size = 0;
  uint8_t *bytes = ipro_test_read_file(path, &size);
  CHECK_MSG(bytes && size == strlen(earlier) && memcmp(bytes, earlier, size) == 0,
            "%s: %s was changed by the refused run", what, path);
  free(bytes);
}

static void in_directory(char *path, size_t size, const char *name) {
  snprintf(path, size, "%s/%s", directory, name);
}

/* The refusal: exit status 1, nothing on stdout, and one line of stderr that is exactly
 * "infopro: " followed by expected. */
static void check_refused(const char *what, const ipro_command_result *r, const char *expected) {
  char line[2048];
  snprintf(line, sizeof line, "infopro: %s\n", expected);
  CHECK_MSG(r->exit_status == 1 && strcmp(r->err, line) == 0 && r->out[0] == '\0',
            "%s: exit %d, expected stderr\n  %s  got stdout\n%s  and stderr\n%s", what,
            r->exit_status, line, r->out, r->err);
  CHECK_MSG(!strstr(r->err, "diverged"), "%s blames divergence: %s", what, r->err);
}

typedef struct {
  char path[800], name[256];
  int64_t elements;
} broken_model;

/* "1 of the 256 values of initializer 'NAME' is not finite (NaN or infinity)" */
static void values_text(const broken_model *m, int count, char *text, size_t size) {
  snprintf(text, size, "%d of the %lld values of initializer '%s' %s not finite (NaN or infinity)",
           count, (long long)m->elements, m->name, count == 1 ? "is" : "are");
}

/* What the refusal adds when every value that is not finite is -infinity, as in a fixed mask a
 * model without torch.export's graph signature holds as an initializer. */
static const char mask_hint[] = ". If it is a fixed buffer (a mask), export the model with "
                                "torch.onnx.export(..., dynamo=True), "
                                "whose graph signature marks buffers, which infopro keeps constant";

/* hint: what the message adds after its consequence ("" or mask_hint) */
static void eval_refuses(const broken_model *m, const char *values, const char *hint) {
  char json[900], arguments[4096], expected[2048];
  in_directory(json, sizeof json, "eval.json");
  write_earlier(json);
  snprintf(arguments, sizeof arguments, "eval '%s' --data fashion-mnist --json '%s'", m->path,
           json);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  snprintf(expected, sizeof expected, "%s: %s; the model cannot be evaluated%s", m->path, values,
           hint);
  check_refused("eval", &r, expected);
  check_still_earlier("eval", json);
}

static void train_refuses(const broken_model *m, const char *values, const char *hint) {
  char out[900], json[900], checkpoint[900], arguments[4096], expected[2048];
  in_directory(out, sizeof out, "trained.onnx");
  in_directory(json, sizeof json, "train.json");
  in_directory(checkpoint, sizeof checkpoint, "checkpoint");
  write_earlier(out);
  write_earlier(json);
  snprintf(arguments, sizeof arguments,
           "train '%s' --data fashion-mnist --limit 64 --batch 32 --test-limit 64 --epochs 1 "
           "--out '%s' --json '%s' --checkpoint '%s'",
           m->path, out, json, checkpoint);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  snprintf(expected, sizeof expected, "%s: %s; the model cannot be trained%s", m->path, values,
           hint);
  check_refused("train", &r, expected);
  check_still_earlier("train --out", out);
  check_still_earlier("train --json", json);
  CHECK_MSG(access(checkpoint, F_OK) != 0, "the refused train made %s", checkpoint);
}

static void export_refuses(const broken_model *m, const char *values) {
  char out[900], side[1000], arguments[4096], expected[2048];
  snprintf(expected, sizeof expected, "%s: %s; the model cannot be exported", m->path, values);
  in_directory(out, sizeof out, "exported.onnx");
  write_earlier(out);
  snprintf(arguments, sizeof arguments, "export '%s' --inference --external-data -o '%s'", m->path,
           out);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  check_refused("export", &r, expected);
  check_still_earlier("export", out);
  snprintf(side, sizeof side, "%s.data", out);
  CHECK_MSG(access(side, F_OK) != 0, "the refused export wrote %s", side);
  /* over the model itself: it stays as it was */
  size_t before_size = 0, after_size = 0;
  uint8_t *before = ipro_test_read_file(m->path, &before_size);
  snprintf(arguments, sizeof arguments, "export '%s' -o '%s'", m->path, m->path);
  ipro_test_run_infopro(arguments, &r);
  check_refused("export over the model", &r, expected);
  uint8_t *after = ipro_test_read_file(m->path, &after_size);
  CHECK_MSG(before && after && before_size == after_size && memcmp(before, after, after_size) == 0,
            "the refused export over %s changed it", m->path);
  free(before);
  free(after);
}

static void compile_refuses(const broken_model *m, const char *values) {
  char program_dir[900], program[1000], runner[1000], arguments[4096], expected[2048];
  in_directory(program_dir, sizeof program_dir, "compiled");
  snprintf(program, sizeof program, "%s/" IPRO_PROGRAM_FILE, program_dir);
  snprintf(runner, sizeof runner, "%s/train", program_dir);
  CHECK(access(program_dir, F_OK) == 0 || mkdir(program_dir, 0755) == 0);
  write_earlier(program);
  snprintf(arguments, sizeof arguments, "compile '%s' --data fashion-mnist --batch 32 -o '%s'",
           m->path, program_dir);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  snprintf(expected, sizeof expected, "%s: %s; the model cannot be compiled", m->path, values);
  check_refused("compile", &r, expected);
  check_still_earlier("compile", program);
  CHECK_MSG(access(runner, F_OK) != 0, "the refused compile wrote %s", runner);
}

/* models/mlp_fmnist.onnx with one more initializer, `values` values of `dtype` as raw data,
 * written to path: one that no node reads, of a floating-point type other than float32. */
static bool write_with_extra_initializer(const char *path, const char *name, int dtype,
                                         const void *raw, size_t bytes, int64_t values) {
  size_t length = 0;
  uint8_t *file = ipro_test_read_file("models/mlp_fmnist.onnx", &length);
  Onnx__ModelProto *model = file ? onnx__model_proto__unpack(NULL, length, file) : NULL;
  CHECK_MSG(model && model->graph, "models/mlp_fmnist.onnx does not decode");
  bool written = false;
  if (model && model->graph) {
    Onnx__GraphProto *g = model->graph;
    Onnx__TensorProto extra, *list[64];
    onnx__tensor_proto__init(&extra);
    extra.name = (char *)name;
    extra.n_dims = 1;
    extra.dims = &values;
    extra.has_data_type = 1;
    extra.data_type = dtype;
    extra.has_raw_data = 1;
    extra.raw_data.len = bytes;
    extra.raw_data.data = (uint8_t *)raw;
    size_t n = g->n_initializer < 63 ? g->n_initializer : 63;
    memcpy(list, g->initializer, n * sizeof *list);
    list[n] = &extra;
    Onnx__TensorProto **kept = g->initializer;
    size_t kept_count = g->n_initializer;
    g->initializer = list;
    g->n_initializer = n + 1;
    size_t packed_size = onnx__model_proto__get_packed_size(model);
    uint8_t *packed = malloc(packed_size);
    if (packed) onnx__model_proto__pack(model, packed);
    g->initializer = kept; /* protobuf-c frees what it allocated */
    g->n_initializer = kept_count;
    FILE *out = packed ? fopen(path, "wb") : NULL;
    written = out && fwrite(packed, 1, packed_size, out) == packed_size;
    if (out) written = fclose(out) == 0 && written;
    CHECK_MSG(written, "cannot write %s", path);
    free(packed);
  }
  if (model) onnx__model_proto__free_unpacked(model, NULL);
  free(file);
  return written;
}

/* float64 and float16 initializers are read as such: a NaN in either (float16's all-ones
 * exponent) is found, and float16's largest finite value is not mistaken for one; and a float32
 * initializer of one value. */
/* How many of the doubles are NaN or infinite, counted by the arithmetic itself (x - x is NaN
 * exactly for those), not by the code under test. */
static int count_unlike_themselves(const double *values, int n) {
  int count = 0;
  for (int i = 0; i < n; i++)
    count += !(values[i] - values[i] == 0.0);
  return count;
}

static void other_float_types(void) {
  broken_model doubles = {.name = "extra.double", .elements = 4};
  broken_model halves = {.name = "extra.half", .elements = 4};
  in_directory(doubles.path, sizeof doubles.path, "nan_double.onnx");
  in_directory(halves.path, sizeof halves.path, "inf_half.onnx");
  const double double_values[4] = {1.0, NAN, -INFINITY, 2.0};
  const uint16_t half_values[4] = {0x7bff /* 65504 */, 0xfc00 /* -infinity */, 0x7e00 /* NaN */,
                                   0x3c00 /* 1 */};
  char values[1024];
  if (write_with_extra_initializer(doubles.path, doubles.name,
                                   ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, double_values,
                                   sizeof double_values, doubles.elements)) {
    values_text(&doubles, count_unlike_themselves(double_values, 4), values, sizeof values);
    export_refuses(&doubles, values);
  }
  /* a single value is named as such, not as "1 of the 1 values" */
  broken_model scalar = {.name = "extra.scalar", .elements = 1};
  in_directory(scalar.path, sizeof scalar.path, "nan_scalar.onnx");
  const float scalar_value = NAN;
  if (write_with_extra_initializer(scalar.path, scalar.name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                   &scalar_value, sizeof scalar_value, scalar.elements))
    export_refuses(&scalar, "the value of initializer 'extra.scalar' is not finite (NaN or "
                            "infinity)");
  if (write_with_extra_initializer(halves.path, halves.name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
                                   half_values, sizeof half_values, halves.elements)) {
    values_text(&halves, 2, values, sizeof values); /* -infinity and NaN: 65504 is finite */
    export_refuses(&halves, values);
  }
}

/* A real run's checkpoint with one value of its first float tensor made NaN: --resume from it is
 * refused, and neither the checkpoint nor --out changes. */
static void resume_refuses(void) {
  char checkpoint_dir[900], checkpoint[1000], out[900], arguments[4096], expected[2048];
  in_directory(checkpoint_dir, sizeof checkpoint_dir, "resumed");
  ipro_checkpoint_path(checkpoint_dir, checkpoint, sizeof checkpoint);
  in_directory(out, sizeof out, "resumed.onnx");
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 "
           "--test-limit 64 --epochs 1 --checkpoint '%s'",
           checkpoint_dir);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "the run writing a checkpoint: exit %d: %s", r.exit_status, r.err);
  ipro_checkpoint c = {0};
  ipro_error err = {{0}};
  CHECK_OK(ipro_checkpoint_read(checkpoint, &c, &err), &err);
  const ipro_checkpoint_tensor *made_nan = NULL;
  for (int i = 0; i < c.n_tensors && !made_nan; i++)
    if (c.tensors[i].dtype == IPRO_DTYPE_FLOAT && c.tensors[i].bytes >= 2 * sizeof(float))
      made_nan = &c.tensors[i];
  CHECK_MSG(made_nan != NULL, "%s holds no float tensor", checkpoint);
  if (made_nan) {
    ((float *)made_nan->data)[0] = NAN;
    CHECK_OK(ipro_checkpoint_write(checkpoint_dir, &c, &err), &err);
    size_t before_size = 0, after_size = 0;
    uint8_t *before = ipro_test_read_file(checkpoint, &before_size);
    write_earlier(out);
    snprintf(arguments, sizeof arguments,
             "train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 "
             "--test-limit 64 --epochs 2 --checkpoint '%s' --resume --out '%s'",
             checkpoint_dir, out);
    ipro_test_run_infopro(arguments, &r);
    snprintf(expected, sizeof expected,
             "cannot resume from checkpoint '%s': 1 of the %zu values of its tensor '%s' is not "
             "finite (NaN or infinity)",
             checkpoint, made_nan->bytes / sizeof(float), made_nan->name);
    check_refused("train --resume", &r, expected);
    check_still_earlier("train --resume --out", out);
    uint8_t *after = ipro_test_read_file(checkpoint, &after_size);
    CHECK_MSG(before && after && before_size == after_size &&
                  memcmp(before, after, after_size) == 0,
              "the refused --resume changed %s", checkpoint);
    free(before);
    free(after);
  }
  ipro_checkpoint_release(&c);
}

/* A compiled program's runner whose embedded model holds the NaN (a program written before
 * compile refused such models): refused as `infopro train` refuses it, naming the runner. */
static void runner_refuses(const broken_model *m, const char *values) {
  char program_dir[900], program[1000], out[900], arguments[4096], expected[2048];
  in_directory(program_dir, sizeof program_dir, "runner");
  snprintf(program, sizeof program, "%s/" IPRO_PROGRAM_FILE, program_dir);
  in_directory(out, sizeof out, "runner.onnx");
  snprintf(arguments, sizeof arguments,
           "compile models/mlp_fmnist.onnx --data fashion-mnist --batch 32 -o '%s'", program_dir);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "compiling the MLP: exit %d: %s", r.exit_status, r.err);
  ipro_program p = {0};
  ipro_error err = {{0}};
  uint8_t *model = NULL;
  size_t model_bytes = 0;
  ipro_status status = ipro_program_read(program, &p, &err);
  if (status == IPRO_OK)
    status = ipro_read_whole_file(m->path, "model", &model, &model_bytes, &err);
  CHECK_MSG(status == IPRO_OK, "replacing the runner's model: %s", err.message);
  if (status == IPRO_OK) {
    free(p.model);
    p.model = model;
    p.model_bytes = model_bytes;
    CHECK_OK(ipro_program_write(program, &p, &err), &err);
    write_earlier(out);
    snprintf(arguments, sizeof arguments,
             "'%s/train' --data fashion-mnist --limit 64 --test-limit 64 --epochs 1 --out '%s'",
             program_dir, out);
    ipro_test_run_command(arguments, &r);
    /* the program's model is served from memory as DIR/mlp_fmnist.onnx: messages name the
     * runner the user ran instead */
    snprintf(expected, sizeof expected, "%s/train: %s; the model cannot be trained", program_dir,
             values);
    check_refused("the runner", &r, expected);
    check_still_earlier("the runner's --out", out);
  } else {
    free(model);
  }
  ipro_program_release(&p);
}

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot make a temporary folder");
  CHECK(chdir(ipro_test_source_dir()) == 0); /* the models are read from there */
  broken_model nan_bias, inf_bias, inf_variance, mask_bias, mixed_bias;
  in_directory(nan_bias.path, sizeof nan_bias.path, "nan_bias.onnx");
  in_directory(mask_bias.path, sizeof mask_bias.path, "mask_bias.onnx");
  in_directory(mixed_bias.path, sizeof mixed_bias.path, "mixed_bias.onnx");
  in_directory(inf_bias.path, sizeof inf_bias.path, "inf_bias.onnx");
  in_directory(inf_variance.path, sizeof inf_variance.path, "inf_variance.onnx");
  bool written =
      ipro_test_write_model_with_value("models/mlp_fmnist.onnx", NULL, NAN, 1, nan_bias.path,
                                       nan_bias.name, sizeof nan_bias.name, &nan_bias.elements) &&
      ipro_test_write_model_with_value("models/mlp_fmnist.onnx", NULL, INFINITY, 3, inf_bias.path,
                                       inf_bias.name, sizeof inf_bias.name, &inf_bias.elements) &&
      ipro_test_write_model_with_value("models/mlp_fmnist.onnx", NULL, -INFINITY, 3, mask_bias.path,
                                       mask_bias.name, sizeof mask_bias.name,
                                       &mask_bias.elements) &&
      ipro_test_write_model_with_value(mask_bias.path, NULL, INFINITY, 1, mixed_bias.path,
                                       mixed_bias.name, sizeof mixed_bias.name,
                                       &mixed_bias.elements) &&
      ipro_test_batchnorm_variance("models/resnet8_fmnist.onnx", inf_variance.name,
                                   sizeof inf_variance.name) &&
      ipro_test_write_model_with_value("models/resnet8_fmnist.onnx", inf_variance.name, INFINITY, 1,
                                       inf_variance.path, NULL, 0, &inf_variance.elements);
  if (written) {
    char nan_values[1024], inf_values[1024], variance_values[1024], mask_values[1024],
        mixed_values[1024];
    values_text(&nan_bias, 1, nan_values, sizeof nan_values);
    values_text(&inf_bias, 3, inf_values, sizeof inf_values);
    values_text(&inf_variance, 1, variance_values, sizeof variance_values);
    values_text(&mask_bias, 3, mask_values, sizeof mask_values);
    values_text(&mixed_bias, 3, mixed_values, sizeof mixed_values);
    eval_refuses(&nan_bias, nan_values, "");
    eval_refuses(&inf_bias, inf_values, "");
    eval_refuses(&inf_variance, variance_values, "");
    eval_refuses(&mask_bias, mask_values, mask_hint);
    eval_refuses(&mixed_bias, mixed_values, "");
    train_refuses(&nan_bias, nan_values, "");
    train_refuses(&inf_variance, variance_values, "");
    train_refuses(&mask_bias, mask_values, mask_hint);
    export_refuses(&nan_bias, nan_values);
    export_refuses(&inf_variance, variance_values);
    compile_refuses(&nan_bias, nan_values);
    other_float_types();
    if (!ipro_test_training_unavailable()) {
      resume_refuses();
      runner_refuses(&nan_bias, nan_values);
    } else {
      printf("--resume and the runner not checked: %s\n", ipro_test_training_unavailable());
    }
  }
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
