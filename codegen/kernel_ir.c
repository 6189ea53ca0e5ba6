/* One kernel description → LLVM IR, through the LLVM C API, for the host or for NVPTX.
 *
 * Both targets share the element body (emit_element: loads, the expression DAG, stores) and the
 * kernel function around it, whose parameters are the GPU calling convention of
 * kernel_generator.h: one pointer per distinct buffer, marked noalias (and readonly where only
 * read), so that the host loop vectorises without run-time overlap checks and the GPU reads go
 * through the non-coherent cache. Only the loop differs:
 *  - host: a counted loop over [0, count), or for kernels with a channel input a loop over rows
 *    of `inner` elements with the channel stepping per row; the function is internal and always
 *    inlined into the exported wrapper that unpacks ipro_kernel_host_fn's arrays;
 *  - NVPTX: a grid-stride loop from the thread's global index, the channel computed by division;
 *    the function is marked a kernel in nvvm.annotations. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "codegen/kernel_ir.h"

typedef struct {
  LLVMContextRef context;
  LLVMModuleRef module;
  LLVMBuilderRef b;
  LLVMValueRef function;
  const ipro_kernel_desc *desc;
  LLVMTypeRef f32, compute, i8, i32, i64;
  LLVMValueRef inputs[IPRO_KERNEL_MAX_INPUTS];   /* typed base pointers */
  LLVMValueRef outputs[IPRO_KERNEL_MAX_OUTPUTS]; /* the input's pointer when in place */
  LLVMValueRef params[IPRO_KERNEL_MAX_PARAMS];   /* loaded once, in the compute type */
  /* COUNTER_UNIFORM from integers first, first + 1: the per-launch key
   * splitmix64(splitmix64(seed) ^ step), computed once in the entry block */
  LLVMValueRef counter_keys[IPRO_KERNEL_MAX_INTEGERS];
} emitter;

LLVMValueRef ipro_kernel_ir_intrinsic(LLVMBuilderRef builder, LLVMModuleRef module,
                                      const char *name, LLVMTypeRef overload, LLVMValueRef *args,
                                      unsigned count) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  size_t overloads = overload ? 1 : 0;
  LLVMTypeRef types[1] = {overload};
  LLVMValueRef function = LLVMGetIntrinsicDeclaration(module, id, types, overloads);
  LLVMTypeRef type = LLVMIntrinsicGetType(LLVMGetModuleContext(module), id, types, overloads);
  return LLVMBuildCall2(builder, type, function, args, count, "");
}

static bool has_channel_input(const ipro_kernel_desc *desc) {
  for (int i = 0; i < desc->input_count; i++)
    if (desc->inputs[i] == IPRO_KERNEL_CHANNEL) return true;
  return false;
}

static bool written_in_place(const ipro_kernel_desc *desc, int input) {
  for (int k = 0; k < desc->output_count; k++)
    if (desc->in_place[k] == input) return true;
  return false;
}

static LLVMTypeRef element_type(const emitter *e, ipro_kernel_input_kind kind) {
  return kind == IPRO_KERNEL_MASK ? e->i8 : kind == IPRO_KERNEL_LABEL ? e->i64 : e->f32;
}

static void add_attribute(emitter *e, LLVMValueRef function, unsigned index, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(function, index, LLVMCreateEnumAttribute(e->context, kind, 0));
}

/* ---- counted loops ---- */

typedef struct {
  LLVMValueRef index, end;
  LLVMBasicBlockRef body, exit, entry;
} loop;

/* Opens `for (index = start; index < end; index += step)` (signed); the caller emits the body at
 * the builder's position and then calls loop_close. */
