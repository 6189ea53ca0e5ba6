/* `infopro train --checkpoint DIR --resume` continues a run bit for bit, and a diverging run
 * stops without touching what it had written. On models/mlp_fmnist.onnx (which has Dropout, so
 * the restored step count matters) and 256 Fashion-MNIST images in batches of 32, tested on 500:
 *   - two epochs in one run, and one epoch then a resumed second (only --epochs 2 given on
 *     resuming: every other setting comes from the checkpoint), end to end, with K = 2 (the
 *     split given again on resuming, heads included in the checkpoint), with K = 2 resumed
 *     without the split (taken from the checkpoint), and with K = 3 and every head option
 *     changed from its default (--aux-head 0c1f --decoder reduced --local-loss ce --lambda,
 *     none given on resuming: the checkpoint's split, heads, loss and λ are taken), and with
 *     K = 2 and 0c1f reduced heads recorded as chosen automatically (the planner here chooses
 *     others: the checkpoint's are built, and the header says so), write
 *     byte-identical --out models and byte-identical checkpoints (and so does a K = 2 run with
 *     --mean 0.5 --std 0.25 resumed with neither: the checkpoint's normalisation, which the
 *     header names, not the dataset's), and print the same
 *     second-epoch numbers; the constant schedule makes the one-epoch run's rates those of the
 *     two-epoch run (AdamW, whose bias correction counts the restored steps, is covered at the
 *     library level by runtime/test_checkpoint.c);
 *   - a split given on resuming must be the checkpoint's, and --help says so: the K = 2
 *     checkpoint resumed with -K 1, the end-to-end one with -K 2, and the K = 2 one at its cut
 *     with other heads are each refused with one message that describes both splits and what to
 *     give, leaving the checkpoint as it was; a checkpoint that records no split (as versions 1
 *     and 2 do: the K = 2 one rewritten without it) resumed without -K is refused with the
 *     message of before, which says to give the split;
 *   - resuming the finished run for a third epoch with --lr 1e30 stops with exit status 1 and
 *     a message naming the epoch, the step and the non-finite loss; the checkpoint keeps its
 *     bytes and no --out file appears;
 *   - the MLP with its cut tensor renamed to hold a comma: resumed without the split, the
 *     checkpoint's cut is taken whole and the second epoch is the uninterrupted run's, bytes and
 *     all (it was passed on as --cuts text, split at the comma, and refused);
 *   - a model whose training overflows a bias that no loss sees to -infinity (nan_model.h): the
 *     run stops with exit 1 naming that bias and its one value that is not finite, with or
 *     without a checkpoint; no checkpoint is written and an existing --out keeps its bytes. (A
 *     model whose file holds such a value is refused before training:
 *     cli.test_non_finite_weights.)
 *   - a checkpoint whose training position was damaged (one byte) is refused as corrupt on
 *     --resume (exit 1) and said to be unreadable by a fresh run (exit 2), not described by the
 *     damaged figures.
 * Skipped when Fashion-MNIST is missing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/onnx_decode.h"
#include "onnx.pb-c.h"
#include "runtime/checkpoint.h"
#include "runtime/dataset.h"
#include "runtime/framed_file.h"
#include "support/check.h"
#include "support/command.h"
#include "support/nan_model.h"

static char directory[] = "/tmp/ipro_test_train_resume_XXXXXX";

#define COMMON                                                                                     \
  "train models/mlp_fmnist.onnx --data fashion-mnist --limit 256 --batch 32 --test-limit 500"

static void run_ok(const char *arguments) {
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "%s: exit status %d, stderr: %s", arguments, r.exit_status, r.err);
}

/* The whole file, or NULL; *size its length. */
static uint8_t *slurp(const char *path, size_t *size) {
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  uint8_t *bytes = NULL;
  *size = 0;
  if (fseek(file, 0, SEEK_END) == 0) {
    long length = ftell(file);
    bytes = length >= 0 ? malloc((size_t)length + 1) : NULL;
    if (bytes && fseek(file, 0, SEEK_SET) == 0 &&
        fread(bytes, 1, (size_t)length, file) == (size_t)length)
      *size = (size_t)length;
    else
      free(bytes), bytes = NULL;
  }
  fclose(file);
  return bytes;
}

static void expect_same_file(const char *a, const char *b) {
  size_t a_size = 0, b_size = 0;
  uint8_t *x = slurp(a, &a_size), *y = slurp(b, &b_size);
  CHECK_MSG(x && y && a_size == b_size && memcmp(x, y, a_size) == 0, "%s and %s differ", a, b);
  free(x);
  free(y);
}

