/* `infopro plan` through the binary, on models/resnet8_fmnist.onnx at batch 32:
 *   - -K 2 --json -: K = 2, one cut that `infopro inspect --json` lists among the cut points,
 *     peak_bytes recomputed from the modules array (fixed + Σ persistent + max transient),
 *     every module's transient = input + arena + output, a positive end-to-end peak, and
 *     reduction = 1 - peak / e2e peak;
 *   - --plan on the JSON it wrote (the reader `infopro train --plan` uses) gives the same cuts
 *     and peak, and for a plan chosen for a budget (ResNet-8 at batch 128 in 64 MiB, the demo's)
 *     the same heads too; given with another model (the MLP), it fails in one line naming the
 *     model the plan was made for and its cut the MLP lacks;
 *   - --budget at exactly that peak gives K <= 2 and a peak within the budget; a budget of 1000
 *     bytes fails with exit 1 and one line stating the smallest peak;
 *   - --cuts with a tensor that is not a cut point (beside a skip path, or between two readers of
 *     one parameter), or no tensor at all, fails naming it and why; -K
 *     beyond the cut points fails with 1; -K with --cuts is a usage error (2);
 *   - --aux-head auto (the default) names module 1's head, and the same head asked for by hand
 *     gives the same peak; bound_peak_bytes equals the peak of the least head asked for by hand,
 *     bound_kept is recomputed from the peaks; --decoder with an unknown name is a usage error;
 *   - --budget beside -K checks the plan: a plan over it is still shown, then exits 1 with one
 *     line saying it does not fit; a plan within it exits 0;
 *   - --cuts at the network's output (logits) or input says that is why it is no cut point, and
 *     so does --cuts on a constant or on a tensor read only by a pointwise activation;
 *   - a split that needs more memory than end to end (mlp_fmnist at K = 2) says "N% more than end
 *     to end" in the table and on the page, never a negative reduction;
 *   - --html writes a page with inline SVG and nothing fetched from elsewhere;
 *   - --json /dev/stdout, with stdout a pipe or a redirected file, writes the plan after the
 *     table through the process's own output, exit 0. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support/bundled_models.h"
#include "support/check.h"
#include "support/command.h"
#include "support/mpi_runs.h"

static char directory[] = "/tmp/ipro_test_plan_XXXXXX";

/* ---- a small JSON reader: enough for the numbers and string arrays of these outputs ---- */

/* The value after "key": at the outer level of the object starting at object (nested objects
 * and arrays are skipped), or NULL. */
static const char *member(const char *object, const char *key) {
  char quoted[128];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  size_t length = strlen(quoted);
  int depth = 0;
  bool in_string = false;
  for (const char *p = object; *p; p++) {
    if (in_string) {
      if (*p == '\\' && p[1])
        p++;
      else if (*p == '"')
        in_string = false;
      continue;
    }
    if (*p == '{' || *p == '[') {
      depth++;
    } else if (*p == '}' || *p == ']') {
      if (--depth == 0) return NULL;
    } else if (*p == '"') {
      if (depth == 1 && strncmp(p, quoted, length) == 0) {
        const char *value = p + length;
        while (*value == ' ' || *value == ':')
          value++;
        return value;
      }
      in_string = true;
    }
  }
  return NULL;
}

static double number(const char *object, const char *key) {
  const char *value = object ? member(object, key) : NULL;
  return value ? strtod(value, NULL) : NAN;
}

#define CHECK_NUMBER(object, key, expected)                                                        \
  do {                                                                                             \
    double check_value_ = number((object), (key)), check_expected_ = (double)(expected);           \
    CHECK_MSG(check_value_ == check_expected_, "\"%s\" is %.17g, expected %.17g", (key),           \
              check_value_, check_expected_);                                                      \
  } while (0)

