/* A compiled program's kernels are refused on a CPU that lacks an instruction-set feature they
 * were made for (runtime/precompiled_kernels.h), with one message naming it, and accepted on one
 * that has them all. The oracle is the kernel's own account of this CPU, the "flags" line of
 * /proc/cpuinfo, not the compiler builtin the code asks. (The folder holds no kernels.so, so an
 * accepted CPU then meets the next check, the library's loading, which is named.) Features: AVX2
 * and FMA (which most x86-64 machines of the last decade have), AVX-512F (which many lack) and
 * AVX512_VP2INTERSECT (which almost every CPU lacks, so that the refusal is exercised on most
 * machines); each expectation follows /proc/cpuinfo, whichever this machine is.
 *
 * The digest `infopro compile` records of each kernel file (its size and CRC-32, which the runner
 * checks before loading it; tests/cli/test_compile.c damages real kernel files) is checked
 * against the CRC-32's published check value: the nine bytes "123456789" give CBF43926 (the
 * catalogue of parametrised CRC algorithms, CRC-32/ISO-HDLC), and a missing file is named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/precompiled_kernels.h"
#include "support/check.h"

static char flags[8192];

/* Whether /proc/cpuinfo's first "flags" line lists name (a whole word). */
static bool cpuinfo_has(const char *name) {
  size_t length = strlen(name);
  for (const char *at = strstr(flags, name); at; at = strstr(at + 1, name))
    if (at[-1] == ' ' && (at[length] == ' ' || at[length] == '\n' || at[length] == '\0'))
      return true;
  return false;
}

/* accepted: the features pass, and the program then fails only at loading its kernels (the
 * folder holds none); refused: the message names the missing feature and the CPU. */
static void expect(const char *features, bool accepted, const char *named) {
  ipro_error err = {{0}};
  ipro_status status = ipro_precompiled_kernels_use("/nonexistent", "test-cpu", features,
                                                    (ipro_kernel_file_digest){0},
                                                    (ipro_kernel_file_digest){0}, &err);
  CHECK_MSG(status != IPRO_OK, "features %s: a folder without kernels.so was accepted", features);
  bool refused_for_features = strstr(err.message, "lacks") != NULL;
  CHECK_MSG(refused_for_features != accepted, "features %s: %s (expected %s)", features,
            err.message, accepted ? "accepted" : "refused");
  if (accepted)
    CHECK_MSG(strstr(err.message, "cannot load the program's kernels") &&
                  strstr(err.message, "/nonexistent/kernels.so"),
              "features %s: %s", features, err.message);
  else
    CHECK_MSG(strstr(err.message, named) && strstr(err.message, "test-cpu"),
              "the message does not name %s and the CPU: %s", named, err.message);
}

static void digest_of_check_string(void) {
  char folder[] = "/tmp/ipro_test_kernel_digest_XXXXXX", path[64];
  CHECK_MSG(mkdtemp(folder) != NULL, "cannot make a temporary folder");
  snprintf(path, sizeof path, "%s/kernels.so", folder);
  FILE *file = fopen(path, "wb");
  CHECK_MSG(file && fputs("123456789", file) >= 0 && fclose(file) == 0, "cannot write %s", path);
  ipro_kernel_file_digest digest = {0};
  ipro_error err = {{0}};
  CHECK_MSG(ipro_kernel_file_digest_read(path, &digest, &err) == IPRO_OK, "%s", err.message);
  CHECK_MSG(digest.bytes == 9 && digest.crc32 == 0xCBF43926u,
            "digest of \"123456789\": %llu bytes, CRC-32 %08x (expected 9, cbf43926)",
            (unsigned long long)digest.bytes, (unsigned)digest.crc32);
  unlink(path);
  rmdir(folder);
  CHECK_MSG(ipro_kernel_file_digest_read(path, &digest, &err) != IPRO_OK &&
                strstr(err.message, path) != NULL,
            "a missing file: %s", err.message);
}

int main(void) {
  digest_of_check_string();
  FILE *cpuinfo = fopen("/proc/cpuinfo", "r");
  if (!cpuinfo) return ipro_test_skip("no /proc/cpuinfo to compare with");
  char line[sizeof flags];
  while (fgets(line, sizeof line, cpuinfo))
    if (strncmp(line, "flags", 5) == 0) {
      snprintf(flags, sizeof flags, " %s", strchr(line, ':') ? strchr(line, ':') + 1 : line);
      break;
    }
  fclose(cpuinfo);
  if (!flags[0]) return ipro_test_skip("/proc/cpuinfo lists no flags");
  /* disabled features ("-...") are never required */
  expect("+avx2,+fma,-sse4a,-avx512vp2intersect", cpuinfo_has("avx2") && cpuinfo_has("fma"),
         "avx2");
  expect("+avx512f,+avx2", cpuinfo_has("avx512f") && cpuinfo_has("avx2"),
         cpuinfo_has("avx512f") ? "avx2" : "avx512f");
  expect("+avx2,+avx512vp2intersect", cpuinfo_has("avx2") && cpuinfo_has("avx512_vp2intersect"),
         cpuinfo_has("avx512_vp2intersect") ? "avx2" : "avx512vp2intersect");
  expect("-avx512f,-avx2", true, "");
  return ipro_test_finish();
}