/* The second epoch's summary without its time. */
static void epoch_numbers(const char *out, char *numbers, size_t size) {
  numbers[0] = '\0';
  const char *line = strstr(out, "epoch 2/2  loss ");
  const char *end = line ? strstr(line, " s\n") : NULL;
  if (!line || !end) return;
  while (end > line && end[-1] != ' ')
    end--; /* drop the seconds */
  snprintf(numbers, size, "%.*s", (int)(end - line), line);
}

/* settings: of the first runs; split: the local-training options of the first runs, given
 * again on resuming where resume_split is NULL (resume_split "": the checkpoint's are taken);
 * edit, when not NULL: applied to the one-epoch run's checkpoint file before it is resumed. */
static void resume_matches(const char *name, const char *settings, const char *split,
                           const char *resume_split, void (*edit)(const char *file)) {
  char a[4096], b1[4096], b2[4096];
  char out_a[700], out_b[700], ck_a[700], ck_b[700];
  snprintf(out_a, sizeof out_a, "%s/%s_whole.onnx", directory, name);
  snprintf(out_b, sizeof out_b, "%s/%s_resumed.onnx", directory, name);
  snprintf(ck_a, sizeof ck_a, "%s/%s_whole", directory, name);
  snprintf(ck_b, sizeof ck_b, "%s/%s_resumed/nested", directory, name); /* made with parents */
  snprintf(a, sizeof a, COMMON " %s %s --epochs 2 --checkpoint '%s' --out '%s'", settings, split,
           ck_a, out_a);
  snprintf(b1, sizeof b1, COMMON " %s %s --epochs 1 --checkpoint '%s'", settings, split, ck_b);
  snprintf(b2, sizeof b2,
           "train models/mlp_fmnist.onnx --data fashion-mnist --test-limit 500 --epochs 2 %s "
           "--checkpoint '%s' --resume --out '%s'",
           resume_split ? resume_split : split, ck_b, out_b);
  ipro_command_result whole, resumed;
  ipro_test_run_infopro(a, &whole);
  CHECK_MSG(whole.exit_status == 0, "%s: exit status %d, stderr: %s", a, whole.exit_status,
            whole.err);
  run_ok(b1);
  char ck_file_a[800], ck_file_b[800];
  snprintf(ck_file_a, sizeof ck_file_a, "%s/checkpoint.ipck", ck_a);
  snprintf(ck_file_b, sizeof ck_file_b, "%s/checkpoint.ipck", ck_b);
  if (edit) edit(ck_file_b);
  ipro_test_run_infopro(b2, &resumed);
  CHECK_MSG(resumed.exit_status == 0, "%s: exit status %d, stderr: %s", b2, resumed.exit_status,
            resumed.err);
  CHECK_MSG(strstr(resumed.out, "resuming from") && !strstr(resumed.out, "epoch 1/2"),
            "%s: did not resume at epoch 2: %s", name, resumed.out);
  CHECK_MSG(!resume_split || !split[0] || strstr(resumed.out, "(the checkpoint's split)"),
            "%s: the split taken from the checkpoint is not said: %s", name, resumed.out);
  CHECK_MSG(!strstr(settings, "--mean 0.5 --std 0.25") ||
                strstr(resumed.out, "normalisation: mean 0.5 std 0.25 (the checkpoint's)"),
            "%s: the normalisation taken from the checkpoint is not said: %s", name, resumed.out);
  CHECK_MSG(!edit || strstr(resumed.out, "(the checkpoint's; the planner chose others here, so "
                                         "the planned peak is the trainer's own plan)"),
            "%s: the checkpoint's heads are not said to replace the planner's: %s", name,
            resumed.out);
  /* the planned peak the header shows is then the trainer's own plan, which the memory line at
   * the end measures against, not the plan of the heads the planner chose */
  const char *header = edit ? strstr(resumed.out, "; planned peak ") : NULL;
  const char *memory = edit ? strstr(resumed.out, "memory: planned peak ") : NULL;
  unsigned long long shown = 0, measured = 1;
  bool same_plan =
      !edit || (header && memory && sscanf(header, "; planned peak %llu", &shown) == 1 &&
                sscanf(memory, "memory: planned peak %llu", &measured) == 1 && shown == measured);
  CHECK_MSG(same_plan, "%s: the header's planned peak %llu is not the trainer's %llu", name, shown,
            measured);
  expect_same_file(out_a, out_b);
  if (!edit) expect_same_file(ck_file_a, ck_file_b); /* the edited one records another choice */
  char numbers_a[256], numbers_b[256];
  epoch_numbers(whole.out, numbers_a, sizeof numbers_a);
  epoch_numbers(resumed.out, numbers_b, sizeof numbers_b);
  CHECK_MSG(numbers_a[0] && strcmp(numbers_a, numbers_b) == 0, "%s: '%s' vs resumed '%s'", name,
            numbers_a, numbers_b);
}