/* The items of a JSON array as pointers to their first character; returns the count. */
static int items(const char *array, const char **out, int max) {
  int count = 0, depth = 0;
  bool in_string = false, at_item = true;
  if (!array || *array != '[') return -1;
  for (const char *p = array + 1; *p; p++) {
    if (in_string) {
      if (*p == '\\' && p[1])
        p++;
      else if (*p == '"')
        in_string = false;
      continue;
    }
    if (depth == 0 && *p == ']') break;
    if (depth == 0 && at_item && *p != ' ' && *p != '\n') {
      if (count < max) out[count] = p;
      count++;
      at_item = false;
    }
    if (*p == '"') in_string = true;
    if (*p == '{' || *p == '[') depth++;
    if (*p == '}' || *p == ']') depth--;
    if (depth == 0 && *p == ',') at_item = true;
  }
  return count;
}

/* The string starting at the quote s, unescaped enough for tensor names. */
static void string_value(const char *s, char *out, size_t size) {
  size_t n = 0;
  if (!s || *s != '"') {
    out[0] = '\0';
    return;
  }
  for (s++; *s && *s != '"' && n + 1 < size; s++) {
    if (*s == '\\' && s[1]) s++;
    out[n++] = *s;
  }
  out[n] = '\0';
}

static bool array_has_string(const char *array, const char *name) {
  const char *list[256];
  int n = items(array, list, 256);
  for (int i = 0; i < n && i < 256; i++) {
    char value[512];
    string_value(list[i], value, sizeof value);
    if (strcmp(value, name) == 0) return true;
  }
  return false;
}

/* ---- the checks ---- */

static const char model[] = "models/resnet8_fmnist.onnx";

