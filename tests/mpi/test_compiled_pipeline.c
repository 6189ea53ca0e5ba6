/* A compiled training program trains across processes as `infopro train` does: `infopro compile
 * -K 2` writes DIR with the MPI plugin beside its runner, and `mpirun -np 2 DIR/train` (one module
 * per rank, the plugin loaded by the runner, which links no MPI itself) writes the same trained
 * ONNX bytes and checkpoint as `DIR/train` in one process, with the same epoch line. The oracle is
 * the single-process runner, whose own bytes test_compile checks against `infopro train`. The
 * runner with its plugin made unloadable (IPRO_MPI_PLUGIN naming a missing file) stops with one
 * message, from rank 0, that names the plugin, and exit status 1. Started on 3 or 4 ranks, the
 * runner offers only -np 2 in one message and exit status 1: its modules were lowered for the
 * whole batch, so it runs no data-parallel replicas (it offered "-np 2 x R", which 4 ranks were
 * then refused for). ResNet-8 on 64 Fashion-MNIST
 * images in batches of 32, one epoch, one thread per process. Skipped when Fashion-MNIST or
 * mpirun is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"
#include "support/command.h"
#include "support/mpi_runs.h"

static char directory[] = "/tmp/ipro_test_compiled_pipeline_XXXXXX";

#define OPTIONS "--data fashion-mnist --limit 64 --epochs 1 --test-limit 100"

int main(void) {
  int skip = ipro_test_mpi_ready(directory);
  if (skip) return skip;
  char command[8192], launcher[1024], program[600];
  snprintf(program, sizeof program, "%s/k2", directory);
  ipro_command_result compiled, one, many, missing;
  snprintf(command, sizeof command,
           "compile models/resnet8_fmnist.onnx --data fashion-mnist --batch 32 -K 2 -o '%s'",
           program);
  ipro_test_run_infopro(command, &compiled);
  CHECK_MSG(compiled.exit_status == 0 && strstr(compiled.out, "libinfopro_mpi.so"),
            "compile: exit %d, %s %s", compiled.exit_status, compiled.out, compiled.err);
  ipro_test_mpi_launcher(2, true, launcher, sizeof launcher);

  snprintf(command, sizeof command,
           "'%s/train' " OPTIONS " --out '%s/one.onnx' --checkpoint '%s/one_ck'", program,
           directory, directory);
  ipro_test_run_command(command, &one);
  CHECK_MSG(one.exit_status == 0, "one process: exit %d: %s", one.exit_status, one.err);
  snprintf(command, sizeof command,
           "%s '%s/train' " OPTIONS " --out '%s/many.onnx' --checkpoint '%s/many_ck'", launcher,
           program, directory, directory);
  ipro_test_run_command(command, &many);
  CHECK_MSG(many.exit_status == 0 && strstr(many.out, "pipeline rank 1 (module 2)"),
            "2 ranks: exit %d: %s %s", many.exit_status, many.out, many.err);
  char a[700], b[700];
  snprintf(a, sizeof a, "%s/one.onnx", directory);
  snprintf(b, sizeof b, "%s/many.onnx", directory);
  CHECK_MSG(ipro_test_same_file(a, b), "%s and %s differ", a, b);
  snprintf(a, sizeof a, "%s/one_ck/checkpoint.ipck", directory);
  snprintf(b, sizeof b, "%s/many_ck/checkpoint.ipck", directory);
  CHECK_MSG(ipro_test_same_file(a, b), "checkpoints %s and %s differ", a, b);
  char numbers_one[256], numbers_many[256];
  ipro_test_epoch_numbers(one.out, numbers_one, sizeof numbers_one);
  ipro_test_epoch_numbers(many.out, numbers_many, sizeof numbers_many);
  CHECK_MSG(numbers_one[0] && strcmp(numbers_one, numbers_many) == 0,
            "'%s' in one process, '%s' over MPI", numbers_one, numbers_many);

  for (int ranks = 3; ranks <= 4; ranks++) {
    ipro_command_result wrong;
    ipro_test_mpi_launcher(ranks, false, launcher, sizeof launcher);
    snprintf(command, sizeof command, "%s '%s/train' " OPTIONS, launcher, program);
    ipro_test_run_command(command, &wrong);
    const char *said = strstr(wrong.err, "infopro: ");
    CHECK_MSG(wrong.exit_status == 1 && said && !strstr(said + 1, "infopro: ") &&
                  strstr(said, "no data-parallel replicas") && strstr(said, "(mpirun -np 2)") &&
                  !strstr(said, " x R"),
              "%d ranks: exit %d, stderr: %s", ranks, wrong.exit_status, wrong.err);
  }

  ipro_test_mpi_launcher(2, false, launcher, sizeof launcher);
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
