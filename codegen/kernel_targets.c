/* The two targets of the kernel generator and the in-process linker (kernel_generator.h).
 *
 * Each emission builds its module in a fresh LLVMContext (so emissions on different threads never
 * share one), verifies it, optimises it at O3 for the target machine through the new pass
 * manager (the target machine supplies the cost model the loop vectoriser needs), and emits
 * machine code to memory: an ELF object for x86-64, PTX text for NVPTX. The JIT is ORC's LLJIT
 * fed with those objects, so the code it runs is exactly what ipro_kernel_emit_host_object
 * would write for this machine. Only the X86 and NVPTX targets are initialised.
 *
 * Built into the kernel compiler plugin (kernel_compiler.h): its functions reach the rest of
 * infopro only through ipro_kernel_compiler_table. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen/kernel_ir.h"
#include "ir/kernel_compiler.h"

#define NVPTX_TRIPLE "nvptx64-nvidia-cuda"
#define NVPTX_CPU "sm_80"
#define NVPTX_FEATURES "+ptx75"

/* ---- checked LLVM calls: each failure names the call and where it was made ---- */

/* For calls that return an LLVMErrorRef. */
#define LLVM_CHECK(call, err) llvm_check_error((call), __FILE__, __LINE__, #call, err)
/* For calls that return true on failure and may allocate a message (read only after the call,
 * hence its address). */
#define LLVM_CHECK_MESSAGE(failed, message, err)                                                   \
  llvm_check_message((failed), (message), __FILE__, __LINE__, err)

static ipro_status llvm_check_error(LLVMErrorRef error, const char *file, int line,
                                    const char *call, ipro_error *err) {
  if (!error) return IPRO_OK;
  char *message = LLVMGetErrorMessage(error);
  int name_length = (int)strcspn(call, "(");
  ipro_error_set(err, "%s:%d: %.*s failed: %s", file, line, name_length, call, message);
  LLVMDisposeErrorMessage(message);
  return IPRO_ERROR;
}

static ipro_status llvm_check_message(LLVMBool failed, char **message, const char *file, int line,
                                      ipro_error *err) {
  ipro_status status = IPRO_OK;
  if (failed)
    status = ipro_error_set(err, "%s:%d: LLVM: %s", file, line, *message ? *message : "failed");
  if (*message) LLVMDisposeMessage(*message);
  *message = NULL;
  return status;
}

/* ---- targets ---- */

static pthread_once_t targets_once = PTHREAD_ONCE_INIT;

static void initialise_targets(void) {
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetMC();
  LLVMInitializeNVPTXAsmPrinter();
}

/* A target machine for the host's x86-64 triple: cpu NULL means this machine's CPU and
 * features. */