/* The K = 2 plan; writes its cut into cut and its peak into *peak. */
static void k2_plan(char *cut, size_t cut_size, double *peak) {
  char arguments[1024];
  ipro_command_result inspect, r;
  snprintf(arguments, sizeof arguments, "inspect %s --batch 32 --json", model);
  ipro_test_run_infopro(arguments, &inspect);
  CHECK_MSG(inspect.exit_status == 0, "inspect: exit status %d: %s", inspect.exit_status,
            inspect.err);
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 -K 2 --json -", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && r.err_lines == 0, "plan -K 2: exit status %d, stderr: %s",
            r.exit_status, r.err);
  static char printed[65536]; /* r is used again below */
  CHECK_MSG(r.out[0] == '{', "plan --json -: stdout is not one JSON object: %.200s", r.out);
  if (r.out[0] != '{') return;
  snprintf(printed, sizeof printed, "%s", r.out);
  const char *plan = printed;

  CHECK_NUMBER(plan, "K", 2);
  CHECK_NUMBER(plan, "batch", 32);
  const char *cuts[4];
  int n_cuts = items(member(plan, "cuts"), cuts, 4);
  CHECK_EQ_INT(n_cuts, 1);
  string_value(n_cuts > 0 ? cuts[0] : NULL, cut, cut_size);
  CHECK_MSG(*cut && array_has_string(member(strchr(inspect.out, '{'), "cut_points"), cut),
            "the cut '%s' is not among inspect's cut points", cut);
  CHECK_MSG(array_has_string(member(plan, "cut_points"), cut), "cut '%s' not in cut_points", cut);

  const char *modules[4];
  int n_modules = items(member(plan, "modules"), modules, 4);
  CHECK_EQ_INT(n_modules, 2);
  double persistent = 0, largest = 0;
  for (int k = 0; k < n_modules && k < 4; k++) {
    double transient = number(modules[k], "transient_bytes");
    CHECK_NUMBER(modules[k], "index", k + 1);
    CHECK_MSG(transient == number(modules[k], "input_bytes") + number(modules[k], "arena_bytes") +
                               number(modules[k], "output_bytes"),
              "module %d: transient %.0f is not input + arena + output", k + 1, transient);
    CHECK_MSG(number(modules[k], "flops") > 0 && number(modules[k], "parameters") > 0,
              "module %d: no FLOPs or parameters", k + 1);
    persistent += number(modules[k], "persistent_bytes");
    if (transient > largest) largest = transient;
  }
  if (n_modules == 2) {
    char output[512];
    string_value(member(modules[0], "output_tensor"), output, sizeof output);
    CHECK_MSG(strcmp(output, cut) == 0, "module 1 hands on '%s', the cut is '%s'", output, cut);
    CHECK_MSG(number(modules[0], "head_parameters") > 0, "module 1 has no head parameters");
    CHECK_NUMBER(modules[1], "head_parameters", 0);
    CHECK_MSG(number(modules[0], "output_bytes") == number(modules[1], "input_bytes") &&
                  number(modules[0], "input_bytes") == 0 && number(modules[1], "output_bytes") == 0,
              "the handoff between the modules does not match");
  }
  *peak = number(plan, "peak_bytes");
  double fixed = number(plan, "fixed_bytes"), e2e = number(plan, "e2e_peak_bytes");
  CHECK_MSG(fixed > 0 && *peak == fixed + persistent + largest,
            "peak %.0f, but fixed %.0f + persistent %.0f + largest transient %.0f = %.0f", *peak,
            fixed, persistent, largest, fixed + persistent + largest);
  CHECK_MSG(e2e > 0, "e2e_peak_bytes %.0f", e2e);
  double reduction = number(plan, "reduction");
  CHECK_MSG(fabs(reduction - (1.0 - *peak / e2e)) < 1e-9, "reduction %.12f, 1 - peak/e2e = %.12f",
            reduction, 1.0 - *peak / e2e);
  CHECK_NUMBER(member(plan, "e2e"), "head_parameters", 0);

  /* --json FILE writes what --json - prints, and the split reads back from it as `infopro train
   * --plan` reads it (the same function). */
  static char written[65536];
  char path[600];
  size_t n = 0;
  snprintf(path, sizeof path, "%s/plan.json", directory);
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 -K 2 --json '%s'", model, path);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "peak: "), "plan --json FILE: exit status %d: %s",
            r.exit_status, r.err);
  FILE *file = fopen(path, "r");
  if (file) {
    n = fread(written, 1, sizeof written - 1, file);
    fclose(file);
  }
  written[n] = '\0';
  CHECK_MSG(strcmp(written, plan) == 0, "%s differs from the plan printed by --json -", path);
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 --plan '%s' --json -", model, path);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "plan --plan: exit status %d: %s", r.exit_status, r.err);
  const char *again = strchr(r.out, '{');
  char cut_again[512] = "";
  n_cuts = items(again ? member(again, "cuts") : NULL, cuts, 4);
  string_value(n_cuts == 1 ? cuts[0] : NULL, cut_again, sizeof cut_again);
  CHECK_MSG(n_cuts == 1 && strcmp(cut_again, cut) == 0, "--plan read back %d cuts ('%s')", n_cuts,
            cut_again);
  CHECK_MSG(number(again, "peak_bytes") == *peak, "--plan gives peak %.0f, the plan %.0f",
            number(again, "peak_bytes"), *peak);
  /* --json /dev/stdout, stdout a pipe and then a file the shell redirected it to: the plan is
   * written through the process's own output after its table, as --json - writes it (a pipe's
   * /dev/stdout named "pipe:[N]" and was refused; a redirected one was renamed over, and the
   * table then went to the file replaced) */
  const char *targets[] = {"| cat", "> '%s/stdout.txt' && cat '%s/stdout.txt'"};
  for (int t = 0; t < 2; t++) {
    char tail[1400], command[4096];
    snprintf(tail, sizeof tail, targets[t], directory, directory);
    snprintf(command, sizeof command, "'%s' plan %s --batch 32 -K 2 --json /dev/stdout %s",
             getenv("IPRO_INFOPRO"), model, tail);
    ipro_test_run_command(command, &r);
    const char *table = strstr(r.out, "peak: "),
               *json = strstr(r.out, "{\"format\":\"infopro-plan\"");
    CHECK_MSG(r.exit_status == 0 && table && json && table < json && strstr(json, cut),
              "--json /dev/stdout %s: exit %d, stdout %.200s, stderr %s", targets[t], r.exit_status,
              r.out, r.err);
  }
  /* the plan given to another model: one line saying whose plan it is, and the missing cut */
  snprintf(arguments, sizeof arguments, "plan models/mlp_fmnist.onnx --batch 32 --plan '%s'", path);
  ipro_test_run_infopro(arguments, &r);
  char expected[800];
  snprintf(expected, sizeof expected, "the plan %s, made for %s, does not fit this network", path,
           model);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, expected) && strstr(r.err, cut),
            "a plan of %s given to the MLP: exit %d: %s", model, r.exit_status, r.err);
  /* the model's name is the file's text: one with a line break in it is shown escaped, and the
   * message stays one line (ir/error.c escapes every message) */
  size_t size = 0;
  char *text = (char *)ipro_test_read_file(path, &size);
  char *named = text ? strstr(text, "\"model\":\"") : NULL;
  CHECK_MSG(named, "no \"model\" in %s", path);
  if (named) {
    named += strlen("\"model\":\"");
    char edited[900];
    snprintf(edited, sizeof edited, "%s/edited_plan.json", directory);
    FILE *file = fopen(edited, "w");
    CHECK_MSG(
        file &&
            fprintf(file, "%.*stwo\\nlines%s", (int)(named - text), text, strchr(named, '"')) > 0 &&
            fclose(file) == 0,
        "cannot write %s", edited);
    snprintf(arguments, sizeof arguments, "plan models/mlp_fmnist.onnx --batch 32 --plan '%s'",
             edited);
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "made for two\\x0alines,"),
              "a plan of a model named with a line break: exit %d: %s", r.exit_status, r.err);
  }
  free(text);
}