static loop loop_open(emitter *e, LLVMValueRef start, LLVMValueRef end, const char *name) {
  loop l = {.end = end, .entry = LLVMGetInsertBlock(e->b)};
  l.body = LLVMAppendBasicBlockInContext(e->context, e->function, name);
  l.exit = LLVMAppendBasicBlockInContext(e->context, e->function, "");
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, start, end, ""), l.body, l.exit);
  LLVMPositionBuilderAtEnd(e->b, l.body);
  l.index = LLVMBuildPhi(e->b, e->i64, name);
  LLVMAddIncoming(l.index, &start, &l.entry, 1);
  return l;
}

static LLVMValueRef loop_close(emitter *e, loop *l, LLVMValueRef step) {
  LLVMValueRef next = LLVMBuildNSWAdd(e->b, l->index, step, "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
  LLVMValueRef branch =
      LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, next, l->end, ""), l->body, l->exit);
  LLVMAddIncoming(l->index, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(e->b, l->exit);
  return branch;
}

/* Asks the loop vectoriser to interleave the loop whose latch ends in `branch`: INTERLEAVE vector
 * iterations in flight at once. Its cost model keeps one for long bodies (register pressure), and
 * then a body built of one long dependent chain, as the log and exp expansions are
 * (kernel_math.c, Horner's rule without fused multiply-adds), runs at the chain's latency: the BCE
 * loss terms (two logs an element) of 393,216 values took 2.78 ms on one thread of the AMD EPYC
 * (Zen 1) of session 24 with one, 2.18 with two and 2.13 with four (bench/generated_threads,
 * alternated). Each element's operations stay the same ones in the same order: the bytes do
 * not change. */
#define INTERLEAVE 4
static void interleave(emitter *e, LLVMValueRef branch) {
  LLVMMetadataRef self = LLVMTemporaryMDNode(e->context, NULL, 0);
  LLVMMetadataRef pair[2] = {LLVMMDStringInContext2(e->context, "llvm.loop.interleave.count", 26),
                             LLVMValueAsMetadata(LLVMConstInt(e->i32, INTERLEAVE, 0))};
  LLVMMetadataRef operands[2] = {self, LLVMMDNodeInContext2(e->context, pair, 2)};
  LLVMMetadataRef id = LLVMMDNodeInContext2(e->context, operands, 2);
  LLVMMetadataReplaceAllUsesWith(self, id);
  LLVMSetMetadata(branch, LLVMGetMDKindIDInContext(e->context, "llvm.loop", 9),
                  LLVMMetadataAsValue(e->context, id));
}

/* ---- the element body ---- */

static LLVMValueRef widen(emitter *e, LLVMValueRef value) {
  return e->compute == e->f32 ? value : LLVMBuildFPExt(e->b, value, e->compute, "");
}

static LLVMValueRef load(emitter *e, int input, LLVMValueRef index, LLVMValueRef channel) {
  ipro_kernel_input_kind kind = e->desc->inputs[input];
  LLVMTypeRef type = element_type(e, kind);
  LLVMValueRef at = kind == IPRO_KERNEL_CHANNEL ? channel : index;
  LLVMValueRef address = LLVMBuildInBoundsGEP2(e->b, type, e->inputs[input], &at, 1, "");
  LLVMValueRef value = LLVMBuildLoad2(e->b, type, address, "");
  LLVMSetAlignment(value, kind == IPRO_KERNEL_MASK ? 1 : kind == IPRO_KERNEL_LABEL ? 8 : 4);
  if (kind == IPRO_KERNEL_LABEL) return LLVMBuildSIToFP(e->b, value, e->compute, "");
  if (kind != IPRO_KERNEL_MASK) return widen(e, value);
  LLVMValueRef set = LLVMBuildICmp(e->b, LLVMIntNE, value, LLVMConstInt(e->i8, 0, 0), "");
  return LLVMBuildUIToFP(e->b, set, e->compute, "");
}

