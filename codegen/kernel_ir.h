/* Internal to the kernel generator: what kernel_ir.c (one description → LLVM IR, for either
 * target), kernel_math.c (exp and log as inline IR) and kernel_targets.c (target machines,
 * optimisation, emission, the JIT) share. Only these files include LLVM's headers. */
#ifndef IPRO_KERNEL_IR_H
#define IPRO_KERNEL_IR_H

#include <llvm-c/Core.h>

#include "ir/kernel_generator.h"

typedef enum { IPRO_KERNEL_TARGET_HOST, IPRO_KERNEL_TARGET_NVPTX } ipro_kernel_target;

/* Adds the kernel's functions to module, its entry named symbol: the host wrapper of
 * ipro_kernel_host_fn or the PTX kernel (with its nvvm.annotations entry). The description must
 * have passed ipro_kernel_desc_check. */
void ipro_kernel_ir_add(LLVMModuleRef module, const ipro_kernel_desc *desc,
                        ipro_kernel_target target, const char *symbol);

/* A call of the LLVM intrinsic `name` (overloaded on `overload` when it is not NULL). */
LLVMValueRef ipro_kernel_ir_intrinsic(LLVMBuilderRef builder, LLVMModuleRef module,
                                      const char *name, LLVMTypeRef overload, LLVMValueRef *args,
                                      unsigned count);

/* exp and log of a float value (kernel_math.c): Cephes' single-precision range reductions and
 * polynomials, written with plain arithmetic, integer bit operations and selects only, so that
 * they vectorise on the host, need no libm, and give the same results on both targets.
 * Both handle ±inf, NaN, 0 and subnormal arguments and results. */
LLVMValueRef ipro_kernel_ir_exp(LLVMBuilderRef builder, LLVMValueRef x);
LLVMValueRef ipro_kernel_ir_log(LLVMBuilderRef builder, LLVMValueRef x);

#endif
