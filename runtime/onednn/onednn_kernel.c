/* The oneDNN kernel object (see onednn_internal.h): steps of primitives with memory objects made
 * at prepare time and bound to the program's pointers at run time, plus the helpers the op files
 * use to build them (checked dnnl calls, plain memory descriptors, scratchpad bookkeeping). */
#include <dnnl_debug.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/memory_plan.h"
#include "onednn_internal.h"

ipro_status ipro_onednn_check(dnnl_status_t status, const char *file, int line, const char *call,
                              ipro_error *err) {
  if (status == dnnl_success) return IPRO_OK;
  /* The call's function name is enough to find it at file:line. */
  int name_length = (int)strcspn(call, "(");
  return ipro_error_set(err, "%s:%d: %.*s failed: %s", file, line, name_length, call,
                        dnnl_status2str(status));
}

const ipro_onednn_argument ipro_onednn_weighted_arguments[3] = {
    {DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0},
    {DNNL_ARG_WEIGHTS, IPRO_ONEDNN_INPUT, 1},
    {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0},
};

ipro_status ipro_onednn_unsupported(ipro_error *err, const char *format, ...) {
  char detail[900];
  va_list args;
  va_start(args, format);
  vsnprintf(detail, sizeof detail, format, args);
  va_end(args);
  return ipro_error_set(err, "unsupported: %s", detail);
}

static ipro_status concrete_shape(const ipro_graph *graph, const ipro_tensor *tensor,
                                  const char *what, int i, ipro_shape *shape, ipro_error *err) {
  if (!tensor) return ipro_onednn_unsupported(err, "%s %d is absent", what, i);
  *shape = tensor->shape;
  if (graph->batch > 0) ipro_shape_bind_batch(shape, graph->batch);
  if (ipro_shape_elements(shape) < 0)
    return ipro_onednn_unsupported(err, "%s '%s' has no concrete shape", what, tensor->name);
  return IPRO_OK;
}

ipro_status ipro_onednn_input_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                    ipro_shape *shape, ipro_error *err) {
  return concrete_shape(graph, ipro_node_input(graph, node, i), "input", i, shape, err);
}

ipro_status ipro_onednn_output_shape(const ipro_graph *graph, const ipro_node *node, int i,
                                     ipro_shape *shape, ipro_error *err) {
  return concrete_shape(graph, ipro_node_output(graph, node, i), "output", i, shape, err);
}