/* exp and log are float expansions; a double kernel rounds their argument to float. */
static LLVMValueRef float_math(emitter *e, LLVMValueRef (*function)(LLVMBuilderRef, LLVMValueRef),
                               LLVMValueRef x) {
  if (e->compute == e->f32) return function(e->b, x);
  LLVMValueRef narrow = LLVMBuildFPTrunc(e->b, x, e->f32, "");
  return LLVMBuildFPExt(e->b, function(e->b, narrow), e->compute, "");
}

static LLVMValueRef intrinsic(emitter *e, const char *name, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef args[2] = {a, b};
  return ipro_kernel_ir_intrinsic(e->b, e->module, name, e->compute, args, b ? 2 : 1);
}

/* ---- the counter-based uniform (IPRO_KERNEL_COUNTER_UNIFORM) ---- */

static LLVMValueRef xor_shift(emitter *e, LLVMValueRef x, unsigned shift) {
  return LLVMBuildXor(e->b, x, LLVMBuildLShr(e->b, x, LLVMConstInt(e->i64, shift, 0), ""), "");
}

/* splitmix64 (Steele, Lea, Flood), as runtime/reference/normalization.c writes it; every
 * operation wraps modulo 2^64. */
static LLVMValueRef splitmix64(emitter *e, LLVMValueRef x) {
  x = LLVMBuildAdd(e->b, x, LLVMConstInt(e->i64, 0x9E3779B97F4A7C15ull, 0), "");
  x = LLVMBuildMul(e->b, xor_shift(e, x, 30), LLVMConstInt(e->i64, 0xBF58476D1CE4E5B9ull, 0), "");
  x = LLVMBuildMul(e->b, xor_shift(e, x, 27), LLVMConstInt(e->i64, 0x94D049BB133111EBull, 0), "");
  return xor_shift(e, x, 31);
}

/* (top 24 bits of splitmix64(key ^ index)) · 2^-24, exact in float and double. */
static LLVMValueRef counter_uniform(emitter *e, LLVMValueRef key, LLVMValueRef index) {
  LLVMValueRef bits = splitmix64(e, LLVMBuildXor(e->b, key, index, ""));
  LLVMValueRef top = LLVMBuildLShr(e->b, bits, LLVMConstInt(e->i64, 40, 0), "");
  return LLVMBuildFMul(e->b, LLVMBuildUIToFP(e->b, top, e->compute, ""),
                       LLVMConstReal(e->compute, 1.0 / 16777216.0), "");
}

static LLVMValueRef emit_node(emitter *e, const ipro_kernel_node *node, LLVMValueRef *values,
                              LLVMValueRef index, LLVMValueRef channel) {
  LLVMValueRef a = node->operands[0] >= 0 ? values[node->operands[0]] : NULL;
  LLVMValueRef b = node->operands[1] >= 0 ? values[node->operands[1]] : NULL;
  LLVMValueRef then = node->operands[2] >= 0 ? values[node->operands[2]] : NULL;
  LLVMValueRef otherwise = node->operands[3] >= 0 ? values[node->operands[3]] : NULL;
  switch (node->op) {
  case IPRO_KERNEL_LOAD: return load(e, node->index, index, channel);
  case IPRO_KERNEL_PARAM: return e->params[node->index];
  case IPRO_KERNEL_CONSTANT: return LLVMConstReal(e->compute, node->value);
  case IPRO_KERNEL_ADD: return LLVMBuildFAdd(e->b, a, b, "");
  case IPRO_KERNEL_SUB: return LLVMBuildFSub(e->b, a, b, "");
  case IPRO_KERNEL_MUL: return LLVMBuildFMul(e->b, a, b, "");
  case IPRO_KERNEL_DIV: return LLVMBuildFDiv(e->b, a, b, "");
  case IPRO_KERNEL_MAX: return intrinsic(e, "llvm.maxnum", a, b);
  case IPRO_KERNEL_MIN: return intrinsic(e, "llvm.minnum", a, b);
  case IPRO_KERNEL_NEG: return LLVMBuildFNeg(e->b, a, "");
  case IPRO_KERNEL_ABS: return intrinsic(e, "llvm.fabs", a, NULL);
  case IPRO_KERNEL_SQRT: return intrinsic(e, "llvm.sqrt", a, NULL);
  case IPRO_KERNEL_EXP: return float_math(e, ipro_kernel_ir_exp, a);
  case IPRO_KERNEL_LOG: return float_math(e, ipro_kernel_ir_log, a);
  case IPRO_KERNEL_SELECT_GREATER:
  case IPRO_KERNEL_SELECT_NOT_EQUAL: {
    /* C's > is false and != is true when either side is NaN. */
    LLVMRealPredicate predicate =
        node->op == IPRO_KERNEL_SELECT_GREATER ? LLVMRealOGT : LLVMRealUNE;
    LLVMValueRef condition = LLVMBuildFCmp(e->b, predicate, a, b, "");
    return LLVMBuildSelect(e->b, condition, then, otherwise, "");
  }
  case IPRO_KERNEL_COUNTER_UNIFORM: return counter_uniform(e, e->counter_keys[node->index], index);
  default: return NULL; /* unreachable after ipro_kernel_desc_check */
  }
}

