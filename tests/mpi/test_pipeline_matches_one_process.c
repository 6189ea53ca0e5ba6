/* `mpirun -np K infopro train --out ... --checkpoint ...` with one module per rank writes the same
 * bytes as `infopro train` in one process with the same plan, seed and threads (one): the
 * trained ONNX file for K = 2 and K = 3 (and K = 2 with a frozen stem and layer2's running
 * statistics frozen, --freeze and --freeze-statistics), and the checkpoint for K = 2 (so a
 * pipeline's checkpoint is the single-process format: either kind of run resumes the other's). The
 * oracle is the single-process trainer, which runs the modules one after another in one block of
 * memory; the pipeline runs each on its own process and passes activations over MPI. ResNet-8
 * (BatchNorm and residual blocks, so the InfoPro heads, the contrast loss and the optimizer all
 * take part) on 64 Fashion-MNIST images in batches of 32, one epoch, the test on 100 images (the
 * epoch line's numbers must match too), and rank 0's memory line names its message buffers and the
 * state gathered on it, outside its trainer's allocator-measured figure, which is its module's
 * plan and programs within 1%, as is every other rank's (measured by that rank's own allocator,
 * listed in rank 0's --json), building each rank's programs a term of its own. The K = 2 run
 * checks the ranks for leaks too. And 3 ranks for 2 modules fail with one message, as does a cut
 * rank 0 cannot find (rank 0 alone searches the split and hands it on; the other rank is not left
 * waiting); --balance time --calibrate trains, rank 0 timing the kernels once. Usage errors (an
 * unknown option,
 * --calibrate without --balance time, a --checkpoint folder that holds one) are printed once, by
 * rank 0, with status 2, and a pipeline that diverges prints one message naming its rank once.
 * Skipped when Fashion-MNIST or mpirun is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/check.h"
#include "support/command.h"
#include "support/memory_checks.h"
#include "support/mpi_runs.h"

static char directory[] = "/tmp/ipro_test_pipeline_XXXXXX";

#define COMMON                                                                                     \
  "train models/resnet8_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 --epochs 1 "        \
  "--test-limit 100"

/* models/resnet8_fmnist.onnx's size by the file system: building a trainer reads it whole */
static uint64_t model_bytes(void) {
  char path[1024];
  struct stat file;
  snprintf(path, sizeof path, "%s/models/resnet8_fmnist.onnx", ipro_test_source_dir());
  CHECK_MSG(stat(path, &file) == 0, "cannot stat %s", path);
  return (uint64_t)file.st_size;
}

