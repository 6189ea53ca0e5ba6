/* Silencing standard error for a while (silenced_stderr.h). */
#include "silenced_stderr.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int ipro_cli_stderr_silence(void) {
  fflush(stderr);
  /* close-on-exec: a program started meanwhile must not inherit the spare descriptor */
  int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (saved < 0) return -1;
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null < 0 || dup2(null, STDERR_FILENO) < 0) {
    if (null >= 0) close(null);
    close(saved);
    return -1;
  }
  close(null);
  return saved;
}

void ipro_cli_stderr_restore(int saved) {
  if (saved < 0) return;
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
}