/* Rewrites the checkpoint in `file` as if its heads had been chosen automatically (--aux-head
 * auto, no --decoder), its module heads kept. */
static void as_chosen_automatically(const char *file) {
  ipro_checkpoint checkpoint;
  ipro_error err;
  CHECK_OK(ipro_checkpoint_read(file, &checkpoint, &err), &err);
  CHECK_MSG(checkpoint.split.K == 2 && !checkpoint.split.local.choose_heads &&
                checkpoint.split.local.module_heads[0].convs == 0,
            "%s does not record the 0c1f heads of a -K 2 --aux-head 0c1f run", file);
  checkpoint.split.local.choose_heads = true;
  checkpoint.split.local.decoder_fixed = false;
  char folder[800];
  snprintf(folder, sizeof folder, "%s", file);
  char *slash = strrchr(folder, '/');
  if (slash) *slash = '\0';
  CHECK_OK(ipro_checkpoint_write(folder, &checkpoint, &err), &err);
  ipro_checkpoint_release(&checkpoint);
}

/* A copy of checkpoint `from` (a folder under the test's directory) in folder `to`, with no
 * split recorded: what a checkpoint of version 1 or 2 decodes to. */
static void without_split(const char *from, const char *to) {
  char path[800], folder[700];
  snprintf(path, sizeof path, "%s/%s/checkpoint.ipck", directory, from);
  snprintf(folder, sizeof folder, "%s/%s", directory, to);
  ipro_checkpoint checkpoint;
  ipro_error err;
  CHECK_OK(ipro_checkpoint_read(path, &checkpoint, &err), &err);
  CHECK_MSG(checkpoint.split.K == 2, "%s records K = %d, not 2", path, checkpoint.split.K);
  checkpoint.split.K = 0;
  CHECK_OK(ipro_checkpoint_write(folder, &checkpoint, &err), &err);
  ipro_checkpoint_release(&checkpoint);
}

/* On --resume a split given (-K, --cuts, --plan, --budget) must be the checkpoint's; with none,
 * the checkpoint's is taken where it records one. Before session 26 the split was not in the
 * checkpoint; before that, the K = 2 checkpoint resumed without -K failed with "holds tensor
 * 'infopro1/...', which is not a parameter or training state of this model's program (a
 * checkpoint of another model or optimizer?)", which sent the user looking for another model. */
static void split_checked(void) {
  ipro_command_result r;
  ipro_test_run_infopro("train --help", &r);
  CHECK_MSG(r.exit_status == 0 &&
                strstr(r.out, "(and, without -K, --cuts, --plan or --budget, the checkpoint's") &&
                strstr(r.out, "split and heads; one given must be the checkpoint's)") &&
                !strstr(r.out, "options not\n"),
            "train --help on --resume: %s", r.out);
  without_split("k2_resumed/nested", "k2_unrecorded");
  static const struct {
    const char *checkpoint, *split, *says[3];
  } cases[] = {
      {"k2_resumed/nested",
       "-K 1",
       {"was written by a run split into K = 2 modules at", "this run is trained end to end",
        "resume without -K, --cuts, --plan, --budget or head options"}},
      {"sgd_whole",
       "-K 2",
       {"was written by a run trained end to end", "this run is split into K = 2 modules at",
        "to take the checkpoint's split"}},
      {"k2_resumed/nested",
       "-K 2 --aux-head 0c1f",
       {"(module 1: 1c2f, paper decoder); this run", "(module 1: 0c1f, paper decoder)",
        "to take the checkpoint's split"}},
      {"k2_unrecorded",
       "",
       {"was written by a run split into local modules", "tensor 'infopro1/",
        "does not say its split; give the same -K, --cuts or --plan"}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char checkpoint[700], file[800], arguments[4096];
    snprintf(checkpoint, sizeof checkpoint, "%s/%s", directory, cases[i].checkpoint);
    snprintf(file, sizeof file, "%s/checkpoint.ipck", checkpoint);
    size_t before_size = 0, after_size = 0;
    uint8_t *before = slurp(file, &before_size);
    snprintf(arguments, sizeof arguments,
             "train models/mlp_fmnist.onnx --data fashion-mnist --test-limit 100 --epochs 3 %s "
             "--checkpoint '%s' --resume",
             cases[i].split, checkpoint);
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "cannot resume") &&
                  strstr(r.err, file) && strstr(r.err, cases[i].says[0]) &&
                  strstr(r.err, cases[i].says[1]) && strstr(r.err, cases[i].says[2]) &&
                  !strstr(r.err, "another model") && !strstr(r.out, "epoch 3/3"),
              "%s: exit status %d, stderr: %s", arguments, r.exit_status, r.err);
    uint8_t *after = slurp(file, &after_size);
    CHECK_MSG(before && after && before_size == after_size && !memcmp(before, after, after_size),
              "%s changed", file);
    free(before);
    free(after);
  }
}

