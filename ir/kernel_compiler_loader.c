/* kernel_generator.h's compiling functions, forwarded to the LLVM kernel compiler plugin
 * (kernel_compiler.h), which is loaded the first time one of them is called. */
#include <pthread.h>
#include <stddef.h>

#include "ir/kernel_compiler.h"
#include "ir/plugin_library.h"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const ipro_kernel_compiler *compiler;
static ipro_error load_error;

static void load_plugin(void) {
  void *address = NULL;
  if (ipro_plugin_load(IPRO_KERNEL_COMPILER_FILE, "IPRO_KERNEL_COMPILER_PLUGIN",
                       IPRO_KERNEL_COMPILER_ENTRY, &address, &load_error) != IPRO_OK) {
    ipro_error_prefix(&load_error, "the kernel compiler (LLVM 14)");
    return;
  }
  union {
    void *address;
    const ipro_kernel_compiler *(*function)(void);
  } entry = {.address = address};
  compiler = entry.function();
}

static const ipro_kernel_compiler *chosen;

void ipro_kernel_compiler_use(const ipro_kernel_compiler *table) { chosen = table; }

/* The compiler, or NULL with the reason in err. */
static const ipro_kernel_compiler *loaded(ipro_error *err) {
  if (chosen) return chosen;
  pthread_once(&load_once, load_plugin);
  if (!compiler && err) *err = load_error;
  return compiler;
}

ipro_status ipro_kernel_jit_create(ipro_kernel_jit **out, ipro_error *err) {
  *out = NULL;
  const ipro_kernel_compiler *c = loaded(err);
  return c ? c->jit_create(out, err) : IPRO_ERROR;
}

ipro_status ipro_kernel_jit_compile(ipro_kernel_jit *jit, const ipro_kernel_desc *desc,
                                    ipro_kernel_host_fn *out, ipro_error *err) {
  const ipro_kernel_compiler *c = loaded(err);
  return c ? c->jit_compile(jit, desc, out, err) : IPRO_ERROR;
}

void ipro_kernel_jit_destroy(ipro_kernel_jit *jit) {
  /* A JIT exists only if the plugin made it. */
  if (jit) loaded(NULL)->jit_destroy(jit);
}

ipro_status ipro_kernel_emit_host_object(const ipro_kernel_desc *descs, int count, const char *cpu,
                                         void **bytes, size_t *size, ipro_error *err) {
  const ipro_kernel_compiler *c = loaded(err);
  return c ? c->emit_host_object(descs, count, cpu, bytes, size, err) : IPRO_ERROR;
}

ipro_status ipro_kernel_emit_ptx(const ipro_kernel_desc *descs, int count, char **ptx, size_t *size,
                                 ipro_error *err) {
  const ipro_kernel_compiler *c = loaded(err);
  return c ? c->emit_ptx(descs, count, ptx, size, err) : IPRO_ERROR;
}

ipro_status ipro_kernel_compiler_preload(ipro_error *err) {
  return loaded(err) ? IPRO_OK : IPRO_ERROR;
}

ipro_status ipro_kernel_describe_host(char *cpu, size_t cpu_size, char *features,
                                      size_t features_size, ipro_error *err) {
  const ipro_kernel_compiler *c = loaded(err);
  return c ? c->describe_host(cpu, cpu_size, features, features_size, err) : IPRO_ERROR;
}

const ipro_kernel_compiler *ipro_kernel_compiler_forwarding(void) {
  static const ipro_kernel_compiler forwarding = {
      .jit_create = ipro_kernel_jit_create,
      .jit_compile = ipro_kernel_jit_compile,
      .jit_destroy = ipro_kernel_jit_destroy,
      .emit_host_object = ipro_kernel_emit_host_object,
      .emit_ptx = ipro_kernel_emit_ptx,
      .describe_host = ipro_kernel_describe_host,
  };
  return &forwarding;
}
