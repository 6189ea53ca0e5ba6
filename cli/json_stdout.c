/* Moving the log off stdout for `--json -` (json_stdout.h). */
#include "json_stdout.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

FILE *ipro_cli_json_stdout_begin(void) {
  fflush(stdout);
  /* close-on-exec: a program the run starts must not hold the JSON's pipe open */
  int json = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (json < 0) return NULL;
  FILE *stream = fdopen(json, "w");
  if (!stream || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    int saved = errno;
    if (stream)
      fclose(stream);
    else
      close(json);
    errno = saved;
    return NULL;
  }
  return stream;
}