static void divergence(void) {
  char checkpoint[700], file[800], out[700], arguments[4096];
  snprintf(checkpoint, sizeof checkpoint, "%s/sgd_whole", directory);
  snprintf(file, sizeof file, "%s/checkpoint.ipck", checkpoint);
  snprintf(out, sizeof out, "%s/diverged.onnx", directory);
  size_t before_size = 0, after_size = 0;
  uint8_t *before = slurp(file, &before_size);
  CHECK_MSG(before != NULL, "no checkpoint at %s", file);
  snprintf(
      arguments, sizeof arguments,
      "train models/mlp_fmnist.onnx --data fashion-mnist --test-limit 500 --epochs 3 --lr 1e30 "
      "--checkpoint '%s' --resume --out '%s'",
      checkpoint, out);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1, "lr 1e30: exit status %d, stdout: %s", r.exit_status, r.out);
  CHECK_MSG((strstr(r.err, "NaN") || strstr(r.err, "not finite")) && strstr(r.err, "epoch 3") &&
                strstr(r.err, "step "),
            "lr 1e30: message: %s", r.err);
  uint8_t *after = slurp(file, &after_size);
  CHECK_MSG(after && before && after_size == before_size && memcmp(before, after, after_size) == 0,
            "the checkpoint changed after a diverged run");
  CHECK_MSG(access(out, F_OK) != 0, "a diverged run wrote %s", out);
  CHECK_MSG(strstr(r.err, "left as it was") && strstr(r.err, file),
            "lr 1e30: the message does not name the kept checkpoint %s: %s", file, r.err);
  free(before);
  free(after);

  /* Diverging before the first save: there is no checkpoint, and the message must not claim
   * one is "left as it was". */
  char fresh[700], fresh_file[800];
  snprintf(fresh, sizeof fresh, "%s/fresh", directory);
  snprintf(fresh_file, sizeof fresh_file, "%s/checkpoint.ipck", fresh);
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data fashion-mnist --limit 256 --test-limit 100 "
           "--epochs 1 --lr 1e30 --checkpoint '%s'",
           fresh);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && strstr(r.err, "diverged") && !strstr(r.err, "left as it was") &&
                access(fresh_file, F_OK) != 0,
            "diverging with no checkpoint yet: exit %d, message: %s", r.exit_status, r.err);
}

/* Weights that are not finite while every loss is: once written to --out with exit 0. Now the
 * run stops with exit 1 naming the tensor and how many of its values are not finite, writes no
 * checkpoint (the check comes before each save) and leaves an existing --out as it was (the
 * check at the end, also run without a checkpoint). */