/* Every value of element `index` is computed before the first store, so an output written in
 * place never changes what another output of the same element reads. */
static void emit_element(emitter *e, LLVMValueRef index, LLVMValueRef channel) {
  const ipro_kernel_desc *desc = e->desc;
  bool used[IPRO_KERNEL_MAX_NODES] = {false};
  LLVMValueRef values[IPRO_KERNEL_MAX_NODES] = {NULL};
  for (int k = 0; k < desc->output_count; k++)
    used[desc->outputs[k]] = true;
  for (int n = desc->node_count - 1; n >= 0; n--)
    for (int i = 0; i < 4 && used[n]; i++)
      if (desc->nodes[n].operands[i] >= 0) used[desc->nodes[n].operands[i]] = true;
  for (int n = 0; n < desc->node_count; n++)
    if (used[n]) values[n] = emit_node(e, &desc->nodes[n], values, index, channel);
  for (int k = 0; k < desc->output_count; k++) {
    LLVMValueRef value = values[desc->outputs[k]];
    LLVMTypeRef type = element_type(e, desc->output_kinds[k]);
    if (desc->output_kinds[k] == IPRO_KERNEL_MASK) {
      /* C's conversion to bool: NaN is true (unordered or not equal) */
      LLVMValueRef zero = LLVMConstReal(e->compute, 0.0);
      value = LLVMBuildZExt(e->b, LLVMBuildFCmp(e->b, LLVMRealUNE, value, zero, ""), e->i8, "");
    } else if (e->compute != e->f32) {
      value = LLVMBuildFPTrunc(e->b, value, e->f32, "");
    }
    LLVMValueRef address = LLVMBuildInBoundsGEP2(e->b, type, e->outputs[k], &index, 1, "");
    LLVMSetAlignment(LLVMBuildStore(e->b, value, address), type == e->i8 ? 1 : 4);
  }
}

/* ---- the kernel function ---- */

/* Creates the function with the GPU parameter list and binds e->inputs, e->outputs and
 * e->params (loaded in the entry block). Returns the parameter index of `count`. */
