/* The compiled program's folder shared by processes (cli/program_folder.h), with the bundled MLP
 * compiled at batch 8 (a second or two each):
 *   - a staging folder that no compile holds (left by one that was killed) is removed by the next
 *     compile into the folder; one that a living process holds locked is kept with what it
 *     holds, and so are a folder whose name is only like a stage's and a link named like one
 *     (not followed: what it points to is untouched);
 *   - a compile whose files are all made waits, before replacing the folder's files, while
 *     another process holds the folder's lock (a second compile, committing), and then finishes:
 *     its staged program.ipro is complete and the folder's is still absent a second later;
 *   - a runner waits for the same lock before it reads program.ipro and its kernels, so that it
 *     never reads one compile's program beside another's kernels.
 * The locks are flock(2) locks, taken here by the test itself on the folders' descriptors. */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "support/check.h"
#include "support/command.h"

#define COMPILE "compile models/mlp_fmnist.onnx --data fashion-mnist --batch 8"

static char directory[] = "/tmp/ipro_test_compile_folder_XXXXXX";

static bool exists(const char *path) {
  struct stat info;
  return lstat(path, &info) == 0;
}

static void sleep_ms(long ms) {
  struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

/* Whether folder holds a staging folder with a complete program.ipro (written atomically: it
 * exists only whole). */
static bool staged_program(const char *folder) {
  DIR *dir = opendir(folder);
  if (!dir) return false;
  bool found = false;
  struct dirent *entry;
  while (!found && (entry = readdir(dir))) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/program.ipro", folder, entry->d_name);
    found = strncmp(entry->d_name, ".infopro-compile-", 17) == 0 && exists(path);
  }
  closedir(dir);
  return found;
}

/* Counts the staging folders left in folder. */
static int stages(const char *folder) {
  DIR *dir = opendir(folder);
  if (!dir) return -1;
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)))
    count += strncmp(entry->d_name, ".infopro-compile-", 17) == 0;
  closedir(dir);
  return count;
}

/* An exclusive flock on path's folder, held until the descriptor is closed. */
static int lock_folder(const char *path) {
  /* close-on-exec: a child that inherited the descriptor would hold the lock too */
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK_MSG(fd >= 0 && flock(fd, LOCK_EX) == 0, "cannot lock %s", path);
  return fd;
}

/* Polls up to seconds for done() on argument. */
static bool wait_for(bool (*done)(const char *), const char *argument, int seconds) {
  for (int i = 0; i < seconds * 20; i++) {
    if (done(argument)) return true;
    sleep_ms(50);
  }
  return done(argument);
}

/* The exit status a background command wrote into path, or -1 while none. */
static int status_in(const char *path) {
  FILE *file = fopen(path, "r");
  if (!file) return -1;
  int status = -1;
  if (fscanf(file, "%d", &status) != 1) status = -1;
  fclose(file);
  return status;
}

static bool status_written(const char *path) { return status_in(path) >= 0; }

static void abandoned_stages(const char *program) {
  char abandoned[1024], live[1024], alike[1024], link[1024], outside[1024], command[4096];
  snprintf(abandoned, sizeof abandoned, "%s/.infopro-compile-Ab12Cd", program);
  snprintf(live, sizeof live, "%s/.infopro-compile-Li34Ve", program);
  snprintf(alike, sizeof alike, "%s/.infopro-compile-not-a-stage", program);
  snprintf(link, sizeof link, "%s/.infopro-compile-Li56Nk", program);
  snprintf(outside, sizeof outside, "%s/outside", directory);
  snprintf(command, sizeof command,
           "mkdir -p '%s/nested' '%s' '%s' '%s' && touch '%s/nested/kernels.o' '%s/train' "
           "'%s/kept' '%s/kept' '%s/kept' && ln -s '%s' '%s'",
           abandoned, live, alike, outside, abandoned, abandoned, live, alike, outside, outside,
           link);
  ipro_command_result r;
  ipro_test_run_command_expecting(command, &r, 0);
  int held = lock_folder(live);
  snprintf(command, sizeof command, "'%s' " COMPILE " -o '%s'", getenv("IPRO_INFOPRO"), program);
  ipro_test_run_command_expecting(command, &r, 0);
  close(held);
  CHECK_MSG(!exists(abandoned), "the abandoned stage %s is still there", abandoned);
  char path[1100];
  snprintf(path, sizeof path, "%s/kept", live);
  CHECK_MSG(exists(path), "the stage a living process holds lost %s", path);
  snprintf(path, sizeof path, "%s/kept", alike);
  CHECK_MSG(exists(path), "a folder named only like a stage lost %s", path);
  snprintf(path, sizeof path, "%s/kept", outside);
  CHECK_MSG(exists(link) && exists(path), "the link %s or what it points to was removed", link);
  snprintf(command, sizeof command, "rm -rf '%s' '%s' '%s'", live, alike, link);
  ipro_test_run_command_expecting(command, &r, 0);
  CHECK_MSG(stages(program) == 0, "%d stages left after the compile", stages(program));
}

