/* The kernel table of precompiled_kernels.h: dlopen and dlsym instead of LLVM. */
#include "precompiled_kernels.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/kernel_compiler.h"
#include "ir/kernel_library.h"
#include "runtime/framed_file.h"

static char host_path[4096], ptx_path[4096], compiled_cpu[64], compiled_features[4096];
static ipro_kernel_file_digest expected_ptx;

/* The program's kernels.so, opened and checked once (ipro_precompiled_kernels_use) and kept for
 * the life of the process; every backend's "JIT" is a view of it. */
static void *library;

struct ipro_kernel_jit {
  int unused;
};

static ipro_kernel_file_digest digest_of(const uint8_t *bytes, size_t size) {
  return (ipro_kernel_file_digest){.bytes = size, .crc32 = ipro_crc32(bytes, size)};
}

ipro_status ipro_kernel_file_digest_read(const char *path, ipro_kernel_file_digest *out,
                                         ipro_error *err) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_read_whole_file(path, "kernel file", &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  *out = digest_of(bytes, size);
  free(bytes);
  return IPRO_OK;
}

/* A kernel file's digest against the one program.ipro recorded (none recorded: not checked). */
static ipro_status check_digest(const char *path, ipro_kernel_file_digest found,
                                ipro_kernel_file_digest expected, ipro_error *err) {
  if (expected.bytes == 0 || (found.bytes == expected.bytes && found.crc32 == expected.crc32))
    return IPRO_OK;
  return ipro_error_set(err,
                        "the program's kernels '%s' are not the ones it was compiled with (%llu "
                        "bytes, CRC-32 %08x; program.ipro records %llu bytes, CRC-32 %08x): the "
                        "folder was changed after `infopro compile`; compile the model again",
                        path, (unsigned long long)found.bytes, (unsigned)found.crc32,
                        (unsigned long long)expected.bytes, (unsigned)expected.crc32);
}

static ipro_status open_library(ipro_kernel_jit **out, ipro_error *err) {
  *out = calloc(1, sizeof **out);
  return *out ? IPRO_OK : ipro_error_set(err, "out of memory");
}

/* The entry of kernel `name`, or NULL. */
static ipro_kernel_host_fn entry_of(const char *name) {
  void *address = dlsym(library, name);
  /* dlsym hands out the entry as an object pointer; converting it to a function is the one such
   * conversion this design needs (POSIX guarantees it works). */
  union {
    void *address;
    ipro_kernel_host_fn function;
  } entry = {.address = address};
  return address ? entry.function : NULL;
}

static ipro_status look_up(ipro_kernel_jit *jit, const ipro_kernel_desc *desc,
                           ipro_kernel_host_fn *out, ipro_error *err) {
  (void)jit;
  *out = entry_of(desc->name);
  if (!*out)
    return ipro_error_set(err, "the program's kernels '%s' hold no kernel %s", host_path,
                          desc->name);
  return IPRO_OK;
}

static void close_library(ipro_kernel_jit *jit) { free(jit); }

static ipro_status no_host_object(const ipro_kernel_desc *descs, int count, const char *cpu,
                                  void **bytes, size_t *size, ipro_error *err) {
  (void)descs, (void)count, (void)cpu, (void)bytes, (void)size;
  return ipro_error_set(err, "a compiled training program makes no new kernels");
}

static ipro_status stored_ptx(const ipro_kernel_desc *descs, int count, char **ptx, size_t *size,
                              ipro_error *err) {
  (void)descs, (void)count;
  uint8_t *bytes = NULL;
  size_t length = 0;
  if (ipro_read_whole_file(ptx_path, "kernel file", &bytes, &length, err) != IPRO_OK)
    return ipro_error_prefix(err, "this program was compiled for the CPU; compile it again with "
                                  "--device cuda");
  char *text = realloc(bytes, length + 1);
  if (!text) {
    free(bytes);
    return ipro_error_set(err, "out of memory reading '%s'", ptx_path);
  }
  text[length] = '\0';
  if (check_digest(ptx_path, digest_of((const uint8_t *)text, length), expected_ptx, err) !=
      IPRO_OK) {
    free(text);
    return IPRO_ERROR;
  }
  *ptx = text;
  *size = length;
  return IPRO_OK;
}

static ipro_status describe_compiled(char *cpu, size_t cpu_size, char *features,
                                     size_t features_size, ipro_error *err) {
  (void)err;
  snprintf(cpu, cpu_size, "%s", compiled_cpu);
  snprintf(features, features_size, "%s", compiled_features);
  return IPRO_OK;
}

static const ipro_kernel_compiler precompiled = {
    .jit_create = open_library,
    .jit_compile = look_up,
    .jit_destroy = close_library,
    .emit_host_object = no_host_object,
    .emit_ptx = stored_ptx,
    .describe_host = describe_compiled,
};

/* Whether this CPU has the instruction-set feature LLVM calls `name`, for the features the
 * generated loops use; true for features outside this list, which the code does not depend on
 * in ways a mismatch could break silently. */
