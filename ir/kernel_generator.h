/* The kernel generator: element-wise kernels described once, as a small expression over the
 * values of N input tensors at one element, and compiled through the LLVM C API for two targets
 * from the same IR builder:
 *
 *  - the host (x86-64): an object file made for this machine's CPU and linked in-process by LLJIT
 *    (ipro_kernel_jit_compile), or made for a named CPU for a standalone binary
 *    (ipro_kernel_emit_host_object);
 *  - NVIDIA GPUs: PTX text for sm_80, PTX ISA 7.5 (ipro_kernel_emit_ptx), which the CUDA backend
 *    loads with cudaLibraryLoadData and cudaLibraryGetKernel.
 *
 * A description is plain data (no allocation, no LLVM types), built with the functions below and
 * kept by value; kernel_library.h describes the kernels the training programs use. The reference
 * kernels stay the oracle: the generated host kernels are tested against them, and every
 * generated PTX is assembled by ptxas in the tests.
 *
 * Calling conventions
 *
 * Host: ipro_kernel_host_fn, over elements [0, count) of row-major tensors:
 *     void k(const void *const *inputs, void *const *outputs, const float *params,
 *            int64_t count, int64_t channels, int64_t inner, const uint64_t *integers);
 * GPU (one .entry per kernel, named as the description; any grid, a grid-stride loop inside):
 *     k(in_0, ..., in_{I-1}, out_0, ..., out_{J-1}, const float *params,
 *       int64_t count, int64_t channels, int64_t inner, uint64_t integer_0, ...,
 *       uint64_t integer_{K-1})
 * where out_0.. are the outputs that are not written in place and K is the description's
 * integer_count: integer parameters (a random stream's seed and step) come as an array on the host
 * and by value on the GPU, where a by-value argument needs no device memory and can change from
 * one launch to the next; kernels without them (K = 0) take no GPU argument after `inner`, and
 * integers may be NULL on the host. The element index a node such as COUNTER_UNIFORM reads is the
 * position in [0, count) on both targets, so a host caller that splits a kernel with integers into
 * pieces by offsetting pointers would change its values. An element input holds `count`
 * values; a channel input holds `channels` values and element i reads the one at channel
 * (i / inner) % channels (NCHW: inner = H·W, count = N·channels·inner); channels and inner are
 * read only by kernels that have a channel input, which do nothing when either is below 1. An
 * output written in place over input j goes through input j's pointer (outputs[k] is not read on
 * the host, and has no GPU parameter). An output is float32, or a mask: one byte per element (C
 * bool), 1 where the value is not 0. Buffers must not overlap otherwise: the generated code
 * assumes they do not, which is what lets it vectorise. */
#ifndef IPRO_KERNEL_GENERATOR_H
#define IPRO_KERNEL_GENERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "ir/error.h"

#define IPRO_KERNEL_MAX_INPUTS 6
#define IPRO_KERNEL_MAX_OUTPUTS 3
#define IPRO_KERNEL_MAX_PARAMS 8
#define IPRO_KERNEL_MAX_INTEGERS 2
#define IPRO_KERNEL_MAX_NODES 96
#define IPRO_KERNEL_NAME_SIZE 48

typedef enum {
  IPRO_KERNEL_LOAD,     /* index: the value of input `index` at this element (or its channel) */
  IPRO_KERNEL_PARAM,    /* index: params[index], the same for every element */
  IPRO_KERNEL_CONSTANT, /* value */
  IPRO_KERNEL_ADD,
  IPRO_KERNEL_SUB,
  IPRO_KERNEL_MUL,
  IPRO_KERNEL_DIV,
  IPRO_KERNEL_MAX, /* C's fmax and fmin: a NaN operand loses */
  IPRO_KERNEL_MIN,
  IPRO_KERNEL_NEG,
  IPRO_KERNEL_ABS,
  IPRO_KERNEL_SQRT,
  IPRO_KERNEL_EXP, /* exp and log are expanded inline in float (kernel_math.c), ~1 ulp */
  IPRO_KERNEL_LOG,
  IPRO_KERNEL_SELECT_GREATER,   /* operands a, b, c, d: a > b ? c : d */
  IPRO_KERNEL_SELECT_NOT_EQUAL, /* a != b ? c : d */
  /* index: the first of two integer parameters, seed and step. The value is
   * ipro_reference_dropout_uniform(seed, step, element index) (runtime/reference/): the top 24 bits
   * of splitmix64(splitmix64(splitmix64(seed) ^ step) ^ index) times 2^-24, a uniform value in
   * [0, 1) that is exact in float, so that a mask drawn on either target is the reference's. */
  IPRO_KERNEL_COUNTER_UNIFORM,
  IPRO_KERNEL_OP_COUNT
} ipro_kernel_op;

/* What an input holds (see the calling conventions above). A mask input holds one byte per
 * element (C bool) and loads as 0 or 1; a label input holds one int64 per element (class labels)
 * and loads as its value, exact below 2^24. */
typedef enum {
  IPRO_KERNEL_ELEMENT,
  IPRO_KERNEL_CHANNEL,
  IPRO_KERNEL_MASK,
  IPRO_KERNEL_LABEL
} ipro_kernel_input_kind;

/* The type the expression is evaluated in. Inputs and outputs are float32 either way; DOUBLE
 * widens every loaded value and rounds once per stored one, as the reference kernels do. */