/* The text of module 1's "head" object's shape and decoder in a plan JSON, or "". */
static void head_of(const char *plan, char *out, size_t size) {
  out[0] = '\0';
  const char *head = plan ? strstr(plan, "\"head\":{") : NULL;
  const char *end = head ? strstr(head, ",\"limited\"") : NULL;
  if (head && end) snprintf(out, size, "%.*s", (int)(end - head), head);
}

/* A plan chosen for a budget (the demo's: the paper's decoder fits 64 MiB, where keeping the plan
 * profitable alone would take the reduced one) read back with --plan, as `infopro train --plan`
 * reads it: the same heads and peak, not heads chosen again by another rule. */
static void plan_file_heads(void) {
  char arguments[1024], path[600], written_head[256], read_head[256];
  ipro_command_result r, again;
  snprintf(path, sizeof path, "%s/budget_plan.json", directory);
  snprintf(arguments, sizeof arguments, "plan %s --batch 128 --budget 64MiB --json '%s'", model,
           path);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "plan --budget 64MiB: exit %d: %s", r.exit_status, r.err);
  snprintf(arguments, sizeof arguments, "plan %s --batch 128 --plan '%s' --json -", model, path);
  ipro_test_run_infopro(arguments, &again);
  CHECK_MSG(again.exit_status == 0, "plan --plan: exit %d: %s", again.exit_status, again.err);
  snprintf(arguments, sizeof arguments, "cat '%s'", path);
  ipro_test_run_command_expecting(arguments, &r, 0);
  head_of(strchr(r.out, '{'), written_head, sizeof written_head);
  head_of(strchr(again.out, '{'), read_head, sizeof read_head);
  CHECK_MSG(written_head[0] && strcmp(written_head, read_head) == 0,
            "the plan's heads %s, read back with --plan %s", written_head, read_head);
  CHECK_MSG(number(strchr(r.out, '{'), "peak_bytes") ==
                number(strchr(again.out, '{'), "peak_bytes"),
            "the plan's peak %.0f, read back with --plan %.0f",
            number(strchr(r.out, '{'), "peak_bytes"), number(strchr(again.out, '{'), "peak_bytes"));
  /* read at another batch: said, since its figures are those of this batch, not the file's */
  snprintf(arguments, sizeof arguments, "plan %s --batch 64 --plan '%s'", model, path);
  ipro_test_run_infopro(arguments, &again);
  CHECK_MSG(
      again.exit_status == 0 && strstr(again.out, "made at batch 128, costed again at batch 64"),
      "plan --plan at batch 64 of a batch-128 plan: exit %d: %s", again.exit_status, again.out);
  snprintf(arguments, sizeof arguments, "plan %s --batch 128 --plan '%s'", model, path);
  ipro_test_run_infopro(arguments, &again);
  CHECK_MSG(again.exit_status == 0 && !strstr(again.out, "made at batch"),
            "plan --plan at the plan's own batch: exit %d: %s", again.exit_status, again.out);
}