static bool cpu_has(const char *name) {
  __builtin_cpu_init();
#define FEATURE(llvm_name, gcc_name)                                                               \
  if (strcmp(name, llvm_name) == 0) return __builtin_cpu_supports(gcc_name);
  FEATURE("sse4.1", "sse4.1")
  FEATURE("sse4.2", "sse4.2")
  FEATURE("avx", "avx")
  FEATURE("avx2", "avx2")
  FEATURE("fma", "fma")
  FEATURE("bmi", "bmi")
  FEATURE("bmi2", "bmi2")
  FEATURE("avx512f", "avx512f")
  FEATURE("avx512bw", "avx512bw")
  FEATURE("avx512dq", "avx512dq")
  FEATURE("avx512vl", "avx512vl")
  FEATURE("avx512cd", "avx512cd")
  FEATURE("avx512vnni", "avx512vnni")
  FEATURE("avx512bf16", "avx512bf16")
  FEATURE("avx512vp2intersect", "avx512vp2intersect")
#undef FEATURE
  return true;
}

/* Opens kernels.so, checks its bytes against host and dlopens that same open file (through
 * /proc/self/fd, where there is one), so that the file checked is the file loaded even if the
 * folder changes in between. */
static ipro_status load_checked(ipro_kernel_file_digest host, ipro_error *err) {
  FILE *file = fopen(host_path, "rb");
  if (!file)
    return ipro_error_set(err, "cannot load the program's kernels '%s': %s", host_path,
                          strerror(errno));
  uint8_t *bytes = NULL;
  size_t size = 0;
  ipro_status status = ipro_read_whole_stream(file, "kernel file", host_path, &bytes, &size, err);
  if (status == IPRO_OK) status = check_digest(host_path, digest_of(bytes, size), host, err);
  free(bytes);
  if (status != IPRO_OK) {
    fclose(file);
    return status;
  }
  char open_path[64];
  snprintf(open_path, sizeof open_path, "/proc/self/fd/%d", fileno(file));
  library = dlopen(access(open_path, R_OK) == 0 ? open_path : host_path, RTLD_NOW | RTLD_LOCAL);
  fclose(file);
  if (!library) {
    const char *why = dlerror();
    return ipro_error_set(err, "cannot load the program's kernels '%s': %s", host_path,
                          why ? why : "unknown reason");
  }
  return IPRO_OK;
}

ipro_status ipro_precompiled_kernels_use(const char *directory, const char *cpu,
                                         const char *features, ipro_kernel_file_digest host,
                                         ipro_kernel_file_digest ptx, ipro_error *err) {
  char missing[512] = "";
  size_t used = 0;
  for (const char *at = features; *at;) {
    size_t length = strcspn(at, ",");
    char name[64];
    if (at[0] == '+' && length - 1 < sizeof name) {
      memcpy(name, at + 1, length - 1);
      name[length - 1] = '\0';
      if (!cpu_has(name) && used + length + 2 < sizeof missing)
        used +=
            (size_t)snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "", name);
    }
    at += length + (at[length] == ',');
  }
  if (missing[0])
    return ipro_error_set(err,
                          "this program's kernels were compiled for a %s CPU, and this CPU lacks "
                          "%s: compile the model again on this machine (infopro compile)",
                          cpu, missing);
  snprintf(host_path, sizeof host_path, "%s/%s", directory, IPRO_PRECOMPILED_HOST_FILE);
  snprintf(ptx_path, sizeof ptx_path, "%s/%s", directory, IPRO_PRECOMPILED_PTX_FILE);
  snprintf(compiled_cpu, sizeof compiled_cpu, "%s", cpu);
  snprintf(compiled_features, sizeof compiled_features, "%s", features);
  expected_ptx = ptx;
  /* Opened and checked now, so that a missing or foreign kernels.so is one message at start-up
   * rather than a kernel quietly declined and run on the reference backend instead. */
  if (load_checked(host, err) != IPRO_OK) return IPRO_ERROR;
  /* kernels.ptx is read when the CUDA backend first asks for it (and checked again then); a
   * damaged one is refused now, on any machine, rather than when a GPU is found */
  if (ptx.bytes > 0) {
    ipro_kernel_file_digest found;
    ipro_status status = ipro_kernel_file_digest_read(ptx_path, &found, err);
    if (status == IPRO_OK) status = check_digest(ptx_path, found, ptx, err);
    if (status != IPRO_OK) {
      dlclose(library);
      library = NULL;
      return status;
    }
  }
  ipro_kernel_desc descs[IPRO_GENERATED_COUNT];
  ipro_kernel_library_describe_all(descs);
  for (int k = 0; k < IPRO_GENERATED_COUNT; k++)
    if (!entry_of(descs[k].name)) {
      dlclose(library);
      library = NULL;
      return ipro_error_set(err,
                            "the program's kernels '%s' hold no kernel %s (made by another "
                            "version of infopro? compile the model again)",
                            host_path, descs[k].name);
    }
  ipro_kernel_compiler_use(&precompiled);
  return IPRO_OK;
}