static void non_finite_weights(void) {
  char model[700], name[512] = "", out[700], checkpoint[700], checkpoint_file[800];
  char arguments[4096];
  snprintf(model, sizeof model, "%s/diverging_bias.onnx", directory);
  snprintf(out, sizeof out, "%s/kept.onnx", directory);
  snprintf(checkpoint, sizeof checkpoint, "%s/nan_checkpoint", directory);
  snprintf(checkpoint_file, sizeof checkpoint_file, "%s/checkpoint.ipck", checkpoint);
  if (!ipro_test_write_diverging_bias_model(model, name, sizeof name)) return;
  static const char previous[] = "an earlier run's model";
  FILE *file = fopen(out, "wb");
  CHECK(file && fwrite(previous, 1, sizeof previous, file) == sizeof previous);
  if (file) fclose(file);
  for (int with_checkpoint = 0; with_checkpoint < 2; with_checkpoint++) {
    snprintf(arguments, sizeof arguments,
             "train '%s' --data fashion-mnist --limit 32 --batch 32 --test-limit 64 --epochs "
             "1 " IPRO_TEST_DIVERGING_OPTIONS " --out '%s' %s%s%s",
             model, out, with_checkpoint ? "--checkpoint '" : "", with_checkpoint ? checkpoint : "",
             with_checkpoint ? "'" : "");
    ipro_command_result r;
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 &&
                  strstr(r.err, "training diverged by epoch 1: 1 of the ") && strstr(r.err, name) &&
                  strstr(r.err, "are not finite (NaN or infinity)") &&
                  strstr(r.err, "without writing a checkpoint or the trained model"),
              "the bias training overflows (%s), %s checkpoint: exit status %d, stderr: %s", name,
              with_checkpoint ? "with a" : "no", r.exit_status, r.err);
    size_t size = 0;
    uint8_t *kept = slurp(out, &size);
    CHECK_MSG(kept && size == sizeof previous && memcmp(kept, previous, size) == 0,
              "the NaN weights replaced the existing %s", out);
    free(kept);
    CHECK_MSG(access(checkpoint_file, F_OK) != 0, "a checkpoint of NaN weights was written: %s",
              checkpoint_file);
    CHECK_MSG(!strstr(r.out, "wrote "), "a run with NaN weights wrote something: %s", r.out);
  }
}

/* models/mlp_fmnist.onnx with the tensor `from` renamed `to` wherever it is named (node inputs
 * and outputs, value infos), written to path. */
static bool write_renamed(const char *path, const char *from, const char *to) {
  size_t size = 0;
  uint8_t *bytes = slurp("models/mlp_fmnist.onnx", &size);
  Onnx__ModelProto *model = bytes ? onnx__model_proto__unpack(NULL, size, bytes) : NULL;
  free(bytes);
  if (!model) return false;
  Onnx__GraphProto *g = model->graph;
  int renamed = 0;
  char **slots[4096];
  int n_slots = 0;
  for (size_t n = 0; n < g->n_node; n++) {
    for (size_t i = 0; i < g->node[n]->n_input && n_slots < 4096; i++)
      slots[n_slots++] = &g->node[n]->input[i];
    for (size_t i = 0; i < g->node[n]->n_output && n_slots < 4096; i++)
      slots[n_slots++] = &g->node[n]->output[i];
  }
  for (size_t i = 0; i < g->n_value_info && n_slots < 4096; i++)
    slots[n_slots++] = &g->value_info[i]->name;
  char *kept[4096];
  int n_kept = 0;
  for (int i = 0; i < n_slots; i++)
    if (strcmp(*slots[i], from) == 0) {
      kept[n_kept++] = *slots[i]; /* protobuf-c frees what it allocated; ours are put back */
      *slots[i] = (char *)to;
      renamed++;
    }
  size_t packed_size = onnx__model_proto__get_packed_size(model);
  uint8_t *packed = malloc(packed_size);
  FILE *f = packed && renamed >= 2 ? fopen(path, "wb") : NULL;
  bool ok = false;
  if (f) {
    onnx__model_proto__pack(model, packed);
    ok = fwrite(packed, 1, packed_size, f) == packed_size;
    ok = fclose(f) == 0 && ok;
  }
  free(packed);
  for (int i = 0, k = 0; i < n_slots; i++)
    if (*slots[i] == to) *slots[i] = kept[k++];
  onnx__model_proto__free_unpacked(model, NULL);
  return ok;
}

/* A cut tensor whose name holds a comma: its checkpoint, resumed without the split, takes the
 * name whole (--cuts text would split it at the comma, and the resumed run would find no such
 * tensor), trains the second epoch of the uninterrupted run, and says where it cut. */
