/* A pipeline of fewer processes than modules (`mpirun -np S infopro train ...`, each rank a stage
 * of consecutive modules, runtime/pipeline_stages.h) trains the bytes one process trains, on
 * ResNet-8 with 64 Fashion-MNIST images in batches of 32, one thread per process:
 *   - K = 4 on 2 ranks for one epoch, stages chosen by the modules' FLOPs: the grouping printed
 *     is the one whose slower stage has the fewest FLOPs by `infopro plan --json`'s per-module
 *     figures (the plan's report, not the trainer's), each stage's GFLOP printed as their sum
 *     (here 3 modules and 1, where equal counts would make 2 and 2); then resumed on 3 ranks with
 *     --stages 1,1,2 for a second epoch: the --out model and the checkpoint are byte-identical
 *     to one process's two epochs (constant schedule, so the rates of both runs are the same);
 *   - K = 4 on 2 ranks with --plan FILE whose modules carry calibrated_step_seconds (those of
 *     `infopro plan -K 4 --json`, with step times set to group the modules otherwise than their
 *     FLOPs do): the stages printed are balanced by those times;
 *   - replicas of a stage of several modules: K = 2 as one stage on 2 ranks (2 replicas of the
 *     whole network, each module averaging its own gradients) writes the bytes that 2 replicas
 *     of one module per rank (4 ranks) write: the stages do not change the arithmetic;
 *   - --stages whose modules do not add up to K, more stages than modules, and --stages outside
 *     mpirun are refused with one message each.
 * Skipped when Fashion-MNIST or mpirun is missing. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"
#include "support/command.h"
#include "support/memory_checks.h"
#include "support/mpi_runs.h"

static char directory[] = "/tmp/ipro_test_stages_XXXXXX";

#define COMMON                                                                                     \
  "train models/resnet8_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 --test-limit 100 "  \
  "--schedule constant"

static void run_under(int ranks, const char *arguments, ipro_command_result *r, const char *what) {
  char launcher[1024];
  ipro_test_run_infopro_under(ipro_test_mpi_launcher(ranks, false, launcher, sizeof launcher),
                              arguments, r);
  CHECK_MSG(r->exit_status == 0, "%s: exit %d: %s", what, r->exit_status, r->err);
}

static void run_one(const char *arguments, ipro_command_result *r, const char *what) {
  ipro_test_run_infopro(arguments, r);
  CHECK_MSG(r->exit_status == 0, "%s: exit %d: %s", what, r->exit_status, r->err);
}

/* `infopro plan -K K --json`'s plan (the caller frees it) and its FLOPs per training step of each
 * of the K modules; NULL when unreadable. */
static json_t *plan_flops(int K, double *flops) {
  char arguments[256];
  snprintf(arguments, sizeof arguments, "plan models/resnet8_fmnist.onnx --batch 32 -K %d --json -",
           K);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  json_error_t error;
  json_t *root = r.exit_status == 0 ? json_loads(r.out, 0, &error) : NULL;
  json_t *modules = json_object_get(root, "modules");
  bool ok = json_array_size(modules) == (size_t)K;
  for (int k = 0; ok && k < K; k++) {
    json_t *value = json_object_get(json_array_get(modules, (size_t)k), "flops");
    ok = json_is_integer(value);
    flops[k] = ok ? (double)json_integer_value(value) : 0;
  }
  CHECK_MSG(ok, "%s: no per-module FLOPs: exit %d %s", arguments, r.exit_status, r.err);
  if (!ok) json_decref(root);
  return ok ? root : NULL;
}

static void same_files(const char *a, const char *b, const char *what) {
  CHECK_MSG(ipro_test_same_file(a, b), "%s: %s and %s differ", what, a, b);
}

/* Where the first of 2 stages of K modules of work f ends: where the slower stage has the least
 * work, a tie going to the longer first stage. */
static int two_stages_end(const double *f, int K) {
  double total = 0, first = 0, best = INFINITY;
  int end = 1;
  for (int k = 0; k < K; k++)
    total += f[k];
  for (int e = 1; e < K; e++) {
    first += f[e - 1];
    if (fmax(first, total - first) <= best) best = fmax(first, total - first), end = e;
  }
  return end;
}

