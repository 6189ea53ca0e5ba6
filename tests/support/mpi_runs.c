/* The MPI tests' shared pieces (see mpi_runs.h). */
#include "mpi_runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "command.h"
#include "runtime/dataset.h"

const char *ipro_test_mpi_launcher(int ranks, bool check_leaks, char *buffer, size_t size) {
  if (system("command -v mpirun >/dev/null 2>&1") != 0) return NULL;
  setenv("OMP_NUM_THREADS", "1", 1);
  /* Open MPI keeps some allocations until exit by design; the suppressions name only its
   * libraries, and the slow unwinder is needed to see through them (they have no frame
   * pointers), so it is asked for the ranks only. */
  snprintf(
      buffer, size,
      "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_rmaps_base_oversubscribe=1 "
      "ASAN_OPTIONS=detect_leaks=%d:fast_unwind_on_malloc=%d:malloc_context_size=10 "
      "LSAN_OPTIONS=use_tls=0:suppressions='%s/tests/mpi/lsan_openmpi.supp':print_suppressions=0 "
      "mpirun --oversubscribe -np %d",
      check_leaks ? 1 : 0, check_leaks ? 0 : 1, ipro_test_source_dir(), ranks);
  return buffer;
}

int ipro_test_mpi_ready(char *directory_template) {
  char launcher[1024];
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!ipro_test_mpi_launcher(2, false, launcher, sizeof launcher))
    return ipro_test_skip("mpirun is not installed (Debian: openmpi-bin)");
  if (!mkdtemp(directory_template)) return ipro_test_skip("cannot create a temporary directory");
  return 0;
}

uint8_t *ipro_test_read_file(const char *path, size_t *size) {
  /* read in chunks: files under /proc report a size of 0 */
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  size_t capacity = 4096, length = 0;
  uint8_t *bytes = malloc(capacity + 1);
  while (bytes) {
    length += fread(bytes + length, 1, capacity - length, file);
    if (length < capacity) break;
    uint8_t *grown = realloc(bytes, 2 * capacity + 1);
    if (!grown) free(bytes);
    bytes = grown, capacity *= 2;
  }
  bool failed = ferror(file);
  fclose(file);
  if (!bytes || failed) {
    free(bytes);
    return NULL;
  }
  bytes[length] = '\0';
  *size = length;
  return bytes;
}

bool ipro_test_same_file(const char *a, const char *b) {
  size_t a_size = 0, b_size = 0;
  uint8_t *x = ipro_test_read_file(a, &a_size), *y = ipro_test_read_file(b, &b_size);
  bool same = x && y && a_size == b_size && memcmp(x, y, a_size) == 0;
  free(x);
  free(y);
  return same;
}

void ipro_test_epoch_numbers(const char *out, char *numbers, size_t size) {
  numbers[0] = '\0';
  const char *line = strstr(out, "epoch 1/1  loss ");
  const char *end = line ? strstr(line, " s\n") : NULL;
  if (!line || !end) return;
  while (end > line && end[-1] != ' ')
    end--;
  snprintf(numbers, size, "%.*s", (int)(end - line), line);
}

void ipro_test_refused_once(int ranks, const char *arguments, int status, const char *phrase) {
  char launcher[1024];
  ipro_command_result r;
  if (ranks)
    ipro_test_run_infopro_under(ipro_test_mpi_launcher(ranks, false, launcher, sizeof launcher),
                                arguments, &r);
  else
    ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == status && ipro_test_lines_with(r.err, phrase) == 1,
            "%s on %d ranks: exit %d (expected %d), %d lines hold '%s': %s", arguments, ranks,
            r.exit_status, status, ipro_test_lines_with(r.err, phrase), phrase, r.err);
}

int ipro_test_lines_with(const char *text, const char *phrase) {
  int lines = 0;
  for (const char *line = text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t length = end ? (size_t)(end - line) : strlen(line);
    const char *found = strstr(line, phrase);
    if (found && found + strlen(phrase) <= line + length) lines++;
    line = end ? end + 1 : NULL;
  }
  return lines;
}