static ipro_status read_ints(const ipro_node *node, const char *name, int count, int64_t fallback,
                             int64_t minimum, int64_t *values, ipro_error *err) {
  int found = 0;
  const int64_t *attr = ipro_node_attr_ints(node, name, &found);
  for (int i = 0; i < count; i++)
    values[i] = fallback;
  if (!attr) return IPRO_OK;
  if (found != count)
    return ipro_onednn_unsupported(err, "attribute %s has %d values; %d expected", name, found,
                                   count);
  for (int i = 0; i < count; i++) {
    if (attr[i] < minimum)
      return ipro_onednn_unsupported(err, "attribute %s has the value %lld", name,
                                     (long long)attr[i]);
    values[i] = attr[i];
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_read_window(const ipro_node *node, int spatial, dnnl_dims_t strides,
                                    dnnl_dims_t dilations, dnnl_dims_t pads_begin,
                                    dnnl_dims_t pads_end, ipro_error *err) {
  int64_t pads[2 * DNNL_MAX_NDIMS];
  if (spatial < 1 || spatial > 3)
    return ipro_onednn_unsupported(err, "%d spatial dimensions (1 to 3 supported)", spatial);
  if (read_ints(node, "strides", spatial, 1, 1, strides, err) ||
      read_ints(node, "dilations", spatial, 1, 1, dilations, err) ||
      read_ints(node, "pads", 2 * spatial, 0, 0, pads, err))
    return IPRO_ERROR;
  const char *auto_pad = ipro_node_attr_string(node, "auto_pad", "NOTSET");
  if (strcmp(auto_pad, "NOTSET") != 0)
    return ipro_onednn_unsupported(err, "auto_pad %s was not resolved into pads", auto_pad);
  for (int s = 0; s < spatial; s++) {
    dilations[s] -= 1;
    pads_begin[s] = pads[s];
    pads_end[s] = pads[spatial + s];
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_plain_md(dnnl_memory_desc_t *md, int rank, const int64_t *dims,
                                 ipro_error *err) {
  dnnl_dims_t md_dims = {1}, strides = {1};
  if (rank > DNNL_MAX_NDIMS) return ipro_onednn_unsupported(err, "rank %d is too large", rank);
  int md_rank = rank > 0 ? rank : 1;
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; d--) {
    if (dims[d] <= 0)
      return ipro_onednn_unsupported(err, "a dimension of size %lld", (long long)dims[d]);
    md_dims[d] = dims[d];
    strides[d] = stride;
    stride *= dims[d];
  }
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_strides(md, md_rank, md_dims, dnnl_f32, strides));
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_attr_create(dnnl_primitive_attr_t *attr, ipro_error *err) {
  *attr = NULL;
  IPRO_ONEDNN_CHECK(dnnl_primitive_attr_create(attr));
  IPRO_ONEDNN_CHECK(dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user));
  return IPRO_OK;
fail:
  if (*attr) dnnl_primitive_attr_destroy(*attr);
  *attr = NULL;
  return IPRO_ERROR;
}

size_t ipro_onednn_reserve(ipro_onednn_kernel *kernel, size_t bytes) {
  size_t offset = kernel->intermediate_bytes;
  kernel->intermediate_bytes += ipro_memory_aligned(bytes, IPRO_ARENA_ALIGNMENT);
  return offset;
}

/* Whether a run may make the binding's memory object from the primitive's own descriptor of arg
 * (onednn_internal.h, ipro_onednn_binding): md is that descriptor, unpadded, with no extra. */
static bool made_per_run(const ipro_onednn_step *step, const dnnl_memory_desc_t *md, int arg) {
  const_dnnl_primitive_desc_t pd = NULL;
  if (!step->primitive || dnnl_primitive_get_primitive_desc(step->primitive, &pd) != dnnl_success)
    return false;
  const dnnl_memory_desc_t *own = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
  if (!own || !dnnl_memory_desc_equal(own, md) || md->format_kind != dnnl_blocked ||
      md->extra.flags != 0)
    return false;
  for (int d = 0; d < md->ndims; d++)
    if (md->padded_dims[d] != md->dims[d] || md->padded_offsets[d] != 0) return false;
  return true;
}

ipro_status ipro_onednn_bind_md(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *md, int arg,
                                ipro_onednn_source source, size_t index, ipro_error *err) {
  if (kernel->n_steps == 0) return ipro_error_set(err, "binding an argument before any step");
  ipro_onednn_step *step = &kernel->steps[kernel->n_steps - 1];
  /* a step has a few arguments, bound once: the array grows by one, to hold no room */
  ipro_onednn_binding *bindings =
      realloc(step->bindings, (size_t)(step->n_args + 1) * sizeof *bindings);
  if (!bindings) return ipro_error_set(err, "out of memory");
  step->bindings = bindings;
  ipro_onednn_binding *binding = &step->bindings[step->n_args];
  memset(binding, 0, sizeof *binding);
  if (source == IPRO_ONEDNN_INPUT && kernel->staged_input && index < IPRO_ONEDNN_MAX_INPUTS &&
      kernel->staged_input[index] != IPRO_ONEDNN_NOT_STAGED) {
    source = IPRO_ONEDNN_INTERMEDIATE;
    index = kernel->staged_input[index];
  }
  binding->source = source;
  binding->arg = arg;
  if (source == IPRO_ONEDNN_INTERMEDIATE)
    binding->offset = index;
  else
    binding->index = (int)index;
  if (!made_per_run(step, md, arg))
    IPRO_ONEDNN_CHECK(dnnl_memory_create(&binding->memory, md, kernel->engine, DNNL_MEMORY_NONE));
  step->n_args++;
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_bind(ipro_onednn_kernel *kernel, const_dnnl_primitive_desc_t pd, int arg,
                             ipro_onednn_source source, size_t index, ipro_error *err) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
  if (!md || md->ndims == 0) return ipro_error_set(err, "the primitive has no argument %d", arg);
  return ipro_onednn_bind_md(kernel, md, arg, source, index, err);
}

/* The kernel's next step, zeroed (steps are few: the array grows one at a time). */
static ipro_onednn_step *next_step(ipro_onednn_kernel *kernel, ipro_error *err) {
  if (kernel->n_steps == IPRO_ONEDNN_MAX_STEPS) {
    ipro_error_set(err, "more than %d steps in one kernel", IPRO_ONEDNN_MAX_STEPS);
    return NULL;
  }
  ipro_onednn_step *steps = realloc(kernel->steps, (size_t)(kernel->n_steps + 1) * sizeof *steps);
  if (!steps) {
    ipro_error_set(err, "out of memory");
    return NULL;
  }
  kernel->steps = steps;
  memset(&steps[kernel->n_steps], 0, sizeof *steps);
  return &steps[kernel->n_steps];
}

ipro_status ipro_onednn_add_loop_step(ipro_onednn_kernel *kernel, ipro_onednn_loop_fn loop,
                                      ipro_error *err) {
  ipro_onednn_step *step = next_step(kernel, err);
  if (!step) return IPRO_ERROR;
  step->loop = loop;
  kernel->n_steps++;
  return IPRO_OK;
}

void *ipro_onednn_state_create(ipro_onednn_kernel *kernel, size_t bytes, ipro_error *err) {
  free(kernel->state);
  kernel->state = calloc(1, bytes ? bytes : 1);
  if (!kernel->state) ipro_error_set(err, "out of memory");
  return kernel->state;
}

bool ipro_onednn_switched_off(const char *name) {
  const char *value = getenv(name);
  return value && strcmp(value, "0") == 0;
}

bool ipro_onednn_switched_on(const char *name) {
  const char *value = getenv(name);
  return value && strcmp(value, "1") == 0;
}

size_t ipro_onednn_scratchpad_bytes(const_dnnl_primitive_desc_t pd) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  return md ? dnnl_memory_desc_get_size(md) : 0;
}

/* oneDNN's gemm-based implementations (what its matrix products, inner products and some
 * convolutions are on a CPU without AVX-512: "gemm:jit") share JIT kernels that the library
 * generates, about 1 MB on the heap, the first time a product runs, so in the first training step
 * where nothing planned it. One small product run as soon as such a primitive is made brings them
 * in with the primitives they serve (what the memory report counts as programs and primitives);
 * once per process, as the library keeps them. A 1x1x1 product leaves most of them out. */
static void generate_gemm_kernels(void) {
  enum { SIDE = 64 };
  static float a[SIDE * SIDE], b[SIDE * SIDE], c[SIDE * SIDE];
  dnnl_sgemm('N', 'N', SIDE, SIDE, SIDE, 1.0f, a, SIDE, b, SIDE, 0.0f, c, SIDE);
}

static void generate_gemm_kernels_for(const_dnnl_primitive_desc_t pd) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  const char *name = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success && name &&
      strncmp(name, "gemm:", 5) == 0)
    pthread_once(&once, generate_gemm_kernels);
}