static void budgets(double k2_peak) {
  char arguments[1024];
  ipro_command_result r;
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 --budget %.0f --json -", model,
           k2_peak);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "--budget %.0f: exit status %d: %s", k2_peak, r.exit_status, r.err);
  const char *plan = strchr(r.out, '{');
  double K = number(plan, "K"), peak = number(plan, "peak_bytes");
  CHECK_MSG(K >= 1 && K <= 2 && peak <= k2_peak, "--budget %.0f: K %.0f, peak %.0f", k2_peak, K,
            peak);
  CHECK_NUMBER(plan, "budget_bytes", k2_peak);
  CHECK_MSG(plan && strstr(plan, "\"fits\":true"), "--budget: no \"fits\":true");

  snprintf(arguments, sizeof arguments, "plan %s --batch 32 --budget 1000", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "smallest peak"),
            "--budget 1000: exit status %d, stderr: %s", r.exit_status, r.err);

  /* --budget beside -K checks the plan: one that does not fit is still shown, then fails */
  snprintf(arguments, sizeof arguments, "plan %s --batch 8 -K 2 --budget 1KiB", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 &&
                strstr(r.err, "the plan does not fit --budget 1,024 bytes: its peak of ") &&
                strstr(r.out, "does NOT fit") && strstr(r.out, "peak: "),
            "-K 2 --budget 1KiB: exit status %d, stderr: %s", r.exit_status, r.err);
  snprintf(arguments, sizeof arguments, "plan %s --batch 8 -K 2 --budget 1GiB", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "fits, ") && r.err[0] == '\0',
            "-K 2 --budget 1GiB: exit status %d, stderr: %s", r.exit_status, r.err);
}

/* The heads of --aux-head auto and the zero-cost-head bound: the plan names each local module's
 * head; its bound is the peak that the same options give with the least head a local loss
 * needs, asked for by hand (--aux-head 0c1f --local-loss ce --lambda 0,1,0,1: a pool and one
 * linear layer, no decoder), and bound_kept is recomputed from the three peaks. */