typedef enum { IPRO_KERNEL_FLOAT, IPRO_KERNEL_DOUBLE } ipro_kernel_precision;

typedef struct {
  ipro_kernel_op op;
  int operands[4]; /* node indices, all lower than this node's own */
  int index;       /* LOAD: input; PARAM: parameter; COUNTER_UNIFORM: first integer parameter */
  double value;    /* CONSTANT */
} ipro_kernel_node;

typedef struct {
  char name[IPRO_KERNEL_NAME_SIZE]; /* a C identifier: the host symbol and the PTX .entry */
  ipro_kernel_precision precision;
  int input_count;
  ipro_kernel_input_kind inputs[IPRO_KERNEL_MAX_INPUTS];
  int param_count;   /* one more than the highest PARAM index */
  int integer_count; /* one more than the highest integer parameter a node reads */
  int output_count;
  int outputs[IPRO_KERNEL_MAX_OUTPUTS]; /* the node stored into each output */
  /* IPRO_KERNEL_ELEMENT (float32) or IPRO_KERNEL_MASK (bool bytes); masks are never in place */
  ipro_kernel_input_kind output_kinds[IPRO_KERNEL_MAX_OUTPUTS];
  int in_place[IPRO_KERNEL_MAX_OUTPUTS]; /* the input it overwrites, or -1 */
  int node_count;
  ipro_kernel_node nodes[IPRO_KERNEL_MAX_NODES];
} ipro_kernel_desc;

/* ---- building a description (kernel_generator.c) ----
 * The builders return the new input's or node's index. A description is written by the
 * compiler's own code, so overflowing the fixed capacities is a programming error (assert);
 * ipro_kernel_desc_check reports anything else that would make the description unusable. */
void ipro_kernel_desc_init(ipro_kernel_desc *desc, const char *name,
                           ipro_kernel_precision precision);
int ipro_kernel_add_input(ipro_kernel_desc *desc, ipro_kernel_input_kind kind);
int ipro_kernel_load(ipro_kernel_desc *desc, int input);
int ipro_kernel_param(ipro_kernel_desc *desc, int index);
int ipro_kernel_constant(ipro_kernel_desc *desc, double value);
/* The counter-based uniform value of this element (IPRO_KERNEL_COUNTER_UNIFORM), from integer
 * parameters first_integer (seed) and first_integer + 1 (step). */
int ipro_kernel_counter_uniform(ipro_kernel_desc *desc, int first_integer);
int ipro_kernel_unary(ipro_kernel_desc *desc, ipro_kernel_op op, int a);
int ipro_kernel_binary(ipro_kernel_desc *desc, ipro_kernel_op op, int a, int b);
int ipro_kernel_select(ipro_kernel_desc *desc, ipro_kernel_op op, int a, int b, int then,
                       int otherwise);
/* 1 / (1 + exp(−x)), evaluated as exp(−|x|) so that it never overflows. */
int ipro_kernel_sigmoid(ipro_kernel_desc *desc, int x);
/* max(x, 0) with the reference's choice at NaN (x > 0 ? x : 0). */
int ipro_kernel_relu(ipro_kernel_desc *desc, int x);
void ipro_kernel_add_output(ipro_kernel_desc *desc, int node);
void ipro_kernel_add_output_in_place(ipro_kernel_desc *desc, int node, int input);
/* A mask output: one byte per element, 1 where the node's value is not 0 (C's conversion to
 * bool, NaN included). */
void ipro_kernel_add_mask_output(ipro_kernel_desc *desc, int node);
ipro_status ipro_kernel_desc_check(const ipro_kernel_desc *desc, ipro_error *err);

/* ---- compiling (kernel_targets.c) ---- */

typedef void (*ipro_kernel_host_fn)(const void *const *inputs, void *const *outputs,
                                    const float *params, int64_t count, int64_t channels,
                                    int64_t inner, const uint64_t *integers);

/* An in-process linker for host kernels. The functions it returns live until it is destroyed. */
typedef struct ipro_kernel_jit ipro_kernel_jit;

ipro_status ipro_kernel_jit_create(ipro_kernel_jit **out, ipro_error *err);
/* Generates, optimises (O3, this machine's CPU) and links the kernel; *out is its entry. */
ipro_status ipro_kernel_jit_compile(ipro_kernel_jit *jit, const ipro_kernel_desc *desc,
                                    ipro_kernel_host_fn *out, ipro_error *err);
void ipro_kernel_jit_destroy(ipro_kernel_jit *jit);

/* One x86-64 ELF object holding the host functions of the kernels, each under its name; cpu is an
 * LLVM CPU name ("x86-64-v3") or NULL for this machine's. *bytes is malloc'd, the caller frees. */
ipro_status ipro_kernel_emit_host_object(const ipro_kernel_desc *descs, int count, const char *cpu,
                                         void **bytes, size_t *size, ipro_error *err);
/* One PTX module (sm_80, ISA 7.5) holding the kernels, each an .entry under its name.
 * *ptx is a malloc'd NUL-terminated string; *size excludes the NUL. */
ipro_status ipro_kernel_emit_ptx(const ipro_kernel_desc *descs, int count, char **ptx, size_t *size,
                                 ipro_error *err);

#endif