ipro_status ipro_onednn_add_step(ipro_onednn_kernel *kernel, const_dnnl_primitive_desc_t pd,
                                 ipro_error *err) {
  ipro_onednn_step *step = next_step(kernel, err);
  if (!step) return IPRO_ERROR;
  IPRO_ONEDNN_CHECK(dnnl_primitive_create(&step->primitive, pd));
  generate_gemm_kernels_for(pd);
  kernel->n_steps++;
  size_t bytes = ipro_onednn_scratchpad_bytes(pd);
  if (bytes > 0) {
    const dnnl_memory_desc_t *scratchpad =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (bytes > kernel->scratchpad_bytes) kernel->scratchpad_bytes = bytes;
    if (ipro_onednn_bind_md(kernel, scratchpad, DNNL_ARG_SCRATCHPAD, IPRO_ONEDNN_SCRATCHPAD, 0,
                            err) != IPRO_OK)
      return IPRO_ERROR;
  }
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_describe(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                 dnnl_primitive_attr_t attr, const_dnnl_primitive_desc_t hint,
                                 dnnl_primitive_desc_t *pd, ipro_error *err) {
  *pd = NULL;
  dnnl_primitive_attr_t own = NULL;
  if (!attr) {
    if (ipro_onednn_attr_create(&own, err) != IPRO_OK) return IPRO_ERROR;
    attr = own;
  } else {
    IPRO_ONEDNN_CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
  }
  IPRO_ONEDNN_CHECK(dnnl_primitive_desc_create(pd, desc, attr, kernel->engine, hint));
  if (own) dnnl_primitive_attr_destroy(own);
  return IPRO_OK;
fail:
  if (own) dnnl_primitive_attr_destroy(own);
  return IPRO_ERROR;
}

bool ipro_onednn_reference_only(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                const_dnnl_primitive_desc_t hint) {
  dnnl_primitive_desc_t pd = NULL;
  ipro_error err;
  if (ipro_onednn_describe(kernel, desc, NULL, hint, &pd, &err)) return false;
  const char *name = NULL;
  bool reference =
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success && name &&
      strncmp(name, "ref", 3) == 0;
  dnnl_primitive_desc_destroy(pd);
  return reference;
}

/* describe, then add the pd as the next step. */
static ipro_status create_step_pd(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                  dnnl_primitive_attr_t attr, const_dnnl_primitive_desc_t hint,
                                  dnnl_primitive_desc_t *pd, ipro_error *err) {
  if (ipro_onednn_describe(kernel, desc, attr, hint, pd, err)) return IPRO_ERROR;
  if (ipro_onednn_add_step(kernel, *pd, err) == IPRO_OK) return IPRO_OK;
  dnnl_primitive_desc_destroy(*pd);
  *pd = NULL;
  return IPRO_ERROR;
}

ipro_status ipro_onednn_create_pd(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                  dnnl_primitive_attr_t attr, dnnl_primitive_desc_t *pd,
                                  ipro_error *err) {
  return create_step_pd(kernel, desc, attr, NULL, pd, err);
}

ipro_status ipro_onednn_create_backward_pd(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                           const_dnnl_primitive_desc_t hint,
                                           dnnl_primitive_desc_t *pd, ipro_error *err) {
  return create_step_pd(kernel, desc, NULL, hint, pd, err);
}

ipro_status ipro_onednn_add_bound_step(ipro_onednn_kernel *kernel, const_dnnl_primitive_desc_t pd,
                                       const ipro_onednn_argument *arguments, int count,
                                       ipro_error *err) {
  if (ipro_onednn_add_step(kernel, pd, err)) return IPRO_ERROR;
  for (int i = 0; i < count; i++)
    if (ipro_onednn_bind(kernel, pd, arguments[i].arg, arguments[i].source, arguments[i].index,
                         err))
      return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_onednn_primitive_step(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                       dnnl_primitive_attr_t attr, const_dnnl_primitive_desc_t hint,
                                       const ipro_onednn_argument *arguments, int count,
                                       ipro_error *err) {
  dnnl_primitive_desc_t pd = NULL;
  if (ipro_onednn_describe(kernel, desc, attr, hint, &pd, err)) return IPRO_ERROR;
  ipro_status status = ipro_onednn_add_bound_step(kernel, pd, arguments, count, err);
  dnnl_primitive_desc_destroy(pd);
  return status;
}

ipro_status ipro_onednn_forward_step(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                     ipro_error *err) {
  static const ipro_onednn_argument arguments[] = {
      {DNNL_ARG_SRC, IPRO_ONEDNN_INPUT, 0},
      {DNNL_ARG_DST, IPRO_ONEDNN_OUTPUT, 0},
  };
  return ipro_onednn_primitive_step(kernel, desc, NULL, NULL, arguments, 2, err);
}

ipro_status ipro_onednn_backward_step(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t forward,
                                      const_dnnl_op_desc_t desc,
                                      const ipro_onednn_argument *arguments, int count,
                                      ipro_error *err) {
  dnnl_primitive_desc_t hint = NULL;
  if (ipro_onednn_describe(kernel, forward, NULL, NULL, &hint, err)) return IPRO_ERROR;
  ipro_status status = ipro_onednn_primitive_step(kernel, desc, NULL, hint, arguments, count, err);
  dnnl_primitive_desc_destroy(hint);
  return status;
}

ipro_status ipro_onednn_sum_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *md,
                                 int count, const float *scales,
                                 const ipro_onednn_argument *arguments, ipro_error *err) {
  enum { MAX_SOURCES = 64 };
  if (count < 1 || count > MAX_SOURCES) return ipro_error_set(err, "%d sources for one sum", count);
  dnnl_memory_desc_t sources[MAX_SOURCES];
  for (int i = 0; i < count; i++)
    sources[i] = *md;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  if (ipro_onednn_attr_create(&attr, err)) return IPRO_ERROR;
  IPRO_ONEDNN_CHECK(
      dnnl_sum_primitive_desc_create(&pd, md, count, scales, sources, attr, kernel->engine));
  if (ipro_onednn_add_bound_step(kernel, pd, arguments, count + 1, err)) goto fail;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return IPRO_ERROR;
}

ipro_status ipro_onednn_reorder_step(ipro_onednn_kernel *kernel, const dnnl_memory_desc_t *from,
                                     ipro_onednn_source from_source, size_t from_index,
                                     const dnnl_memory_desc_t *to, ipro_onednn_source to_source,
                                     size_t to_index, ipro_error *err) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  if (ipro_onednn_attr_create(&attr, err)) return IPRO_ERROR;
  IPRO_ONEDNN_CHECK(
      dnnl_reorder_primitive_desc_create(&pd, from, kernel->engine, to, kernel->engine, attr));
  if (ipro_onednn_add_step(kernel, pd, err) ||
      ipro_onednn_bind_md(kernel, from, DNNL_ARG_FROM, from_source, from_index, err) ||
      ipro_onednn_bind_md(kernel, to, DNNL_ARG_TO, to_source, to_index, err))
    goto fail;
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
  return IPRO_OK;
fail:
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return IPRO_ERROR;
}