/* extra: more options for both runs, whose files are then named with a "f" (--freeze) */
static void matches(int K, bool checkpoint, const char *extra) {
  char launcher[1024], one[4096], many[4096], out_one[700], out_many[700], ck_one[700],
      ck_many[700];
  const char *tag = *extra ? "f" : "";
  snprintf(out_one, sizeof out_one, "%s/K%d%s_one.onnx", directory, K, tag);
  snprintf(out_many, sizeof out_many, "%s/K%d%s_mpi.onnx", directory, K, tag);
  snprintf(ck_one, sizeof ck_one, "%s/K%d_one", directory, K);
  snprintf(ck_many, sizeof ck_many, "%s/K%d_mpi", directory, K);
  snprintf(one, sizeof one, COMMON " -K %d %s --out '%s'", K, extra, out_one);
  snprintf(many, sizeof many, COMMON " -K %d %s --out '%s' --json -", K, extra, out_many);
  if (checkpoint) {
    snprintf(one + strlen(one), sizeof one - strlen(one), " --checkpoint '%s'", ck_one);
    snprintf(many + strlen(many), sizeof many - strlen(many), " --checkpoint '%s'", ck_many);
  }
  ipro_command_result a, b;
  ipro_test_run_infopro(one, &a);
  CHECK_MSG(a.exit_status == 0, "K = %d, one process: exit %d: %s", K, a.exit_status, a.err);
  ipro_test_run_infopro_under(
      ipro_test_mpi_launcher(K, K == 2 && !*extra, launcher, sizeof launcher), many, &b);
  CHECK_MSG(b.exit_status == 0, "K = %d, %d ranks: exit %d: %s", K, K, b.exit_status, b.err);
  CHECK_MSG(ipro_test_same_file(out_one, out_many), "K = %d: %s and %s differ", K, out_one,
            out_many);
  if (checkpoint) {
    char file_one[800], file_many[800];
    snprintf(file_one, sizeof file_one, "%s/checkpoint.ipck", ck_one);
    snprintf(file_many, sizeof file_many, "%s/checkpoint.ipck", ck_many);
    CHECK_MSG(ipro_test_same_file(file_one, file_many), "K = %d: checkpoints %s and %s differ", K,
              file_one, file_many);
  }
  /* --json -: rank 0's stdout is the JSON object alone, its log is on stderr */
  const char *log = b.err;
  CHECK_MSG(b.out[0] == '{' && !strstr(b.out, "epoch 1/1"),
            "K = %d: stdout is not the JSON alone: %s", K, b.out);
  char numbers_one[256], numbers_many[256];
  ipro_test_epoch_numbers(a.out, numbers_one, sizeof numbers_one);
  ipro_test_epoch_numbers(log, numbers_many, sizeof numbers_many);
  CHECK_MSG(numbers_one[0] && strcmp(numbers_one, numbers_many) == 0,
            "K = %d: '%s' in one process, '%s' over MPI", K, numbers_one, numbers_many);
  /* one rank reports: the epoch line appears once */
  const char *first = strstr(log, "epoch 1/1");
  CHECK_MSG(first && !strstr(first + 1, "epoch 1/1"), "K = %d: output: %s", K, log);
  /* Every rank's trainer, measured by the allocator, is its module's plan and programs within
   * 1% (64 KiB for a plan under 6.4 MB: 4 KB beyond 144,192 bytes measured). The frozen run's
   * split (-K 2 after a frozen stem: a cut at the pooled features) leaves
   * module 2 a 133,568-byte plan, smaller than building its programs takes (the model read and
   * unpacked, the generated kernels compiled: 4.5 MB): that transient is a term of its own, at
   * least the model file's bytes on every rank, and not the trainer's (rank 1's trainer was
   * measured at 5.5 MB before it was named). */
  char what[64];
  snprintf(what, sizeof what, "K = %d%s", K, *extra ? " with --freeze" : "");
  ipro_test_memory_bounds bounds = {4u << 20, 0.01, 64u << 10, 0, model_bytes()};
  ipro_test_check_pipeline_memory(what, b.out, K, K, bounds);
  if (*extra) return;
  /* Rank 0's memory line names what its pipeline took from the allocator when attached: at
   * least its two outgoing message buffers, the bytes it says it sends per step (the pipeline's
   * own count) twice, and not much more (MPI's bookkeeping then). */
  const char *sends = strstr(log, "pipeline rank 0 (module 1)");
  sends = sends ? strstr(sends, "sends ") : NULL;
  const char *held = strstr(log, "pipeline messages (allocator) ");
  double sent = sends ? atof(sends + strlen("sends ")) : -1;
  double messages = held ? atof(held + strlen("pipeline messages (allocator) ")) : -1;
  CHECK_MSG(sent > 0 && messages >= 2 * sent && messages <= 2 * sent + (1 << 20),
            "K = %d: rank 0 sends %.0f bytes per step, its pipeline took %.0f", K, sent, messages);
  /* Rank 0's own memory line keeps the same bounds: every rank's state gathered on it for the
   * test pass and the checkpoint is a term of its own (it was 14% of this plan inside the
   * trainer's figure before it was named). */
  snprintf(what, sizeof what, "K = %d, rank 0", K);
  ipro_test_check_trainer_memory(what, b.out, bounds);
  CHECK_MSG(strstr(log, "state gathered for the test pass and checkpoints (allocator) "),
            "K = %d: rank 0's memory line does not name the gathered state: %s", K, log);
}

/* A launch that fails on every rank alike: one message, from one rank, with both expected
 * phrases, and exit status 1. */
