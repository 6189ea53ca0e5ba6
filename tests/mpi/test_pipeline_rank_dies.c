/* A pipeline whose rank 1 is killed (SIGKILL, as a crashed process or a lost machine would be)
 * stops as a whole within seconds with a message naming the rank: Open MPI's launcher ends the
 * job (the other ranks wait in MPI calls, which cannot say that a peer died) and says "process
 * rank 1 ... exited on signal 9", the line checked, with a non-zero status; the checkpoint it had
 * written stays intact (it is replaced only by an atomic rename) and a run resumed from it with the
 * same -np finishes with exactly the model of an uninterrupted single-process run of as many
 * epochs (the oracle: the single-process trainer; the constant learning-rate schedule makes the
 * rates independent of --epochs). ResNet-8, K = 2, 64 Fashion-MNIST images in batches of 32.
 * A replica whose ranks cannot open the data stops the job with one message (see
 * replica_without_data). And a pipeline whose weights training makes not finite, no loss seeing
 * it, stops before its first checkpoint with the message naming the tensor (rank 0 checks every
 * rank's gathered state), leaving no --checkpoint folder.
 * Skipped when Fashion-MNIST or mpirun is missing. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/checkpoint.h"
#include "support/check.h"
#include "support/command.h"
#include "support/mpi_runs.h"
#include "support/nan_model.h"

static char directory[] = "/tmp/ipro_test_rank_dies_XXXXXX";

#define COMMON                                                                                     \
  "train models/resnet8_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 --test-limit 100 "  \
  "-K 2 --schedule constant --lr 0.05"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void pause_briefly(void) {
  struct timespec t = {.tv_nsec = 20 * 1000 * 1000};
  nanosleep(&t, NULL);
}

/* Whether process `pid`'s environment holds every one of the NUL-free strings given. */
static bool environment_has(const char *pid, const char *a, const char *b) {
  char path[300];
  snprintf(path, sizeof path, "/proc/%s/environ", pid);
  size_t size = 0;
  uint8_t *bytes = ipro_test_read_file(path, &size);
  bool found_a = false, found_b = false;
  for (size_t i = 0; bytes && i < size; i += strlen((char *)bytes + i) + 1) {
    found_a = found_a || strcmp((char *)bytes + i, a) == 0;
    found_b = found_b || strcmp((char *)bytes + i, b) == 0;
  }
  free(bytes);
  return found_a && found_b;
}

/* The process of rank `rank` of the job started with IPRO_TEST_JOB=<directory>, or 0. */
static pid_t find_rank(int rank) {
  char want_rank[64], want_job[128];
  snprintf(want_rank, sizeof want_rank, "OMPI_COMM_WORLD_RANK=%d", rank);
  snprintf(want_job, sizeof want_job, "IPRO_TEST_JOB=%s", directory);
  DIR *proc = opendir("/proc");
  pid_t found = 0;
  for (struct dirent *e; proc && !found && (e = readdir(proc));)
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
        environment_has(e->d_name, want_rank, want_job))
      found = (pid_t)atol(e->d_name);
  if (proc) closedir(proc);
  return found;
}

/* Two replicas of a K = 2 pipeline (4 ranks), whose second replica's ranks cannot open the data
 * (an MPMD launch: ranks 2 and 3 given a folder that does not exist, as a machine without the
 * dataset would be): the job ends with one message naming rank 2 and exit status 1. The ranks
 * that opened the data used to wait for ever in arranging the replicas (MPI_Comm_split), which
 * the failed ranks never reached; `timeout` turns such a wait into status 124. */
static void replica_without_data(void) {
  char launcher[1024], command[8192];
  ipro_test_mpi_launcher(2, false, launcher, sizeof launcher);
  const char *infopro = getenv("IPRO_INFOPRO");
  snprintf(command, sizeof command,
           "timeout 120 %s '%s' " COMMON " --epochs 1 : -np 2 '%s' " COMMON
           " --epochs 1 --data fashion-mnist:/nonexistent",
           launcher, infopro, infopro);
  ipro_command_result r;
  ipro_test_run_command(command, &r);
  const char *said = strstr(r.err, "infopro: ");
  CHECK_MSG(r.exit_status == 1 && said && !strstr(said + 1, "infopro: ") &&
                strstr(said, "infopro: rank 2: fashion-mnist: missing file"),
            "a replica without its data: exit %d (124: the ranks waited), stderr: %s",
            r.exit_status, r.err);
}