static void comma_in_cut_name(void) {
  char model[700], a[4096], b1[4096], b2[4096], out_a[700], out_b[700], ck[700];
  const char *name = "/net/net.5/Relu,output_0";
  snprintf(model, sizeof model, "%s/comma.onnx", directory);
  CHECK_MSG(write_renamed(model, "/net/net.5/Relu_output_0", name), "cannot write %s", model);
  snprintf(out_a, sizeof out_a, "%s/comma_whole.onnx", directory);
  snprintf(out_b, sizeof out_b, "%s/comma_resumed.onnx", directory);
  snprintf(ck, sizeof ck, "%s/comma_ck", directory);
#define COMMA_RUN "train '%s' --data fashion-mnist --limit 256 --batch 32 --test-limit 500 "
  snprintf(a, sizeof a, COMMA_RUN "--schedule constant --lr 0.05 -K 2 --epochs 2 --out '%s'", model,
           out_a);
  snprintf(b1, sizeof b1,
           COMMA_RUN "--schedule constant --lr 0.05 -K 2 --epochs 1 --checkpoint '%s'", model, ck);
  snprintf(b2, sizeof b2, COMMA_RUN "--epochs 2 --checkpoint '%s' --resume --out '%s'", model, ck,
           out_b);
#undef COMMA_RUN
  ipro_command_result whole, resumed;
  ipro_test_run_infopro(a, &whole);
  CHECK_MSG(whole.exit_status == 0 && strstr(whole.out, name),
            "the comma model does not train cut at '%s': exit %d, %s %s", name, whole.exit_status,
            whole.out, whole.err);
  run_ok(b1);
  ipro_test_run_infopro(b2, &resumed);
  char cut_at[600];
  snprintf(cut_at, sizeof cut_at, "cut at %s", name);
  CHECK_MSG(resumed.exit_status == 0 && strstr(resumed.out, cut_at),
            "resumed without the split: exit %d, %s %s", resumed.exit_status, resumed.out,
            resumed.err);
  expect_same_file(out_a, out_b);
}

/* One byte of a checkpoint's training position changed: on --resume the run is refused as a
 * damaged checkpoint (exit 1), not as one "after epoch 24769797950537729" that --epochs cannot
 * reach (the position was read for that check before the CRC was), and without --resume the
 * refusal to replace it says it is damaged rather than quoting the damaged figures. */
static void damaged_position(void) {
  char folder[600], arguments[2048];
  snprintf(folder, sizeof folder, "%s/damaged", directory);
  snprintf(arguments, sizeof arguments, COMMON " --epochs 1 --checkpoint '%s'", folder);
  run_ok(arguments);
  char path[700];
  snprintf(path, sizeof path, "%s/checkpoint.ipck", folder);
  FILE *file = fopen(path, "r+b");
  CHECK_MSG(file && fseek(file, IPRO_FRAME_HEADER_BYTES + 6, SEEK_SET) == 0 &&
                fputc('X', file) != EOF,
            "cannot damage %s", path);
  if (file) fclose(file);
  ipro_command_result r;
  snprintf(arguments, sizeof arguments, COMMON " --epochs 2 --checkpoint '%s' --resume", folder);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "is corrupt") &&
                !strstr(r.err, "after epoch"),
            "--resume from a damaged position: exit %d: %s", r.exit_status, r.err);
  snprintf(arguments, sizeof arguments, COMMON " --epochs 2 --checkpoint '%s'", folder);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 2 && r.err_lines == 1 && strstr(r.err, "is corrupt") &&
                strstr(r.err, "not a checkpoint this infopro reads"),
            "a fresh run over a damaged checkpoint: exit %d: %s", r.exit_status, r.err);
}

int main(void) {
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  /* the model the NaN test rewrites is read from the source folder, as the binary reads it */
  const char *source = getenv("IPRO_SOURCE_DIR");
  if (source && chdir(source) != 0) return ipro_test_skip("cannot enter IPRO_SOURCE_DIR");
  resume_matches("sgd", "--schedule constant --lr 0.05", "", NULL, NULL);
  /* K = 2: the first module's heads (decoder, classifier head, their momentum) are in the
   * checkpoint too, so the resumed run matches only if they are restored bit for bit. */
  resume_matches("k2", "--schedule constant --lr 0.05", "-K 2", NULL, NULL);
  /* --mean and --std not given on resuming: the checkpoint's normalisation, not the dataset's */
  resume_matches("normalised", "--schedule constant --lr 0.05 --mean 0.5 --std 0.25", "-K 2", "",
                 NULL);
  resume_matches("k2_taken", "--schedule constant --lr 0.05", "-K 2", "", NULL);
  resume_matches("k3_heads", "--schedule constant --lr 0.05",
                 "-K 3 --aux-head 0c1f --decoder reduced --local-loss ce --lambda 2,1,0.5,1", "",
                 NULL);
  /* The checkpoint's 0c1f reduced heads, recorded as chosen automatically: the planner here
   * chooses 1c2f with the paper's decoder for that cut (no memory asks for less), and the
   * checkpoint's are built instead. */
  resume_matches("k2_heads_kept", "--schedule constant --lr 0.05",
                 "-K 2 --aux-head 0c1f --decoder reduced", "", as_chosen_automatically);
  comma_in_cut_name();
  split_checked();
  divergence();
  non_finite_weights();
  damaged_position();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