static void refused(int ranks, const char *arguments, const char *phrase, const char *other,
                    const char *what) {
  char launcher[1024];
  ipro_command_result r;
  ipro_test_run_infopro_under(ipro_test_mpi_launcher(ranks, false, launcher, sizeof launcher),
                              arguments, &r);
  const char *first = strstr(r.err, "infopro: ");
  CHECK_MSG(r.exit_status == 1 && first && !strstr(first + 1, "infopro: ") &&
                strstr(first, phrase) && strstr(first, other),
            "%s: exit %d, stderr: %s", what, r.exit_status, r.err);
}

/* A learning rate that makes a loss NaN in step 2 (module 1's on the AMD Zen 3, module 2's on
 * the Zen 5, whose oneDNN kernels differ): the first stage that meets it sends nothing on, so the
 * job prints one message, naming once the rank that holds the module it names. */
static void divergence_once(void) {
  char launcher[1024];
  ipro_command_result r;
  ipro_test_run_infopro_under(ipro_test_mpi_launcher(2, false, launcher, sizeof launcher),
                              "train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 "
                              "--test-limit 64 --epochs 1 --batch 32 -K 2 --lr 1e30",
                              &r);
  const char *first = strstr(r.err, "infopro: rank 0: training diverged at epoch 1");
  const char *second = strstr(r.err, "infopro: rank 1: training diverged at epoch 1");
  CHECK_MSG(r.exit_status == 1 && ipro_test_lines_with(r.err, "training diverged") == 1 &&
                ((first && strstr(first, "module 1 ")) || (second && strstr(second, "module 2 "))),
            "a diverging pipeline: exit %d, stderr: %s", r.exit_status, r.err);
}

/* `mpirun -np 2 ... -K 2 --balance time --calibrate`: rank 0 times the kernels and chooses the
 * cuts, which the other rank trains too (a rank with other cuts would send an activation of
 * another size, which the pipeline refuses when it starts); one calibration line. */
static void calibrated_once(void) {
  char launcher[1024];
  ipro_command_result r;
  ipro_test_run_infopro_under(ipro_test_mpi_launcher(2, false, launcher, sizeof launcher),
                              COMMON " -K 2 --balance time --calibrate", &r);
  CHECK_MSG(r.exit_status == 0 && ipro_test_lines_with(r.out, "calibrated on ") == 1 &&
                strstr(r.out, "K = 2, cut at ") && strstr(r.out, "pipeline rank 1 (module 2)"),
            "--calibrate over MPI: exit %d, %s %s", r.exit_status, r.out, r.err);
}

int main(void) {
  int skip = ipro_test_mpi_ready(directory);
  if (skip) return skip;
  ipro_test_prepare_memory_measurement();
  matches(2, true, "");
  matches(3, false, "");
  /* a frozen stem and running statistics (cli.test_freeze checks what they do): the same bytes */
  matches(2, false, "--freeze conv1 --freeze bn1 --freeze layer1 --freeze-statistics layer2");
  /* 3 ranks for 2 modules: how to launch */
  refused(3, COMMON " -K 2", "rank 0", "mpirun -np 2", "3 ranks for K = 2");
  /* rank 0 alone searches the split (with --calibrate, times the kernels) and hands it on */
  calibrated_once();
  /* a split rank 0 cannot choose: its message, once, and no rank left waiting for the split */
  refused(2, COMMON " --cuts /no/such/tensor", "rank 0", "/no/such/tensor", "an unknown cut");
  ipro_test_refused_once(2, COMMON " -K 2 --bogus", 2, "unknown option '--bogus'");
  ipro_test_refused_once(2, COMMON " -K 2 --bogus", 2, "usage: infopro train");
  ipro_test_refused_once(2, COMMON " -K 2 --calibrate", 2,
                         "--calibrate times the modules for --balance time");
  char arguments[4096]; /* the K = 2 run above left its checkpoint there */
  snprintf(arguments, sizeof arguments, COMMON " -K 2 --checkpoint '%s/K2_mpi'", directory);
  ipro_test_refused_once(2, arguments, 2, "already holds a checkpoint");
  divergence_once();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