/* The compile is held in its staging by a `cc` first on its PATH that waits for a file before it
 * runs the real one (the kernels are linked between the stage's making and the commit): the test
 * takes the folder's lock while it waits, then lets it go on. */
static void compile_waits_for_the_folder(void) {
  /* the C compiler compile would run, found on PATH before the wrapper goes in front of it */
  char real_cc[1024] = "";
  ipro_command_result found;
  ipro_test_run_command("command -v cc", &found);
  sscanf(found.out, "%1023s", real_cc);
  CHECK_MSG(real_cc[0] == '/', "no cc on PATH (%s)", found.out);
  char folder[1024], status[1100], program[1100], started[1100], command[4096];
  snprintf(folder, sizeof folder, "%s/locked", directory);
  snprintf(status, sizeof status, "%s/compile.status", directory);
  snprintf(program, sizeof program, "%s/program.ipro", folder);
  snprintf(started, sizeof started, "%s/cc.started", directory);
  char wrapper[1100];
  snprintf(wrapper, sizeof wrapper, "%s/waiting_cc", directory);
  CHECK_MSG(mkdir(folder, 0755) == 0 && mkdir(wrapper, 0755) == 0, "cannot make %s", wrapper);
  snprintf(wrapper, sizeof wrapper, "%s/waiting_cc/cc", directory);
  FILE *script = fopen(wrapper, "w");
  CHECK_MSG(script != NULL, "cannot write %s", wrapper);
  if (script) {
    fprintf(script,
            "#!/bin/sh\ntouch '%s'\nwhile [ ! -e '%s/go' ]; do sleep 0.05; done\n"
            "exec %s \"$@\"\n",
            started, directory, real_cc);
    fclose(script);
  }
  chmod(wrapper, 0755);
  ipro_command_result r;
  snprintf(command, sizeof command,
           "(PATH='%s/waiting_cc':\"$PATH\" '%s' " COMPILE " -K 2 -o '%s'; echo $? > '%s') > "
           "'%s/compile.log' 2>&1 &",
           directory, getenv("IPRO_INFOPRO"), folder, status, directory);
  ipro_test_run_command_expecting(command, &r, 0);
  CHECK_MSG(wait_for(exists, started, 120), "the compile ran no cc in 120 s (status %d)",
            status_in(status));
  int held = lock_folder(folder);
  snprintf(command, sizeof command, "touch '%s/go'", directory);
  ipro_test_run_command_expecting(command, &r, 0);
  CHECK_MSG(wait_for(staged_program, folder, 120), "the compile staged no program in 120 s");
  sleep_ms(1000);
  CHECK_MSG(!exists(program) && status_in(status) < 0,
            "the compile replaced the folder's files while another process held its lock");
  close(held);
  CHECK_MSG(wait_for(status_written, status, 60) && status_in(status) == 0,
            "the compile did not finish once the lock was let go (status %d)", status_in(status));
  CHECK_MSG(exists(program) && stages(folder) == 0, "after the compile: program %s, %d stages",
            exists(program) ? "written" : "missing", stages(folder));
}

static void runner_waits_for_the_folder(const char *program) {
  char status[1100], command[4096];
  snprintf(status, sizeof status, "%s/runner.status", directory);
  int held = lock_folder(program);
  snprintf(command, sizeof command,
           "('%s/train' --version; echo $? > '%s') > '%s/runner.log' 2>&1 &", program, status,
           directory);
  ipro_command_result r;
  ipro_test_run_command_expecting(command, &r, 0);
  sleep_ms(1000);
  CHECK_MSG(status_in(status) < 0, "the runner read its folder while a compile held its lock");
  close(held);
  CHECK_MSG(wait_for(status_written, status, 60) && status_in(status) == 0,
            "the runner did not run once the lock was let go (status %d)", status_in(status));
}

int main(void) {
  const char *unavailable = ipro_test_training_unavailable();
  if (unavailable) return ipro_test_skip(unavailable);
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  char program[1024], command[4096];
  snprintf(program, sizeof program, "%s/p", directory);
  snprintf(command, sizeof command, "'%s' " COMPILE " -o '%s'", getenv("IPRO_INFOPRO"), program);
  ipro_command_result r;
  ipro_test_run_command_expecting(command, &r, 0);
  abandoned_stages(program);
  compile_waits_for_the_folder();
  runner_waits_for_the_folder(program);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
