/* A run interrupted while it writes a file leaves the file as it was and no temporary beside it
 * (ipro_atomic_file_remove_on_signals, ir/atomic_file.h).
 *
 * A child process installs the handlers as infopro's main does, starts replacing a file that holds
 * "old" (a piece of the new content written to the temporary, not committed) and is sent SIGINT,
 * SIGTERM or SIGHUP. The parent checks, through waitpid and the directory's listing, that the
 * signal ended the child as it would have without the handler, that the folder holds only the
 * file, and that the file still reads "old". A child that ignores SIGHUP before installing keeps
 * ignoring it and exits normally. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir/atomic_file.h"
#include "support/check.h"
#include "support/command.h"

static char directory[] = "/tmp/ipro_test_interrupted_XXXXXX";

/* Entries in the folder besides . and .., and the name of the last one. */
static int entries(char *last, size_t size) {
  DIR *folder = opendir(directory);
  int count = 0;
  if (!folder) return -1;
  for (struct dirent *e; (e = readdir(folder));)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      count++;
      snprintf(last, size, "%s", e->d_name);
    }
  closedir(folder);
  return count;
}

static void check_target(const char *path, const char *when) {
  char text[16] = {0}, last[256] = "";
  FILE *file = fopen(path, "rb");
  size_t got = file ? fread(text, 1, sizeof text - 1, file) : 0;
  if (file) fclose(file);
  CHECK_MSG(got == 3 && strcmp(text, "old") == 0, "%s: the file reads '%s'", when, text);
  int count = entries(last, sizeof last);
  CHECK_MSG(count == 1 && strcmp(last, "model.onnx") == 0,
            "%s: %d entries in the folder (the last: %s), not the file alone", when, count, last);
}

/* Child: installs the handlers (or ignores SIGHUP first), opens the replacement, writes part of
 * it, then sends itself the signal. */
static void interrupt_a_write(const char *path, int signal_number, bool ignored_first) {
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    if (ignored_first) signal(SIGHUP, SIG_IGN);
    ipro_atomic_file_remove_on_signals();
    ipro_atomic_file *file = NULL;
    ipro_error err;
    if (ipro_atomic_file_open(path, &file, &err) != IPRO_OK) _exit(3);
    ipro_atomic_file_write(file, "new, partly", 11);
    kill(getpid(), signal_number);
    /* still here: the signal was ignored */
    ipro_atomic_file_abandon(file);
    _exit(0);
  }
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  char when[64];
  snprintf(when, sizeof when, "signal %d%s", signal_number, ignored_first ? " (ignored)" : "");
  if (ignored_first)
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "%s: the child did not go on and exit 0 (status %#x)", when, status);
  else
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == signal_number,
              "%s: the child did not end by the signal (status %#x)", when, status);
  check_target(path, when);
}

int main(void) {
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  char path[256];
  snprintf(path, sizeof path, "%s/model.onnx", directory);
  FILE *file = fopen(path, "wb");
  CHECK(file && fwrite("old", 1, 3, file) == 3);
  if (file) fclose(file);
  interrupt_a_write(path, SIGINT, false);
  interrupt_a_write(path, SIGTERM, false);
  interrupt_a_write(path, SIGHUP, false);
  interrupt_a_write(path, SIGHUP, true);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
