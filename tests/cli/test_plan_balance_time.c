/* `infopro plan --balance time` through the binary, on models/resnet8_fmnist.onnx at batch 8,
 * K = 3 (its split search is checked against brute force in partitioner.test_split_time; this
 * checks what the command makes of it):
 *   - the report says the split was chosen for time, and its slowest module's FLOPs (the table's
 *     column) are at most those of the memory-balanced plan's slowest module;
 *   - the time line: each module's ms per step is its FLOPs at --gflops 10, recomputed here from
 *     the table, and the pipeline's images/s is the batch over the slowest module's time; on 2
 *     processes, the stages are the pair of module runs whose slower has the fewer FLOPs and
 *     the images/s the batch over its time;
 *   - `infopro train -K 2 --balance time` trains with the cuts `plan -K 2 --balance time` chose,
 *     which differ from `plan -K 2`'s (checked, so that a train ignoring the option fails);
 *   - without cut points, -K 2 --balance time trains end to end with the policy's note, as -K 2;
 *   - with --calibrate the time line says the times come from kernels measured on this machine,
 *     each module's ms is the plan JSON's calibrated_step_seconds (written in the same run) and
 *     the pace is the batch over the slowest; train -K 2 --balance time --calibrate trains, and
 *     --calibrate without --balance time is a usage error of train;
 *   - --balance without -K, an unknown --balance, a --gflops that is not a positive number and
 *     --gflops beside --calibrate are usage errors (exit 2) naming what is wrong, for train as for
 * plan, and so is plan's --calibrate with --device cuda (it measures on the CPU only). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/check.h"
#include "support/command.h"

#define PLAN "models/resnet8_fmnist.onnx --batch 8 -K 3"
#define MODEL PLAN " --gflops 10"
#define K 3

/* The FLOPs column of the table's module rows ("1  first last parameters FLOPs ..."). */
static bool module_flops(const char *out, double *flops) {
  for (int k = 0; k < K; k++) {
    char start[8];
    snprintf(start, sizeof start, "\n%d ", k + 1);
    const char *row = strstr(out, start);
    char first[256], last[256], parameters[64], column[64];
    if (!row || sscanf(row + 1, "%*s %255s %255s %63s %63s", first, last, parameters, column) != 4)
      return false;
    char digits[64];
    size_t n = 0;
    for (const char *c = column; *c && n + 1 < sizeof digits; c++)
      if (*c != ',') digits[n++] = *c;
    digits[n] = '\0';
    flops[k] = atof(digits);
  }
  return true;
}

static double largest(const double *values) {
  double m = 0;
  for (int k = 0; k < K; k++)
    m = fmax(m, values[k]);
  return m;
}

/* The "cuts: " line of `infopro plan models/resnet8_fmnist.onnx --batch 8 ARGS`. */
static bool plan_cuts(const char *args, char *cuts, size_t size) {
  char command[256];
  snprintf(command, sizeof command, "plan models/resnet8_fmnist.onnx --batch 8 %s", args);
  ipro_command_result r;
  ipro_test_run_infopro(command, &r);
  const char *line = strstr(r.out, "cuts: ");
  CHECK_MSG(r.exit_status == 0 && line, "%s: exit %d, %s", command, r.exit_status, r.err);
  if (r.exit_status != 0 || !line) return false;
  char format[32];
  snprintf(format, sizeof format, "%%%zu[^\n]", size - 1);
  return sscanf(line + strlen("cuts: "), format, cuts) == 1;
}