static unsigned begin_kernel_function(emitter *e, const char *symbol) {
  const ipro_kernel_desc *desc = e->desc;
  LLVMTypeRef
      types[IPRO_KERNEL_MAX_INPUTS + IPRO_KERNEL_MAX_OUTPUTS + 4 + IPRO_KERNEL_MAX_INTEGERS];
  unsigned n = 0;
  for (int i = 0; i < desc->input_count; i++)
    types[n++] = LLVMPointerType(element_type(e, desc->inputs[i]), 0);
  for (int k = 0; k < desc->output_count; k++)
    if (desc->in_place[k] < 0)
      types[n++] = LLVMPointerType(element_type(e, desc->output_kinds[k]), 0);
  types[n++] = LLVMPointerType(e->f32, 0);
  unsigned count_index = n;
  types[n++] = e->i64, types[n++] = e->i64, types[n++] = e->i64;
  for (int j = 0; j < desc->integer_count; j++)
    types[n++] = e->i64;
  LLVMTypeRef type = LLVMFunctionType(LLVMVoidTypeInContext(e->context), types, n, 0);
  e->function = LLVMAddFunction(e->module, symbol, type);
  add_attribute(e, e->function, LLVMAttributeFunctionIndex, "nounwind");

  unsigned p = 0;
  for (int i = 0; i < desc->input_count; i++, p++) {
    e->inputs[i] = LLVMGetParam(e->function, p);
    add_attribute(e, e->function, p + 1, "noalias");
    add_attribute(e, e->function, p + 1, "nocapture");
    if (!written_in_place(desc, i)) add_attribute(e, e->function, p + 1, "readonly");
  }
  for (int k = 0; k < desc->output_count; k++) {
    if (desc->in_place[k] >= 0) {
      e->outputs[k] = e->inputs[desc->in_place[k]];
      continue;
    }
    e->outputs[k] = LLVMGetParam(e->function, p);
    add_attribute(e, e->function, p + 1, "noalias");
    add_attribute(e, e->function, p + 1, "nocapture");
    add_attribute(e, e->function, p + 1, "writeonly");
    p++;
  }
  LLVMValueRef params = LLVMGetParam(e->function, p);
  add_attribute(e, e->function, p + 1, "nocapture");
  add_attribute(e, e->function, p + 1, "readonly");

  LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->context, e->function, "entry"));
  for (int j = 0; j < desc->param_count; j++) {
    LLVMValueRef at = LLVMConstInt(e->i64, (unsigned long long)j, 0);
    LLVMValueRef value =
        LLVMBuildLoad2(e->b, e->f32, LLVMBuildInBoundsGEP2(e->b, e->f32, params, &at, 1, ""), "");
    LLVMSetAlignment(value, 4);
    e->params[j] = widen(e, value);
  }
  for (int n = 0; n < desc->node_count; n++) {
    int first = desc->nodes[n].index;
    if (desc->nodes[n].op != IPRO_KERNEL_COUNTER_UNIFORM || e->counter_keys[first]) continue;
    LLVMValueRef seed = LLVMGetParam(e->function, count_index + 3 + (unsigned)first);
    LLVMValueRef step = LLVMGetParam(e->function, count_index + 4 + (unsigned)first);
    e->counter_keys[first] = splitmix64(e, LLVMBuildXor(e->b, splitmix64(e, seed), step, ""));
  }
  return count_index;
}

/* Kernels with a channel input return at once when channels or inner is below 1. */
static void return_unless_positive(emitter *e, LLVMValueRef channels, LLVMValueRef inner) {
  LLVMValueRef one = LLVMConstInt(e->i64, 1, 0);
  LLVMValueRef valid = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, channels, one, ""),
                                    LLVMBuildICmp(e->b, LLVMIntSGE, inner, one, ""), "");
  LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(e->context, e->function, "");
  LLVMBasicBlockRef stop = LLVMAppendBasicBlockInContext(e->context, e->function, "");
  LLVMBuildCondBr(e->b, valid, go, stop);
  LLVMPositionBuilderAtEnd(e->b, stop);
  LLVMBuildRetVoid(e->b);
  LLVMPositionBuilderAtEnd(e->b, go);
}

