/* Running the infopro binary and capturing its output (see command.h). */
#include "command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "runtime/backend.h"
#include "runtime/dataset.h"

bool ipro_test_infopro_available(void) { return getenv("IPRO_INFOPRO") != NULL; }

void ipro_test_run_infopro(const char *arguments, ipro_command_result *r) {
  ipro_test_run_infopro_under("", arguments, r);
}

void ipro_test_run_infopro_under(const char *launcher, const char *arguments,
                                 ipro_command_result *r) {
  size_t length = strlen(launcher) + strlen(arguments) + 4200;
  char *command = malloc(length);
  if (!command) {
    memset(r, 0, sizeof *r);
    r->exit_status = -1;
    return;
  }
  snprintf(command, length, "%s '%s' %s", launcher, getenv("IPRO_INFOPRO"), arguments);
  ipro_test_run_command(command, r);
  free(command);
}

bool ipro_test_cpu_has_flags(const char *const *flags, int count) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return false;
  static char line[16384];
  bool found = false;
  while (!found && fgets(line, sizeof line, f))
    found = strncmp(line, "flags", 5) == 0;
  fclose(f);
  if (!found) return false;
  char *end = line + strlen(line);
  if (end > line && end[-1] == '\n') end[-1] = ' '; /* the last flag ends in a space too */
  for (int i = 0; i < count; i++) {
    char word[64];
    snprintf(word, sizeof word, " %s ", flags[i]);
    if (!strstr(line, word)) return false;
  }
  return true;
}

bool ipro_test_cpu_has_avx512_core(void) {
  static const char *const flags[] = {"avx512f", "avx512bw", "avx512vl", "avx512dq"};
  return ipro_test_cpu_has_flags(flags, 4);
}

bool ipro_test_cpu_has_avx2(void) {
  static const char *const flags[] = {"avx2"};
  return ipro_test_cpu_has_flags(flags, 1);
}

void ipro_test_run_command_expecting(const char *command_line, ipro_command_result *r,
                                     int expected) {
  ipro_test_run_command(command_line, r);
  CHECK_MSG(r->exit_status == expected, "%s: exit status %d (expected %d), stderr: %s",
            command_line, r->exit_status, expected, r->err);
}

void ipro_test_run_command(const char *command_line, ipro_command_result *r) {
  memset(r, 0, sizeof *r);
  r->exit_status = -1;
  char err_path[] = "/tmp/ipro_command_stderr_XXXXXX";
  int fd = mkstemp(err_path);
  if (fd < 0) return;
  close(fd);
  size_t length = strlen(command_line) + 8192;
  char *command = malloc(length);
  if (!command) return;
  snprintf(command, length, "cd '%s' && %s 2>'%s'", ipro_test_source_dir(), command_line, err_path);
  FILE *pipe = popen(command, "r");
  free(command);
  if (pipe) {
    size_t n = fread(r->out, 1, sizeof r->out - 1, pipe);
    r->out[n] = '\0';
    int status = pclose(pipe);
    r->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  FILE *file = fopen(err_path, "r");
  if (file) {
    size_t n = fread(r->err, 1, sizeof r->err - 1, file);
    r->err[n] = '\0';
    fclose(file);
  }
  unlink(err_path);
  for (const char *c = r->err; *c; c++)
    r->err_lines += *c == '\n';
  if (getenv("IPRO_TEST_VERBOSE")) printf("$ %s\n%s%s", command_line, r->out, r->err);
}

void ipro_test_remove_directory(const char *path) {
  size_t length = strlen(path) + 16;
  char *command = malloc(length);
  if (command) snprintf(command, length, "rm -rf '%s'", path);
  if (!command || system(command) != 0) printf("note: could not remove %s\n", path);
  free(command);
}

const char *ipro_test_training_unavailable(void) {
  if (!ipro_test_infopro_available()) return "IPRO_INFOPRO is not set";
  ipro_dataset_spec spec;
  ipro_dataset test;
  ipro_error err;
  if (ipro_dataset_parse_spec("fashion-mnist", &spec, &err) != IPRO_OK ||
      ipro_dataset_load(&spec, IPRO_SPLIT_TEST, &test, &err) != IPRO_OK)
    return "Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)";
  ipro_dataset_free(&test);
  return NULL;
}

const char *ipro_test_cuda_compile_unavailable(bool *gpu) {
  *gpu = false;
  const char *unavailable = ipro_test_training_unavailable();
  if (unavailable) return unavailable;
  static ipro_error err;
  ipro_backend *backend = NULL;
  if (ipro_backend_create_cuda_planning(&backend, &err) != IPRO_OK) return err.message;
  backend->destroy(backend);
  ipro_error device_err;
  *gpu = ipro_backend_create_cuda(&backend, &device_err) == IPRO_OK;
  if (*gpu) backend->destroy(backend);
  return NULL;
}

void ipro_test_licences_command(const char *folder, char *command, size_t size) {
  snprintf(command, size,
           "cd '%s' && ls lib | while read -r l; do "
           "p=$(dpkg -S \"$(readlink -f /usr/lib/x86_64-linux-gnu/$l)\" 2>/dev/null || "
           "dpkg -S \"$(readlink -f /usr/lib/x86_64-linux-gnu/$l | sed s,^/usr,,)\"); "
           "p=${p%%%%:*}; test -s licenses/$p.copyright && echo \"$l $p\" || "
           "echo \"MISSING $l $p\"; done",
           folder);
}