static void heads_and_bound(void) {
  char arguments[1024];
  ipro_command_result r;
  static char plan[65536];
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 -K 2 --json -", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "plan -K 2: exit status %d: %s", r.exit_status, r.err);
  snprintf(plan, sizeof plan, "%s", r.out);
  snprintf(arguments, sizeof arguments,
           "plan %s --batch 32 -K 2 --aux-head 0c1f --local-loss ce --lambda 0,1,0,1 --json -",
           model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "plan with the least head: exit status %d: %s", r.exit_status,
            r.err);
  double bound = number(plan, "bound_peak_bytes"), peak = number(plan, "peak_bytes");
  double e2e = number(plan, "e2e_peak_bytes");
  CHECK_MSG(bound == number(r.out, "peak_bytes"), "bound_peak_bytes %.0f, the least head's %.0f",
            bound, number(r.out, "peak_bytes"));
  CHECK_MSG(bound <= peak && bound < e2e, "bound %.0f, peak %.0f, e2e %.0f", bound, peak, e2e);
  CHECK_MSG(fabs(number(plan, "bound_kept") - (e2e - peak) / (e2e - bound)) < 1e-9,
            "bound_kept %.12f, (e2e - peak) / (e2e - bound) = %.12f", number(plan, "bound_kept"),
            (e2e - peak) / (e2e - bound));
  const char *modules[4];
  int n_modules = items(member(plan, "modules"), modules, 4);
  CHECK_EQ_INT(n_modules, 2);
  if (n_modules != 2) return;
  const char *head = member(modules[0], "head");
  char shape[32], decoder[32];
  string_value(head ? member(head, "shape") : NULL, shape, sizeof shape);
  string_value(head ? member(head, "decoder") : NULL, decoder, sizeof decoder);
  CHECK_MSG((strcmp(shape, "1c2f") == 0 || strcmp(shape, "0c2f") == 0) &&
                (strcmp(decoder, "paper") == 0 || strcmp(decoder, "reduced") == 0),
            "module 1's head: shape '%s', decoder '%s'", shape, decoder);
  CHECK_MSG(member(modules[1], "head") == NULL, "the last module has a head");
  /* The head it names is the head it was costed with: asking for it by hand gives the plan. */
  snprintf(arguments, sizeof arguments,
           "plan %s --batch 32 -K 2 --aux-head %s --decoder %s --json -", model, shape, decoder);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && number(r.out, "peak_bytes") == peak,
            "plan with %s %s by hand: exit status %d, peak %.0f, auto's %.0f", shape, decoder,
            r.exit_status, number(r.out, "peak_bytes"), peak);
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 -K 2 --decoder wide", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 2 && strstr(r.err, "paper or reduced"),
            "--decoder wide: exit status %d, stderr: %s", r.exit_status, r.err);
}

static void failures(void) {
  char arguments[1024];
  ipro_command_result r;
  const char *not_cut = "/layer1/layer1.0/Relu_output_0"; /* beside the residual's skip path */
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 --cuts %s", model, not_cut);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, not_cut) &&
                strstr(r.err, "not a cut point"),
            "--cuts %s: exit status %d, stderr: %s", not_cut, r.exit_status, r.err);
  /* both hidden layers of this export read one weight (models/export_dynamo.py) */
  snprintf(arguments, sizeof arguments,
           "plan models/mlp_shared_dynamo_fmnist.onnx --batch 32 --cuts relu_1");
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 &&
                strstr(r.err, "'relu_1' is not a cut point") &&
                strstr(r.err, "parameter 'a.weight' is read on both sides of it"),
            "--cuts relu_1 between a shared parameter's readers: exit status %d, stderr: %s",
            r.exit_status, r.err);
  /* the network's ends are live alone, but a cut there makes an empty module: said so */
  static const char *const ends[][2] = {{"logits", "it is the network's output"},
                                        {"input", "it is the network's input"}};
  for (int e = 0; e < 2; e++) {
    snprintf(arguments, sizeof arguments, "plan %s --batch 8 --cuts %s", model, ends[e][0]);
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, ends[e][1]) &&
                  strstr(r.err, "empty module") && !strstr(r.err, "another activation"),
              "--cuts %s: exit status %d, stderr: %s", ends[e][0], r.exit_status, r.err);
  }
  /* a constant, and a tensor read only by a pointwise activation (the cut goes after it) */
  static const char *const others[][2] = {
      {"net.1.weight", "it is one of the model's constants (an initializer)"},
      {"/net/net.1/Gemm_output_0", "read only by the pointwise activation '/net/net.2/Relu', "
                                   "which belongs with the module before the cut: cut at its "
                                   "output '/net/net.2/Relu_output_0'"}};
  for (int e = 0; e < 2; e++) {
    snprintf(arguments, sizeof arguments, "plan models/mlp_fmnist.onnx --batch 8 --cuts %s",
             others[e][0]);
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, others[e][1]) &&
                  !strstr(r.err, "another activation"),
              "--cuts %s: exit status %d, stderr: %s", others[e][0], r.exit_status, r.err);
  }
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 --cuts no_such_tensor", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "no_such_tensor"),
            "--cuts no_such_tensor: exit status %d, stderr: %s", r.exit_status, r.err);
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 -K 16", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, "cut points"),
            "-K 16: exit status %d, stderr: %s", r.exit_status, r.err);
  static const char *const usage_errors[] = {
      "plan", "plan models/resnet8_fmnist.onnx -K 2 --cuts /Relu_output_0",
      "plan models/resnet8_fmnist.onnx --batch 0", "plan models/resnet8_fmnist.onnx --frobnicate",
      "plan models/resnet8_fmnist.onnx --budget lots"};
  for (size_t i = 0; i < sizeof usage_errors / sizeof usage_errors[0]; i++) {
    ipro_test_run_infopro(usage_errors[i], &r);
    CHECK_MSG(r.exit_status == 2, "%s: exit status %d", usage_errors[i], r.exit_status);
  }
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 -K 2", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "cuts: ") && strstr(r.out, "peak: ") &&
                strstr(r.out, "end-to-end: ") && strstr(r.out, "reduction "),
            "the table: exit status %d: %s", r.exit_status, r.out);
}