static ipro_status host_machine(const char *cpu, LLVMTargetMachineRef *out, ipro_error *err) {
  pthread_once(&targets_once, initialise_targets);
  char *triple = LLVMGetDefaultTargetTriple();
  if (strncmp(triple, "x86_64", 6) != 0) {
    ipro_error_set(err, "the kernel generator's host target is x86-64; this host is %s", triple);
    LLVMDisposeMessage(triple);
    return IPRO_ERROR;
  }
  LLVMTargetRef target;
  char *message = NULL;
  if (LLVM_CHECK_MESSAGE(LLVMGetTargetFromTriple(triple, &target, &message), &message, err)) {
    LLVMDisposeMessage(triple);
    return IPRO_ERROR;
  }
  char *host_cpu = cpu ? NULL : LLVMGetHostCPUName();
  char *features = cpu ? NULL : LLVMGetHostCPUFeatures();
  *out = LLVMCreateTargetMachine(target, triple, cpu ? cpu : host_cpu, features ? features : "",
                                 LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
  LLVMDisposeMessage(triple);
  if (host_cpu) LLVMDisposeMessage(host_cpu);
  if (features) LLVMDisposeMessage(features);
  if (!*out) return ipro_error_set(err, "LLVM made no x86-64 target machine for CPU %s", cpu);
  return IPRO_OK;
}

static ipro_status nvptx_machine(LLVMTargetMachineRef *out, ipro_error *err) {
  pthread_once(&targets_once, initialise_targets);
  LLVMTargetRef target;
  char *message = NULL;
  if (LLVM_CHECK_MESSAGE(LLVMGetTargetFromTriple(NVPTX_TRIPLE, &target, &message), &message, err))
    return IPRO_ERROR;
  *out =
      LLVMCreateTargetMachine(target, NVPTX_TRIPLE, NVPTX_CPU, NVPTX_FEATURES,
                              LLVMCodeGenLevelAggressive, LLVMRelocDefault, LLVMCodeModelDefault);
  if (!*out) return ipro_error_set(err, "LLVM made no NVPTX target machine");
  return IPRO_OK;
}

/* ---- module → machine code ---- */

/* Builds, verifies, optimises and emits one module holding the kernels. `symbols` (NULL: the
 * descriptions' names) are the entry names. On success *buffer holds the emitted file. */
static ipro_status emit_module(LLVMTargetMachineRef machine, ipro_kernel_target target,
                               const ipro_kernel_desc *descs, const char *const *symbols, int count,
                               LLVMMemoryBufferRef *buffer, ipro_error *err) {
  for (int i = 0; i < count; i++)
    if (ipro_kernel_desc_check(&descs[i], err)) return IPRO_ERROR;
  LLVMContextRef context = LLVMContextCreate();
  LLVMModuleRef module = LLVMModuleCreateWithNameInContext("ipro_kernels", context);
  char *triple = LLVMGetTargetMachineTriple(machine);
  LLVMSetTarget(module, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(machine);
  LLVMSetModuleDataLayout(module, layout);
  LLVMDisposeTargetData(layout);
  for (int i = 0; i < count; i++)
    ipro_kernel_ir_add(module, &descs[i], target, symbols ? symbols[i] : descs[i].name);

  char *message = NULL;
  ipro_status status =
      LLVM_CHECK_MESSAGE(LLVMVerifyModule(module, LLVMReturnStatusAction, &message), &message, err);
  if (status == IPRO_OK) {
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(options, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(options, 1);
    LLVMPassBuilderOptionsSetLoopInterleaving(options, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(options, 1);
    status = LLVM_CHECK(LLVMRunPasses(module, "default<O3>", machine, options), err);
    LLVMDisposePassBuilderOptions(options);
  }
  if (status == IPRO_OK) {
    LLVMCodeGenFileType type =
        target == IPRO_KERNEL_TARGET_HOST ? LLVMObjectFile : LLVMAssemblyFile;
    message = NULL;
    status = LLVM_CHECK_MESSAGE(
        LLVMTargetMachineEmitToMemoryBuffer(machine, module, type, &message, buffer), &message,
        err);
  }
  LLVMDisposeModule(module);
  LLVMContextDispose(context);
  return status;
}

/* Copies the buffer into malloc'd memory with a NUL after it, and disposes it. */
static ipro_status take_buffer(LLVMMemoryBufferRef buffer, char **out, size_t *size,
                               ipro_error *err) {
  size_t length = LLVMGetBufferSize(buffer);
  char *copy = malloc(length + 1);
  if (copy) {
    memcpy(copy, LLVMGetBufferStart(buffer), length);
    copy[length] = '\0';
  }
  LLVMDisposeMemoryBuffer(buffer);
  if (!copy) return ipro_error_set(err, "out of memory copying %zu bytes of kernel code", length);
  *out = copy;
  *size = length;
  return IPRO_OK;
}

static ipro_status emit_host_object(const ipro_kernel_desc *descs, int count, const char *cpu,
                                    void **bytes, size_t *size, ipro_error *err) {
  LLVMTargetMachineRef machine;
  if (host_machine(cpu, &machine, err)) return IPRO_ERROR;
  LLVMMemoryBufferRef buffer;
  ipro_status status =
      emit_module(machine, IPRO_KERNEL_TARGET_HOST, descs, NULL, count, &buffer, err);
  LLVMDisposeTargetMachine(machine);
  char *copy = NULL;
  if (status || take_buffer(buffer, &copy, size, err)) return IPRO_ERROR;
  *bytes = copy;
  return IPRO_OK;
}

static ipro_status emit_ptx(const ipro_kernel_desc *descs, int count, char **ptx, size_t *size,
                            ipro_error *err) {
  LLVMTargetMachineRef machine;
  if (nvptx_machine(&machine, err)) return IPRO_ERROR;
  LLVMMemoryBufferRef buffer;
  ipro_status status =
      emit_module(machine, IPRO_KERNEL_TARGET_NVPTX, descs, NULL, count, &buffer, err);
  LLVMDisposeTargetMachine(machine);
  if (status) return IPRO_ERROR;
  return take_buffer(buffer, ptx, size, err);
}

/* ---- the JIT ---- */

/* A target machine is made per compilation: LLVM's code generation does not share one across
 * threads, and making one costs far less than the optimisation that follows. */
static void jit_destroy(ipro_kernel_jit *jit);

struct ipro_kernel_jit {
  LLVMOrcLLJITRef lljit;
  pthread_mutex_t lock; /* orders the symbol counter; LLJIT itself is thread-safe */
  unsigned long next_symbol;
};

static ipro_status jit_create(ipro_kernel_jit **out, ipro_error *err) {
  ipro_kernel_jit *jit = calloc(1, sizeof *jit);
  if (!jit) return ipro_error_set(err, "out of memory creating the kernel JIT");
  pthread_mutex_init(&jit->lock, NULL);
  pthread_once(&targets_once, initialise_targets);
  if (LLVM_CHECK(LLVMOrcCreateLLJIT(&jit->lljit, NULL), err)) {
    jit->lljit = NULL;
    jit_destroy(jit);
    return IPRO_ERROR;
  }
  /* Lets an optimised kernel call what the process links (a loop turned into memset). */
  LLVMOrcDefinitionGeneratorRef process;
  if (LLVM_CHECK(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                     &process, LLVMOrcLLJITGetGlobalPrefix(jit->lljit), NULL, NULL),
                 err)) {
    jit_destroy(jit);
    return IPRO_ERROR;
  }
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit->lljit), process);
  *out = jit;
  return IPRO_OK;
}

static ipro_status jit_compile(ipro_kernel_jit *jit, const ipro_kernel_desc *desc,
                               ipro_kernel_host_fn *out, ipro_error *err) {
  /* A fresh symbol per compilation: the same description may be compiled twice. */
  char symbol[128];
  pthread_mutex_lock(&jit->lock);
  snprintf(symbol, sizeof symbol, "ipro_kernel_%s_%lu", desc->name, jit->next_symbol++);
  pthread_mutex_unlock(&jit->lock);
  const char *symbols[1] = {symbol};
  LLVMTargetMachineRef machine;
  if (host_machine(NULL, &machine, err)) return IPRO_ERROR;
  LLVMMemoryBufferRef object;
  ipro_status status =
      emit_module(machine, IPRO_KERNEL_TARGET_HOST, desc, symbols, 1, &object, err);
  LLVMDisposeTargetMachine(machine);
  if (status) return IPRO_ERROR;
  /* LLJIT takes the object buffer, whether or not it succeeds. */
  LLVMOrcExecutorAddress address = 0;
  if (LLVM_CHECK(
          LLVMOrcLLJITAddObjectFile(jit->lljit, LLVMOrcLLJITGetMainJITDylib(jit->lljit), object),
          err) ||
      LLVM_CHECK(LLVMOrcLLJITLookup(jit->lljit, &address, symbol), err))
    return ipro_error_prefix(err, "kernel %s", desc->name);
  /* The JIT hands out the entry as an address; converting it back to a function is the one
   * object-to-function pointer conversion this design needs. */
  union {
    uintptr_t address;
    ipro_kernel_host_fn function;
  } entry;
  _Static_assert(sizeof entry.address == sizeof entry.function, "function pointers are words");
  entry.address = (uintptr_t)address;
  *out = entry.function;
  return IPRO_OK;
}

static void jit_destroy(ipro_kernel_jit *jit) {
  if (!jit) return;
  if (jit->lljit) {
    LLVMErrorRef error = LLVMOrcDisposeLLJIT(jit->lljit);
    if (error) LLVMConsumeError(error);
  }
  pthread_mutex_destroy(&jit->lock);
  free(jit);
}

static ipro_status describe_host(char *cpu, size_t cpu_size, char *features, size_t features_size,
                                 ipro_error *err) {
  (void)err;
  char *name = LLVMGetHostCPUName(), *list = LLVMGetHostCPUFeatures();
  snprintf(cpu, cpu_size, "%s", name ? name : "");
  snprintf(features, features_size, "%s", list ? list : "");
  if (name) LLVMDisposeMessage(name);
  if (list) LLVMDisposeMessage(list);
  return IPRO_OK;
}

const ipro_kernel_compiler *ipro_kernel_compiler_table(void) {
  static const ipro_kernel_compiler table = {
      .jit_create = jit_create,
      .jit_compile = jit_compile,
      .jit_destroy = jit_destroy,
      .emit_host_object = emit_host_object,
      .emit_ptx = emit_ptx,
      .describe_host = describe_host,
  };
  return &table;
}