/* The line that says how K modules of work f are grouped into 2 stages, balanced `by`, each
 * stage's work printed with format (e.g. "%.2f GFLOP") after multiplying by scale. */
static void two_stages_line(const double *f, int K, const char *by, const char *format,
                            double scale, char *line, size_t size) {
  int end = two_stages_end(f, K);
  double first = 0, total = 0;
  for (int k = 0; k < K; k++)
    total += f[k], first += k < end ? f[k] : 0;
  char a[32], b[32], work_a[32], work_b[32];
  snprintf(a, sizeof a, end == 1 ? "module 1" : "modules 1-%d", end);
  snprintf(b, sizeof b, end + 1 == K ? "module %d" : "modules %d-%d", end + 1, K);
  snprintf(work_a, sizeof work_a, format, scale * first);
  snprintf(work_b, sizeof work_b, format, scale * (total - first));
  snprintf(line, size,
           "MPI: the %d modules in 2 stages, one per rank of a replica, balanced by %s: rank 0 %s "
           "(%s), rank 1 %s (%s)\n",
           K, by, a, work_a, b, work_b);
}

/* K = 4: the first epoch on 2 ranks grouped by FLOPs, the second resumed on 3 ranks with
 * --stages 1,1,2, against one process's two epochs. */
static void balanced_then_resumed(const double *f) {
  char expected[512];
  two_stages_line(f, 4, "FLOPs per step", "%.2f GFLOP", 1e-9, expected, sizeof expected);
  char one[1024], first[1024], second[1024];
  snprintf(one, sizeof one,
           COMMON " --epochs 2 -K 4 --out '%s/K4_one.onnx' --checkpoint '%s/K4_one'", directory,
           directory);
  snprintf(first, sizeof first, COMMON " --epochs 1 -K 4 --checkpoint '%s/K4_mpi'", directory);
  snprintf(second, sizeof second,
           COMMON " --epochs 2 -K 4 --stages 1,1,2 --resume --out '%s/K4_mpi.onnx' "
                  "--checkpoint '%s/K4_mpi' --json -",
           directory, directory);
  ipro_command_result a, b, c;
  run_one(one, &a, "K = 4, one process");
  run_under(2, first, &b, "K = 4 on 2 ranks");
  CHECK_MSG(strstr(b.out, expected), "K = 4 on 2 ranks: expected '%s' in: %s", expected, b.out);
  run_under(3, second, &c, "K = 4, resumed on 3 ranks");
  /* --json -: the log on stderr, the JSON alone on stdout */
  CHECK_MSG(strstr(c.err, "MPI: the 4 modules in 3 stages, one per rank of a replica (--stages): "
                          "rank 0 module 1 ("),
            "K = 4 resumed on 3 ranks: %s", c.err);
  CHECK_MSG(strstr(c.err, "pipeline rank 2 (modules 3-4): "), "K = 4 resumed on 3 ranks: %s",
            c.err);
  /* every rank's own trainer, measured by its own allocator, is its stage's plan and programs
   * within 1%, and rank 0's JSON lists them */
  ipro_test_check_pipeline_memory("K = 4 resumed on 3 ranks", c.out, 4, 3,
                                  (ipro_test_memory_bounds){4u << 20, 0.01, 0, 0, 0});
  CHECK_MSG(strstr(c.err, "memory of rank 2 (modules 3-4 of 4): planned peak "),
            "K = 4 resumed on 3 ranks: no memory line of rank 2: %s", c.err);
  char path_a[800], path_b[800];
  snprintf(path_a, sizeof path_a, "%s/K4_one.onnx", directory);
  snprintf(path_b, sizeof path_b, "%s/K4_mpi.onnx", directory);
  same_files(path_a, path_b, "K = 4, 2 ranks then 3, --out");
  snprintf(path_a, sizeof path_a, "%s/K4_one/checkpoint.ipck", directory);
  snprintf(path_b, sizeof path_b, "%s/K4_mpi/checkpoint.ipck", directory);
  same_files(path_a, path_b, "K = 4, 2 ranks then 3, checkpoint");
}