/* A split that needs more memory than end to end (mlp_fmnist at K = 2: its heads cost more than
 * the cut saves) says "N% more than end to end", in the table and on the page, never a negative
 * reduction; one below it still says "reduction N%". */
/* The file at path, NUL-terminated (empty when it cannot be read); its length. */
static size_t read_page(const char *path, char *page, size_t size) {
  size_t n = 0;
  FILE *file = fopen(path, "r");
  if (file) {
    n = fread(page, 1, size - 1, file);
    fclose(file);
  }
  page[n] = '\0';
  return n;
}

static void peak_wording(void) {
  char arguments[1024], path[600];
  ipro_command_result r;
  snprintf(path, sizeof path, "%s/more.html", directory);
  snprintf(arguments, sizeof arguments, "plan models/mlp_fmnist.onnx -K 2 --batch 8 --html '%s'",
           path);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "% more than end to end\n") &&
                !strstr(r.out, "reduction -") && !strstr(r.out, "% less"),
            "mlp_fmnist -K 2: exit status %d, stdout: %s", r.exit_status, r.out);
  /* its bound too is above end to end: no share of a saving to report */
  CHECK_MSG(strstr(r.out, "even free heads would not save memory at this K") &&
                !strstr(r.out, "of that saving"),
            "mlp_fmnist -K 2: the bound line: %s", r.out);
  static char page[1 << 20];
  read_page(path, page, sizeof page);
  CHECK_MSG(strstr(page, "% more than end to end</b>") && !strstr(page, "reduction <b>-"),
            "mlp_fmnist -K 2: the page does not say the split needs more memory");
  snprintf(arguments, sizeof arguments, "plan %s --batch 8 -K 2", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "; reduction ") && !strstr(r.out, "% more than"),
            "resnet8 -K 2: exit status %d, stdout: %s", r.exit_status, r.out);
}