static void emit_host_loops(emitter *e, LLVMValueRef count, LLVMValueRef channels,
                            LLVMValueRef inner) {
  LLVMValueRef zero = LLVMConstInt(e->i64, 0, 0), one = LLVMConstInt(e->i64, 1, 0);
  if (!has_channel_input(e->desc)) {
    loop element = loop_open(e, zero, count, "element");
    emit_element(e, element.index, NULL);
    interleave(e, loop_close(e, &element, one));
    return;
  }
  return_unless_positive(e, channels, inner);
  loop row = loop_open(e, zero, LLVMBuildSDiv(e->b, count, inner, ""), "row");
  LLVMValueRef channel = LLVMBuildSRem(e->b, row.index, channels, "channel");
  LLVMValueRef start = LLVMBuildNSWMul(e->b, row.index, inner, "");
  loop column = loop_open(e, zero, inner, "column");
  emit_element(e, LLVMBuildNSWAdd(e->b, start, column.index, ""), channel);
  interleave(e, loop_close(e, &column, one));
  loop_close(e, &row, one);
}

static LLVMValueRef special_register(emitter *e, const char *name) {
  LLVMValueRef value = ipro_kernel_ir_intrinsic(e->b, e->module, name, NULL, NULL, 0);
  return LLVMBuildZExt(e->b, value, e->i64, "");
}

static void emit_grid_stride_loop(emitter *e, LLVMValueRef count, LLVMValueRef channels,
                                  LLVMValueRef inner) {
  bool channel_input = has_channel_input(e->desc);
  if (channel_input) return_unless_positive(e, channels, inner);
  LLVMValueRef thread = special_register(e, "llvm.nvvm.read.ptx.sreg.tid.x");
  LLVMValueRef block = special_register(e, "llvm.nvvm.read.ptx.sreg.ctaid.x");
  LLVMValueRef block_size = special_register(e, "llvm.nvvm.read.ptx.sreg.ntid.x");
  LLVMValueRef grid_size = special_register(e, "llvm.nvvm.read.ptx.sreg.nctaid.x");
  LLVMValueRef start =
      LLVMBuildNUWAdd(e->b, LLVMBuildNUWMul(e->b, block, block_size, ""), thread, "");
  LLVMValueRef stride = LLVMBuildNUWMul(e->b, block_size, grid_size, "");
  loop element = loop_open(e, start, count, "element");
  LLVMValueRef channel = NULL;
  if (channel_input)
    channel =
        LLVMBuildURem(e->b, LLVMBuildUDiv(e->b, element.index, inner, ""), channels, "channel");
  emit_element(e, element.index, channel);
  loop_close(e, &element, stride);
}

static void mark_nvptx_kernel(emitter *e) {
  LLVMMetadataRef entry[3] = {LLVMValueAsMetadata(e->function),
                              LLVMMDStringInContext2(e->context, "kernel", 6),
                              LLVMValueAsMetadata(LLVMConstInt(e->i32, 1, 0))};
  LLVMAddNamedMetadataOperand(
      e->module, "nvvm.annotations",
      LLVMMetadataAsValue(e->context, LLVMMDNodeInContext2(e->context, entry, 3)));
}

/* array[slot], a void pointer, as a pointer to element. */
static LLVMValueRef unpack_pointer(emitter *e, LLVMValueRef array, int slot, LLVMTypeRef element) {
  LLVMTypeRef byte_pointer = LLVMPointerType(e->i8, 0);
  LLVMValueRef at = LLVMConstInt(e->i64, (unsigned long long)slot, 0);
  LLVMValueRef address = LLVMBuildInBoundsGEP2(e->b, byte_pointer, array, &at, 1, "");
  LLVMValueRef pointer = LLVMBuildLoad2(e->b, byte_pointer, address, "");
  return LLVMBuildBitCast(e->b, pointer, LLVMPointerType(element, 0), "");
}