ipro_status ipro_onednn_add_step_in_layouts(ipro_onednn_kernel *kernel,
                                            const_dnnl_primitive_desc_t pd,
                                            const ipro_onednn_operand *operands, int count,
                                            ipro_error *err) {
  enum { MAX_OPERANDS = 16 };
  const dnnl_memory_desc_t *expected[MAX_OPERANDS];
  size_t staged[MAX_OPERANDS];
  if (count > MAX_OPERANDS) return ipro_error_set(err, "%d operands for one step", count);
  for (int i = 0; i < count; i++) {
    const ipro_onednn_operand *o = &operands[i];
    expected[i] = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, o->arg);
    if (!expected[i] || expected[i]->ndims == 0)
      return ipro_error_set(err, "the primitive has no argument %d", o->arg);
    if (dnnl_memory_desc_equal(expected[i], o->layout)) continue;
    staged[i] = ipro_onednn_reserve(kernel, dnnl_memory_desc_get_size(expected[i]));
    if (!o->output && ipro_onednn_reorder_step(kernel, o->layout, o->source, o->index, expected[i],
                                               IPRO_ONEDNN_INTERMEDIATE, staged[i], err))
      return IPRO_ERROR;
  }
  if (ipro_onednn_add_step(kernel, pd, err)) return IPRO_ERROR;
  for (int i = 0; i < count; i++) {
    const ipro_onednn_operand *o = &operands[i];
    bool direct = dnnl_memory_desc_equal(expected[i], o->layout);
    if (ipro_onednn_bind_md(kernel, expected[i], o->arg,
                            direct ? o->source : IPRO_ONEDNN_INTERMEDIATE,
                            direct ? o->index : staged[i], err))
      return IPRO_ERROR;
  }
  for (int i = 0; i < count; i++) {
    const ipro_onednn_operand *o = &operands[i];
    if (o->output && !dnnl_memory_desc_equal(expected[i], o->layout) &&
        ipro_onednn_reorder_step(kernel, expected[i], IPRO_ONEDNN_INTERMEDIATE, staged[i],
                                 o->layout, o->source, o->index, err))
      return IPRO_ERROR;
  }
  return IPRO_OK;
}