static void html_page(void) {
  char arguments[1024], path[600];
  ipro_command_result r;
  snprintf(path, sizeof path, "%s/plan.html", directory);
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 -K 2 --budget 100MiB --html '%s'",
           model, path);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "--html: exit status %d: %s", r.exit_status, r.err);
  static char page[1 << 20];
  size_t n = read_page(path, page, sizeof page);
  CHECK_MSG(strstr(page, "<svg") && strstr(page, "</svg>") && strstr(page, "</html>"),
            "--html: no complete page with SVG in %s (%zu bytes)", path, n);
  CHECK_MSG(!strstr(page, "<script") && !strstr(page, "src=") && !strstr(page, "href=") &&
                !strstr(page, "@import") && !strstr(page, "url("),
            "--html: the page refers to something outside itself");
  /* --json and --html on one file (however spelt) left only the page, exit 0: refused (2), the
   * page written before kept */
  snprintf(arguments, sizeof arguments,
           "plan %s --batch 32 -K 2 --json '%s' --html '%s/./plan.html'", model, path, directory);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 2 && strstr(r.err, "--json and --html name the same file"),
            "--json and --html on one file: exit status %d: %s", r.exit_status, r.err);
  CHECK_MSG(read_page(path, page, sizeof page) == n, "a refused plan changed %s", path);
}

/* `plan` and `inspect` of a model whose exporter folded its BatchNormalizations away
 * (models/cnn_dynamo_fmnist.onnx: torch.export's default optimisation folded those of
 * cnn_dynamo_bn_fmnist.onnx, the same network exported with optimize=False, all of them) warn that
 * it trains without them; of the unfolded file they do not. Both still succeed. */
static void folding_warned(void) {
  static const char *const commands[] = {"plan %s --batch 8 -K 2", "inspect %s"};
  for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
    for (int folded = 0; folded < 2; folded++) {
      char arguments[512];
      snprintf(arguments, sizeof arguments, commands[c],
               folded ? "models/cnn_dynamo_fmnist.onnx" : "models/cnn_dynamo_bn_fmnist.onnx");
      ipro_command_result r;
      ipro_test_run_infopro(arguments, &r);
      const char *warning = strstr(r.err, "exporter folded");
      char counted[200];
      ipro_test_folded_warning(counted, sizeof counted);
      CHECK_MSG(r.exit_status == 0 && (folded ? warning && strstr(r.err, counted) : !warning),
                "%s: exit %d, %s the folding warning ('%s'): %s", arguments, r.exit_status,
                folded ? "without" : "with", counted, r.err);
    }
}

/* The split search with --aux-head auto builds only modules a split of K = 2 can hold: the first
 * from the input to each cut, with each of the 4 candidate heads and the zero-cost bound's, the
 * second from each cut to the output, and the end-to-end program: at most 6 per cut point and 1
 * (ResNet-8 at batch 32, 7 cut points: 43; it built 127 before session 34, every range for the
 * first module, and ConvMixer-768/32's K = 2 plan took 19 s). */
static void planning_effort(void) {
  char arguments[1024];
  ipro_command_result r;
  snprintf(arguments, sizeof arguments, "plan %s --batch 32 -K 2", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "plan -K 2: exit status %d: %s", r.exit_status, r.err);
  const char *cuts_at = strstr(r.out, " cut points"), *built_at = strstr(r.out, "\nplanned in ");
  if (built_at) built_at = strchr(built_at, '(');
  int cuts = 0, programs = -1;
  while (cuts_at && cuts_at > r.out && cuts_at[-1] >= '0' && cuts_at[-1] <= '9')
    cuts_at--;
  if (cuts_at) cuts = atoi(cuts_at);
  if (built_at) programs = atoi(built_at + 1);
  CHECK_MSG(cuts > 0 && programs > 0 && programs <= 6 * cuts + 1,
            "plan -K 2 of %d cut points built %d module programs (at most %d expected): %.300s",
            cuts, programs, 6 * cuts + 1, r.out);
}

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  folding_warned();
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary folder");
  char cut[512] = "";
  double peak = 0;
  k2_plan(cut, sizeof cut, &peak);
  if (peak > 0) budgets(peak);
  plan_file_heads();
  heads_and_bound();
  planning_effort();
  failures();
  peak_wording();
  html_page();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