/* K = 4 on 2 ranks with --plan FILE of measured step times (as --calibrate writes them): the
 * stages balanced by those times, here chosen so that they group the modules otherwise than
 * their FLOPs do (module 1 alone). */
static void balanced_by_plan_times(const json_t *plan4, const double *f) {
  ipro_command_result r;
  json_t *root = json_deep_copy(plan4);
  json_t *modules = json_object_get(root, "modules");
  const double seconds[4] = {0.040, 0.010, 0.010, 0.010};
  for (size_t k = 0; k < 4 && json_array_size(modules) == 4; k++)
    json_object_set_new(json_array_get(modules, k), "calibrated_step_seconds",
                        json_real(seconds[k]));
  char plan[700];
  snprintf(plan, sizeof plan, "%s/K4_timed.json", directory);
  CHECK_MSG(root && json_dump_file(root, plan, 0) == 0, "cannot write %s", plan);
  json_decref(root);
  CHECK_MSG(two_stages_end(seconds, 4) != two_stages_end(f, 4),
            "the times chosen group the modules as their FLOPs do");
  char expected[512], arguments[1024];
  two_stages_line(seconds, 4, "the step times --plan's file measured (--calibrate)", "%.1f ms", 1e3,
                  expected, sizeof expected);
  snprintf(arguments, sizeof arguments, COMMON " --epochs 1 --plan '%s'", plan);
  run_under(2, arguments, &r, "K = 4 on 2 ranks, --plan with step times");
  CHECK_MSG(strstr(r.out, expected), "--plan with step times: expected '%s' in: %s", expected,
            r.out);
}

/* Two replicas of one stage holding both modules against two replicas of one module per rank. */
static void replicas_of_a_stage(void) {
  char whole[1024], each[1024];
  snprintf(whole, sizeof whole, COMMON " --epochs 1 -K 2 --stages 1 --out '%s/R2_S1.onnx'",
           directory);
  snprintf(each, sizeof each, COMMON " --epochs 1 -K 2 --out '%s/R2_S2.onnx'", directory);
  ipro_command_result a, b;
  run_under(2, whole, &a, "K = 2 as one stage, 2 replicas");
  CHECK_MSG(strstr(a.out, "MPI: 2 replicas of the 1-stage pipeline"), "one stage: %s", a.out);
  CHECK_MSG(strstr(a.out, "pipeline rank 0 (modules 1-2): "), "one stage: %s", a.out);
  run_under(4, each, &b, "K = 2, 2 replicas of 2 stages");
  char path_a[800], path_b[800];
  snprintf(path_a, sizeof path_a, "%s/R2_S1.onnx", directory);
  snprintf(path_b, sizeof path_b, "%s/R2_S2.onnx", directory);
  same_files(path_a, path_b, "2 replicas: one stage against two, --out");
}

int main(void) {
  int skip = ipro_test_mpi_ready(directory);
  if (skip) return skip;
  double flops[4];
  json_t *plan4 = plan_flops(4, flops); /* the K = 4 plan's per-module FLOPs, for both */
  if (plan4) {
    balanced_then_resumed(flops);
    balanced_by_plan_times(plan4, flops);
    json_decref(plan4);
  }
  replicas_of_a_stage();
  ipro_test_refused_once(2, COMMON " --epochs 1 -K 4 --stages 2,3", 1,
                         "--stages gives stages of 5 modules in all; the plan has 4");
  ipro_test_refused_once(2, COMMON " --epochs 1 -K 2 --stages 3", 1,
                         "--stages 3 for a plan of 2 modules: a stage trains one module at least");
  ipro_test_refused_once(0, COMMON " --epochs 1 -K 2 --stages 2", 2,
                         "--stages groups the plan's modules over the processes of mpirun");
  ipro_test_refused_once(0, COMMON " --epochs 1 -K 2 --stages 0", 2,
                         "--stages expects a count of stages");
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