/* The exported host function: unpacks the pointer arrays and calls the (inlined) kernel. */
static void emit_host_wrapper(emitter *e, const char *symbol, LLVMValueRef kernel) {
  const ipro_kernel_desc *desc = e->desc;
  LLVMTypeRef array = LLVMPointerType(LLVMPointerType(e->i8, 0), 0);
  LLVMTypeRef types[7] = {array,  array,  LLVMPointerType(e->f32, 0), e->i64,
                          e->i64, e->i64, LLVMPointerType(e->i64, 0)};
  LLVMTypeRef type = LLVMFunctionType(LLVMVoidTypeInContext(e->context), types, 7, 0);
  LLVMValueRef wrapper = LLVMAddFunction(e->module, symbol, type);
  add_attribute(e, wrapper, LLVMAttributeFunctionIndex, "nounwind");
  LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->context, wrapper, "entry"));

  LLVMValueRef
      args[IPRO_KERNEL_MAX_INPUTS + IPRO_KERNEL_MAX_OUTPUTS + 4 + IPRO_KERNEL_MAX_INTEGERS];
  unsigned n = 0;
  for (int i = 0; i < desc->input_count; i++)
    args[n++] = unpack_pointer(e, LLVMGetParam(wrapper, 0), i, element_type(e, desc->inputs[i]));
  for (int k = 0; k < desc->output_count; k++)
    if (desc->in_place[k] < 0)
      args[n++] =
          unpack_pointer(e, LLVMGetParam(wrapper, 1), k, element_type(e, desc->output_kinds[k]));
  for (unsigned i = 2; i < 6; i++)
    args[n++] = LLVMGetParam(wrapper, i);
  for (int j = 0; j < desc->integer_count; j++) {
    LLVMValueRef at = LLVMConstInt(e->i64, (unsigned long long)j, 0);
    LLVMValueRef address =
        LLVMBuildInBoundsGEP2(e->b, e->i64, LLVMGetParam(wrapper, 6), &at, 1, "");
    LLVMValueRef value = LLVMBuildLoad2(e->b, e->i64, address, "");
    LLVMSetAlignment(value, 8);
    args[n++] = value;
  }
  LLVMBuildCall2(e->b, LLVMGlobalGetValueType(kernel), kernel, args, n, "");
  LLVMBuildRetVoid(e->b);
}

void ipro_kernel_ir_add(LLVMModuleRef module, const ipro_kernel_desc *desc,
                        ipro_kernel_target target, const char *symbol) {
  emitter e = {.module = module, .desc = desc, .context = LLVMGetModuleContext(module)};
  e.b = LLVMCreateBuilderInContext(e.context);
  e.f32 = LLVMFloatTypeInContext(e.context);
  e.compute = desc->precision == IPRO_KERNEL_DOUBLE ? LLVMDoubleTypeInContext(e.context) : e.f32;
  e.i8 = LLVMInt8TypeInContext(e.context);
  e.i32 = LLVMInt32TypeInContext(e.context);
  e.i64 = LLVMInt64TypeInContext(e.context);

  char body_name[160];
  snprintf(body_name, sizeof body_name, "%s.body", symbol);
  unsigned count_index =
      begin_kernel_function(&e, target == IPRO_KERNEL_TARGET_HOST ? body_name : symbol);
  LLVMValueRef count = LLVMGetParam(e.function, count_index);
  LLVMValueRef channels = LLVMGetParam(e.function, count_index + 1);
  LLVMValueRef inner = LLVMGetParam(e.function, count_index + 2);
  if (target == IPRO_KERNEL_TARGET_HOST) {
    emit_host_loops(&e, count, channels, inner);
  } else {
    emit_grid_stride_loop(&e, count, channels, inner);
  }
  LLVMBuildRetVoid(e.b);

  if (target == IPRO_KERNEL_TARGET_HOST) {
    LLVMSetLinkage(e.function, LLVMInternalLinkage);
    add_attribute(&e, e.function, LLVMAttributeFunctionIndex, "alwaysinline");
    emit_host_wrapper(&e, symbol, e.function);
  } else {
    mark_nvptx_kernel(&e);
  }
  LLVMDisposeBuilder(e.b);
}
