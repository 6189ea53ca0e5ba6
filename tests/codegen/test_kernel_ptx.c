/* Checks the generator's NVPTX target without a GPU: the PTX module of every kernel in
 * ir/kernel_library.c declares PTX ISA 7.5 and sm_80, has one .entry per kernel under its
 * name, and is accepted by NVIDIA's own assembler, ptxas, for sm_80 and sm_90. ptxas is taken from
 * $IPRO_PTXAS, /usr/local/cuda/bin, or PATH; without it the test skips (exit 77). */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir/kernel_generator.h"
#include "ir/kernel_library.h"
#include "tests/support/check.h"

extern char **environ;

static bool executable(const char *path) { return access(path, X_OK) == 0; }

/* Writes the path of ptxas into buffer, or returns false. */
static bool find_ptxas(char *buffer, size_t size) {
  const char *chosen = getenv("IPRO_PTXAS");
  if (chosen && *chosen) {
    snprintf(buffer, size, "%s", chosen);
    return executable(buffer);
  }
  snprintf(buffer, size, "/usr/local/cuda/bin/ptxas");
  if (executable(buffer)) return true;
  const char *path = getenv("PATH");
  while (path && *path) {
    size_t length = strcspn(path, ":");
    snprintf(buffer, size, "%.*s/ptxas", (int)length, path);
    if (length > 0 && executable(buffer)) return true;
    path += length + (path[length] == ':');
  }
  return false;
}

/* Runs `ptxas -arch=<arch> <ptx> -o <cubin>` and returns its exit status (-1 if it did not run). */
static int assemble(const char *ptxas, const char *arch, const char *ptx, const char *cubin) {
  char arch_option[32];
  snprintf(arch_option, sizeof arch_option, "-arch=%s", arch);
  char *argv[] = {(char *)ptxas, arch_option, (char *)ptx, "-o", (char *)cubin, NULL};
  pid_t pid;
  if (posix_spawn(&pid, ptxas, NULL, NULL, argv, environ) != 0) return -1;
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

static long file_size(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 ? (long)info.st_size : -1;
}

int main(void) {
  char ptxas[1024];
  if (!find_ptxas(ptxas, sizeof ptxas))
    return ipro_test_skip("ptxas not found ($IPRO_PTXAS, /usr/local/cuda/bin, PATH); the "
                          "generated PTX cannot be assembled here");

  ipro_kernel_desc descs[IPRO_GENERATED_COUNT];
  for (int k = 0; k < IPRO_GENERATED_COUNT; k++)
    ipro_kernel_library_describe((ipro_generated_kernel)k, &descs[k]);
  char *ptx = NULL;
  size_t size = 0;
  ipro_error err = {{0}};
  CHECK_OK(ipro_kernel_emit_ptx(descs, IPRO_GENERATED_COUNT, &ptx, &size, &err), &err);
  if (!ptx) return ipro_test_finish();
  CHECK(size == strlen(ptx));
  CHECK(strstr(ptx, ".version 7.5") != NULL);
  CHECK(strstr(ptx, ".target sm_80") != NULL);
  CHECK(strstr(ptx, ".address_size 64") != NULL);
  for (int k = 0; k < IPRO_GENERATED_COUNT; k++) {
    char entry[IPRO_KERNEL_NAME_SIZE + 16];
    snprintf(entry, sizeof entry, ".entry %s(", descs[k].name);
    CHECK_MSG(strstr(ptx, entry) != NULL, "the PTX has no '%s'", entry);
  }

  char dir[] = "/tmp/ipro_ptx_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char ptx_path[64], cubin_path[64];
  snprintf(ptx_path, sizeof ptx_path, "%s/kernels.ptx", dir);
  snprintf(cubin_path, sizeof cubin_path, "%s/kernels.cubin", dir);
  FILE *file = fopen(ptx_path, "w");
  CHECK(file && fwrite(ptx, 1, size, file) == size);
  if (file) fclose(file);
  static const char *const architectures[] = {"sm_80", "sm_90"};
  for (int a = 0; a < 2; a++) {
    remove(cubin_path);
    int status = assemble(ptxas, architectures[a], ptx_path, cubin_path);
    CHECK_MSG(status == 0, "%s -arch=%s %s: exit status %d", ptxas, architectures[a], ptx_path,
              status);
    CHECK_MSG(file_size(cubin_path) > 0, "ptxas -arch=%s wrote no cubin", architectures[a]);
  }
  /* Kept on failure, for a look with ptxas by hand. */
  if (ipro_test_failed == 0) {
    remove(cubin_path);
    remove(ptx_path);
    rmdir(dir);
  } else {
    fprintf(stderr, "the PTX is in %s\n", ptx_path);
  }
  free(ptx);
  return ipro_test_finish();
}