/* plan --calibrate: the printed times against the JSON the same run wrote. */
static void check_calibrated(void) {
  char json[] = "/tmp/infopro-calibrated-XXXXXX";
  int fd = mkstemp(json);
  CHECK_MSG(fd >= 0, "no temporary file");
  if (fd < 0) return;
  close(fd);
  char command[512];
  snprintf(command, sizeof command, "plan " PLAN " --balance time --calibrate --json %s", json);
  ipro_command_result r;
  ipro_test_run_infopro(command, &r);
  const char *line = strstr(r.out, "time predicted from kernels measured on this machine "
                                   "(--calibrate), per training step:");
  CHECK_MSG(r.exit_status == 0 && line, "%s: exit %d, %s %s", command, r.exit_status, r.out, r.err);
  json_error_t error;
  json_t *root = line ? json_load_file(json, 0, &error) : NULL;
  json_t *modules = json_object_get(root, "modules");
  CHECK_MSG(!line || json_array_size(modules) == K, "%s: no %d modules", json, K);
  double slowest = 0;
  for (int k = 0; root && k < K && json_array_size(modules) == K; k++) {
    double seconds = json_number_value(
        json_object_get(json_array_get(modules, (size_t)k), "calibrated_step_seconds"));
    char label[32];
    snprintf(label, sizeof label, "module %d ", k + 1);
    const char *at = strstr(line, label);
    double ms = at ? atof(at + strlen(label)) : -1;
    CHECK_MSG(seconds > 0 && fabs(ms - 1e3 * seconds) <= 0.05 + 1e-9,
              "module %d: %.2f ms printed, %g s in the JSON", k + 1, ms, seconds);
    slowest = fmax(slowest, seconds);
  }
  const char *pace = strstr(r.out, "sets the pace, ");
  double images = pace ? atof(pace + strlen("sets the pace, ")) : -1;
  CHECK_MSG(slowest > 0 && fabs(images - 8 / slowest) <= 0.5 + 1e-9,
            "%.0f images/s printed, %.1f from the slowest module", images,
            slowest > 0 ? 8 / slowest : 0);
  json_decref(root);
  unlink(json);
  if (!ipro_test_training_unavailable()) {
    ipro_command_result trained;
    ipro_test_run_infopro("train models/resnet8_fmnist.onnx --batch 8 -K 2 --balance time "
                          "--calibrate --data fashion-mnist --limit 16 --test-limit 8 --epochs 1",
                          &trained);
    /* train measured (its calibration line) and trained on the cuts it chose */
    CHECK_MSG(trained.exit_status == 0 && strstr(trained.out, "calibrated on 3 timed steps") &&
                  strstr(trained.out, "K = 2, cut at "),
              "train --balance time --calibrate: exit %d, %s %s", trained.exit_status, trained.out,
              trained.err);
  } else {
    printf("skipped: train --balance time --calibrate (%s)\n", ipro_test_training_unavailable());
  }
}

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  ipro_command_result timed, memory;
  ipro_test_run_infopro("plan " MODEL " --balance time", &timed);
  ipro_test_run_infopro("plan " MODEL, &memory);
  CHECK_MSG(timed.exit_status == 0 && memory.exit_status == 0, "exit %d and %d: %s %s",
            timed.exit_status, memory.exit_status, timed.err, memory.err);
  CHECK_MSG(strstr(timed.out, "split       3 modules whose slowest module's step is the shortest "
                              "(--balance time)"),
            "no split line: %s", timed.out);
  double flops[K], memory_flops[K];
  bool parsed = module_flops(timed.out, flops) && module_flops(memory.out, memory_flops);
  CHECK_MSG(parsed, "no module table: %s", timed.out);
  if (parsed) {
    CHECK_MSG(largest(flops) <= largest(memory_flops),
              "the time-balanced plan's slowest module has %.0f FLOPs, the memory plan's %.0f",
              largest(flops), largest(memory_flops));
    const char *line = strstr(timed.out, "time at 10 GFLOP/s (--gflops), per training step:");
    CHECK_MSG(line != NULL, "no time line: %s", timed.out);
    for (int k = 0; line && k < K; k++) {
      char label[32];
      snprintf(label, sizeof label, "module %d ", k + 1);
      const char *at = strstr(line, label);
      double ms = at ? atof(at + strlen(label)) : -1, expected = 1e3 * flops[k] / 10e9;
      CHECK_MSG(fabs(ms - expected) <= 0.05 + 1e-9,
                "module %d: %.2f ms printed, %.2f ms from its FLOPs", k + 1, ms, expected);
    }
    const char *pace = strstr(timed.out, "sets the pace, ");
    double images = pace ? atof(pace + strlen("sets the pace, ")) : -1;
    double expected = 8 / (largest(flops) / 10e9);
    CHECK_MSG(fabs(images - expected) <= 0.5 + 1e-9, "%.0f images/s printed, %.1f expected", images,
              expected);
    /* on 2 processes: the 2 stages whose slower has the fewer FLOPs (a tie: the longer first) */
    double first_two = fmax(flops[0] + flops[1], flops[2]),
           last_two = fmax(flops[0], flops[1] + flops[2]);
    bool longer_first = first_two <= last_two;
    const char *stages =
        strstr(timed.out, "pipeline of fewer processes, each a stage of modules as "
                          "mpirun groups them: -np 2 (");
    const char *grouping = longer_first ? "1-2 | 3) " : "1 | 2-3) ";
    const char *after = stages ? strchr(stages, '(') + 1 : NULL;
    CHECK_MSG(after && strncmp(after, grouping, strlen(grouping)) == 0, "expected -np 2 (%s in: %s",
              grouping, timed.out);
    double staged = after ? atof(after + strlen(grouping)) : -1;
    double staged_expected = 8 / (fmin(first_two, last_two) / 10e9);
    CHECK_MSG(fabs(staged - staged_expected) <= 0.5 + 1e-9,
              "-np 2: %.0f images/s printed, %.1f expected", staged, staged_expected);
  }
  /* train takes the option and trains with plan's cuts: at K = 2, where time and memory cut
   * differently (checked), so a train that ignored --balance would fail here */
  char time_cuts[1024] = "", memory_cuts[1024] = "";
  bool have_cuts = plan_cuts("-K 2 --balance time", time_cuts, sizeof time_cuts) &&
                   plan_cuts("-K 2", memory_cuts, sizeof memory_cuts);
  CHECK_MSG(have_cuts && strcmp(time_cuts, memory_cuts) != 0,
            "at K = 2 the time cuts (%s) must differ from the memory cuts (%s)", time_cuts,
            memory_cuts);
  if (have_cuts && !ipro_test_training_unavailable()) {
    ipro_command_result trained;
    ipro_test_run_infopro("train models/resnet8_fmnist.onnx --batch 8 -K 2 --balance time --data "
                          "fashion-mnist --limit 16 --test-limit 8 --epochs 1",
                          &trained);
    char line[1200];
    snprintf(line, sizeof line, "K = 2, cut at %s;", time_cuts);
    CHECK_MSG(trained.exit_status == 0 && strstr(trained.out, line),
              "train --balance time did not train with plan's cuts (%s): exit %d, %s %s", line,
              trained.exit_status, trained.out, trained.err);
  } else if (have_cuts) {
    printf("skipped: train --balance time (%s)\n", ipro_test_training_unavailable());
  }
  /* A network without cut points: -K 2 --balance time does what -K 2 does (trains end to end,
   * with the policy's note), not an error of its own. */
  ipro_command_result no_cuts;
  ipro_test_run_infopro("plan models/twin_linear_fmnist.onnx --batch 8 -K 2 --balance time",
                        &no_cuts);
  CHECK_MSG(no_cuts.exit_status == 0 && strstr(no_cuts.err, "trains end to end"),
            "-K 2 --balance time without cut points: exit %d, %s", no_cuts.exit_status,
            no_cuts.err);
  /* Each usage error names what is wrong (an option train did not know would fail otherwise). */
  const char *usage[][2] = {
      {"plan models/resnet8_fmnist.onnx --balance time", "it needs -K alone"},
      {"train models/resnet8_fmnist.onnx --data fashion-mnist --balance time", "it needs -K alone"},
      {"train models/resnet8_fmnist.onnx --data fashion-mnist --balance x",
       "--balance expects memory or time, got 'x'"},
      {"plan models/resnet8_fmnist.onnx -K 2 --balance speed",
       "--balance expects memory or time, got 'speed'"},
      {"plan models/resnet8_fmnist.onnx -K 2 --gflops -3", "--gflops expects a positive rate"},
      {"plan models/resnet8_fmnist.onnx -K 2 --gflops fast", "--gflops expects a positive rate"},
      {"plan models/resnet8_fmnist.onnx -K 2 --balance time --calibrate --gflops 10",
       "--gflops and --calibrate both set the step times"},
      {"plan models/resnet8_fmnist.onnx -K 2 --balance time --calibrate --device cuda",
       "--calibrate measures on the CPU only"},
      {"train models/resnet8_fmnist.onnx --data fashion-mnist -K 2 --calibrate",
       "--calibrate times the modules for --balance time"}};
  for (size_t i = 0; i < sizeof usage / sizeof *usage; i++) {
    ipro_command_result r;
    ipro_test_run_infopro(usage[i][0], &r);
    CHECK_MSG(r.exit_status == 2 && strstr(r.err, usage[i][1]), "%s: exit %d, %s (expected '%s')",
              usage[i][0], r.exit_status, r.err, usage[i][1]);
  }
  check_calibrated();
  return ipro_test_finish();
}