ipro_status ipro_onednn_layouts_step(ipro_onednn_kernel *kernel, const_dnnl_op_desc_t desc,
                                     const_dnnl_primitive_desc_t hint,
                                     const ipro_onednn_operand *operands, int count,
                                     ipro_error *err) {
  dnnl_primitive_desc_t pd = NULL;
  if (ipro_onednn_describe(kernel, desc, NULL, hint, &pd, err)) return IPRO_ERROR;
  ipro_status status = ipro_onednn_add_step_in_layouts(kernel, pd, operands, count, err);
  dnnl_primitive_desc_destroy(pd);
  return status;
}

ipro_status ipro_onednn_any_md(const dnnl_memory_desc_t *plain, dnnl_memory_desc_t *any,
                               ipro_error *err) {
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_tag(any, plain->ndims, plain->dims, plain->data_type,
                                                 dnnl_format_tag_any));
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

int ipro_onednn_channel_block(void) {
  static const unsigned avx512 = dnnl_cpu_isa_avx512_core;
  return ((unsigned)dnnl_get_effective_cpu_isa() & avx512) == avx512 ? 16 : 8;
}

ipro_status ipro_onednn_channel_blocked_md(const dnnl_memory_desc_t *plain,
                                           dnnl_memory_desc_t *blocked, ipro_error *err) {
  static const dnnl_format_tag_t tags16[6] = {0, 0, 0, dnnl_nCw16c, dnnl_nChw16c, dnnl_nCdhw16c};
  static const dnnl_format_tag_t tags8[6] = {0, 0, 0, dnnl_nCw8c, dnnl_nChw8c, dnnl_nCdhw8c};
  *blocked = *plain;
  if (plain->ndims < 3 || plain->ndims > 5) return IPRO_OK;
  const dnnl_format_tag_t *tags = ipro_onednn_channel_block() == 16 ? tags16 : tags8;
  IPRO_ONEDNN_CHECK(dnnl_memory_desc_init_by_tag(blocked, plain->ndims, plain->dims,
                                                 plain->data_type, tags[plain->ndims]));
  return IPRO_OK;
fail:
  return IPRO_ERROR;
}

ipro_status ipro_onednn_shaped_operands(const ipro_graph *graph, const ipro_node *node,
                                        ipro_shape *t, ipro_shape *r, ipro_error *err) {
  if (ipro_onednn_input_shape(graph, node, 0, t, err) ||
      ipro_onednn_output_shape(graph, node, 0, r, err) ||
      ipro_onednn_check_shape_attribute(node, "shape", r, err))
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_onednn_check_shape_attribute(const ipro_node *node, const char *name,
                                              const ipro_shape *shape, ipro_error *err) {
  int count = 0;
  const int64_t *values = ipro_node_attr_ints(node, name, &count);
  if (!values) return IPRO_OK;
  bool same = count == shape->rank;
  for (int d = 0; same && d < count; d++)
    same = values[d] == shape->dims[d];
  if (!same) return ipro_onednn_unsupported(err, "attribute %s disagrees with the tensor", name);
  return IPRO_OK;
}
