/* A compiled training program trains across processes as `infopro train` does: `infopro compile
 * -K 3` writes DIR with the MPI plugin beside its runner, and `mpirun -np 3 DIR/train` (one module
 * per rank, the plugin loaded by the runner, which links no MPI itself) and `mpirun -np 2
 * DIR/train` (two stages, grouped by the modules' FLOPs the program records, as `infopro plan`
 * groups them for 2 processes) each write the same trained ONNX bytes and checkpoint as
 * `DIR/train` in one process. The oracle is the single-process runner, whose own bytes
 * test_compile checks against `infopro train`. The runner with its plugin made unloadable
 * (IPRO_MPI_PLUGIN naming a missing file) stops with one message, from rank 0, that names the
 * plugin, and exit status 1. Started on 4 ranks, or on 2 with --stages 1, the runner says in one
 * message (exit status 1) that it takes one process per stage: its modules were lowered for the
 * whole batch, so it runs no data-parallel replicas (it offered "-np 2 x R", which 4 ranks were
 * then refused for). ResNet-8 on 64 Fashion-MNIST images in batches of 32, one epoch, one thread
 * per process. Skipped when Fashion-MNIST or
 * mpirun is missing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"
#include "support/command.h"
#include "support/mpi_runs.h"

static char directory[] = "/tmp/ipro_test_compiled_pipeline_XXXXXX";

#define OPTIONS "--data fashion-mnist --limit 64 --epochs 1 --test-limit 100"

/* `infopro plan`'s grouping of the K = 3 modules for 2 processes ("1-2 | 3" or "1 | 2-3"), as the
 * line rank 0 prints it ("rank 0 modules 1-2 (", ...), into line; false when not found. */
static bool planned_two_stages(char *line, size_t size) {
  ipro_command_result plan;
  ipro_test_run_infopro("plan models/resnet8_fmnist.onnx --batch 32 -K 3", &plan);
  const char *at = strstr(plan.out, "-np 2 (");
  if (plan.exit_status != 0 || !at) return false;
  at += strlen("-np 2 (");
  if (strncmp(at, "1-2 | 3)", 8) == 0)
    snprintf(line, size, "rank 0 modules 1-2 (");
  else if (strncmp(at, "1 | 2-3)", 8) == 0)
    snprintf(line, size, "rank 0 module 1 (");
  else
    return false;
  return true;
}

/* `mpirun -np RANKS DIR/train OPTIONS extra` writes the one process's bytes; its output holds
 * phrase. */
static void same_as_one(const char *launcher, const char *program, int ranks, const char *extra,
                        const char *phrase) {
  char command[8192], a[700], b[700];
  snprintf(command, sizeof command,
           "%s '%s/train' " OPTIONS "%s --out '%s/np%d.onnx' --checkpoint '%s/np%d_ck'", launcher,
           program, extra, directory, ranks, directory, ranks);
  ipro_command_result many;
  ipro_test_run_command(command, &many);
  CHECK_MSG(many.exit_status == 0 && strstr(many.out, phrase), "%d ranks: exit %d, no '%s': %s %s",
            ranks, many.exit_status, phrase, many.out, many.err);
  snprintf(a, sizeof a, "%s/one.onnx", directory);
  snprintf(b, sizeof b, "%s/np%d.onnx", directory, ranks);
  CHECK_MSG(ipro_test_same_file(a, b), "%s and %s differ", a, b);
  snprintf(a, sizeof a, "%s/one_ck/checkpoint.ipck", directory);
  snprintf(b, sizeof b, "%s/np%d_ck/checkpoint.ipck", directory, ranks);
  CHECK_MSG(ipro_test_same_file(a, b), "checkpoints %s and %s differ", a, b);
}

/* Started on more processes than it has stages: one message, from one rank, exit status 1. */
static void refused(const char *program, int ranks, const char *extra) {
  char command[8192], launcher[1024];
  ipro_command_result wrong;
  ipro_test_mpi_launcher(ranks, false, launcher, sizeof launcher);
  snprintf(command, sizeof command, "%s '%s/train' " OPTIONS "%s", launcher, program, extra);
  ipro_test_run_command(command, &wrong);
  const char *said = strstr(wrong.err, "infopro: ");
  CHECK_MSG(wrong.exit_status == 1 && said && !strstr(said + 1, "infopro: ") &&
                strstr(said, "no data-parallel replicas") &&
                strstr(said, "(mpirun -np 3, one module per process, or fewer") &&
                !strstr(said, " x R"),
            "%d ranks%s: exit %d, stderr: %s", ranks, extra, wrong.exit_status, wrong.err);
}

int main(void) {
  int skip = ipro_test_mpi_ready(directory);
  if (skip) return skip;
  char command[8192], launcher[1024], program[600];
  snprintf(program, sizeof program, "%s/k3", directory);
  ipro_command_result compiled, one, missing;
  snprintf(command, sizeof command,
           "compile models/resnet8_fmnist.onnx --data fashion-mnist --batch 32 -K 3 -o '%s'",
           program);
  ipro_test_run_infopro(command, &compiled);
  CHECK_MSG(compiled.exit_status == 0 && strstr(compiled.out, "libinfopro_mpi.so"),
            "compile: exit %d, %s %s", compiled.exit_status, compiled.out, compiled.err);

  snprintf(command, sizeof command,
           "'%s/train' " OPTIONS " --out '%s/one.onnx' --checkpoint '%s/one_ck'", program,
           directory, directory);
  ipro_test_run_command(command, &one);
  CHECK_MSG(one.exit_status == 0, "one process: exit %d: %s", one.exit_status, one.err);
  ipro_test_mpi_launcher(3, true, launcher, sizeof launcher);
  same_as_one(launcher, program, 3, "", "pipeline rank 2 (module 3)");
  char grouping[64] = "";
  CHECK_MSG(planned_two_stages(grouping, sizeof grouping), "infopro plan shows no -np 2 grouping");
  char phrase[256];
  snprintf(phrase, sizeof phrase,
           "MPI: the 3 modules in 2 stages, one per rank of a replica, balanced by FLOPs per step: "
           "%s",
           grouping);
  ipro_test_mpi_launcher(2, false, launcher, sizeof launcher);
  same_as_one(launcher, program, 2, "", phrase);

  refused(program, 4, "");
  refused(program, 2, " --stages 1");

  snprintf(
      command, sizeof command,
      "IPRO_MPI_PLUGIN=/nonexistent/libinfopro_mpi.so %s -x IPRO_MPI_PLUGIN '%s/train' " OPTIONS,
      launcher, program);
  ipro_test_run_command(command, &missing);
  const char *first = strstr(missing.err, "infopro: ");
  CHECK_MSG(missing.exit_status == 1 && first && !strstr(first + 1, "infopro: ") &&
                strstr(first, "libinfopro_mpi.so"),
            "without its plugin: exit %d, stderr: %s", missing.exit_status, missing.err);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