int main(void) {
  int skip = ipro_test_mpi_ready(directory);
  if (skip) return skip;
  char launcher[1024];
  ipro_test_mpi_launcher(2, false, launcher, sizeof launcher);
  setenv("IPRO_TEST_JOB", directory, 1);

  /* a long run, killed once its first checkpoint is there */
  char checkpoint[700], file[800], err_path[800], command[8192];
  snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint", directory);
  snprintf(file, sizeof file, "%s/checkpoint.ipck", checkpoint);
  snprintf(err_path, sizeof err_path, "%s/stderr.txt", directory);
  snprintf(command, sizeof command,
           "cd '%s' && exec %s '%s' " COMMON " --epochs 1000 --checkpoint '%s' >/dev/null 2>'%s'",
           ipro_test_source_dir(), launcher, getenv("IPRO_INFOPRO"), checkpoint, err_path);
  pid_t job = fork();
  if (job == 0) {
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
  }
  CHECK(job > 0);
  double start = now();
  while (access(file, F_OK) != 0 && now() - start < 300)
    pause_briefly();
  pid_t rank1 = find_rank(1);
  CHECK_MSG(rank1 > 0, "rank 1 of the job not found in /proc");
  double killed = now();
  if (rank1 > 0) kill(rank1, SIGKILL);
  int status = 0;
  pid_t waited = 0;
  while ((waited = waitpid(job, &status, WNOHANG)) == 0 && now() - killed < 60)
    pause_briefly();
  double stopped = now() - killed;
  if (waited == 0) kill(job, SIGKILL), waitpid(job, &status, 0);
  CHECK_MSG(waited == job && stopped < 15, "the job took %.1f s to stop after rank 1 died",
            stopped);
  CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0, "the job's status: %d", status);
  size_t err_size = 0;
  char *message = (char *)ipro_test_read_file(err_path, &err_size);
  CHECK_MSG(message && strstr(message, "process rank 1 with PID") &&
                strstr(message, "exited on signal 9"),
            "stderr does not say that rank 1 was killed: %s", message ? message : "(none)");
  printf("stopped %.2f s after rank 1 was killed; its message:\n%s\n", stopped,
         message ? message : "");
  free(message);

  /* the checkpoint is whole, and resuming from it gives the uninterrupted run's model */
  ipro_checkpoint saved = {0};
  ipro_error err = {{0}};
  CHECK_OK(ipro_checkpoint_read(file, &saved, &err), &err);
  long long epochs = (long long)saved.position.epochs_done + 1;
  ipro_checkpoint_release(&saved);
  char whole[800], resumed[800], arguments[4096];
  snprintf(whole, sizeof whole, "%s/whole.onnx", directory);
  snprintf(resumed, sizeof resumed, "%s/resumed.onnx", directory);
  ipro_command_result a, b;
  snprintf(arguments, sizeof arguments, COMMON " --epochs %lld --out '%s'", epochs, whole);
  ipro_test_run_infopro(arguments, &a);
  CHECK_MSG(a.exit_status == 0, "one process: exit %d: %s", a.exit_status, a.err);
  snprintf(arguments, sizeof arguments,
           "train models/resnet8_fmnist.onnx --data fashion-mnist --test-limit 100 -K 2 "
           "--epochs %lld --checkpoint '%s' --resume --out '%s'",
           epochs, checkpoint, resumed);
  ipro_test_run_infopro_under(launcher, arguments, &b);
  CHECK_MSG(b.exit_status == 0 && strstr(b.out, "resuming from"), "resumed: exit %d: %s%s",
            b.exit_status, b.out, b.err);
  CHECK_MSG(ipro_test_same_file(whole, resumed), "%s and %s differ (resumed after epoch %lld)",
            whole, resumed, epochs - 1);

  /* weights that training makes not finite in module 1 (rank 0), no loss showing it
   * (nan_model.h): rank 0 checks the state gathered from every rank before writing the
   * checkpoint, and its failure stops the job with the message; no checkpoint is written */
  char nan_model[800], nan_checkpoint[800], nan_file[900], name[256];
  snprintf(nan_model, sizeof nan_model, "%s/diverging_bias.onnx", directory);
  snprintf(nan_checkpoint, sizeof nan_checkpoint, "%s/nan_checkpoint", directory);
  snprintf(nan_file, sizeof nan_file, "%s/checkpoint.ipck", nan_checkpoint);
  CHECK(chdir(ipro_test_source_dir()) == 0); /* the model it rewrites is read from there */
  if (ipro_test_write_diverging_bias_model(nan_model, name, sizeof name)) {
    snprintf(arguments, sizeof arguments,
             "train '%s' --data fashion-mnist --limit 32 --batch 32 --test-limit 64 -K 2 "
             "--epochs 1 " IPRO_TEST_DIVERGING_OPTIONS " --checkpoint '%s'",
             nan_model, nan_checkpoint);
    ipro_test_run_infopro_under(launcher, arguments, &b);
    CHECK_MSG(b.exit_status != 0 && strstr(b.err, "are not finite (NaN or infinity)") &&
                  strstr(b.err, name) && access(nan_file, F_OK) != 0,
              "the bias training overflows (%s) in a pipeline: exit %d, checkpoint %s, stderr: %s",
              name, b.exit_status, access(nan_file, F_OK) == 0 ? "written" : "not written", b.err);
    /* nor is the --checkpoint folder left behind empty (the job is aborted, so no rank cleans
     * up at its end: the folder is made at the first checkpoint, after its early check) */
    CHECK_MSG(access(nan_checkpoint, F_OK) != 0,
              "a pipeline stopped before its first checkpoint left the folder %s", nan_checkpoint);
  }
  replica_without_data();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
