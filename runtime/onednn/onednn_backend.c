/* The oneDNN backend: the CPU default (see runtime/backend.h).
 *
 * One CPU engine and one stream per backend; memory is plain host memory (the ipro_host_*
 * helpers), so the executor may hand the same pointers to the reference kernels for the nodes this
 * backend declines. Which ops it takes is the dispatch table below, indexed by ipro_op; an op file
 * declines a node (supports_forward answers false) when an attribute combination or a shape has no
 * faithful oneDNN mapping, and the node then runs on the reference kernel.
 *
 * supports_forward answers by building the kernel and throwing it away, so the answer is exactly
 * "prepare_forward would succeed"; oneDNN's primitive cache makes the second creation cheap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onednn_internal.h"

typedef struct {
  ipro_backend base; /* first, so that an ipro_backend * is an onednn_backend * */
  dnnl_engine_t engine;
  dnnl_stream_t stream;
} onednn_backend;

static const ipro_onednn_build_fn build_table[IPRO_OP_COUNT] = {
    [IPRO_OP_CONV] = ipro_onednn_build_conv,
    [IPRO_OP_IDENTITY] = ipro_onednn_build_copy,
    [IPRO_OP_BATCH_NORMALIZATION] = ipro_onednn_build_batch_normalization,
    [IPRO_OP_RELU] = ipro_onednn_build_eltwise,
    [IPRO_OP_LEAKY_RELU] = ipro_onednn_build_eltwise,
    [IPRO_OP_SIGMOID] = ipro_onednn_build_eltwise,
    [IPRO_OP_TANH] = ipro_onednn_build_eltwise,
    [IPRO_OP_CLIP] = ipro_onednn_build_eltwise,
    [IPRO_OP_HARD_SIGMOID] = ipro_onednn_build_eltwise,
    [IPRO_OP_HARD_SWISH] = ipro_onednn_build_eltwise,
    [IPRO_OP_GELU] = ipro_onednn_build_eltwise,
    [IPRO_OP_SQRT] = ipro_onednn_build_eltwise,
    [IPRO_OP_RECIPROCAL] = ipro_onednn_build_eltwise,
    [IPRO_OP_PRELU] = ipro_onednn_build_prelu,
    [IPRO_OP_ABS] = ipro_onednn_build_eltwise,
    [IPRO_OP_NEG] = ipro_onednn_build_eltwise,
    [IPRO_OP_EXP] = ipro_onednn_build_eltwise,
    [IPRO_OP_LOG] = ipro_onednn_build_eltwise,
    [IPRO_OP_SOFTPLUS] = ipro_onednn_build_eltwise,
    [IPRO_OP_ELU] = ipro_onednn_build_eltwise,
    [IPRO_OP_SELU] = ipro_onednn_build_eltwise,
    [IPRO_OP_CELU] = ipro_onednn_build_eltwise,
    [IPRO_OP_MISH] = ipro_onednn_build_eltwise,
    [IPRO_OP_SOFTMAX] = ipro_onednn_build_softmax,
    [IPRO_OP_LOG_SOFTMAX] = ipro_onednn_build_softmax,
    [IPRO_OP_LAYER_NORMALIZATION] = ipro_onednn_build_layer_normalization,
    [IPRO_OP_INSTANCE_NORMALIZATION] = ipro_onednn_build_instance_normalization,
    [IPRO_OP_ADD] = ipro_onednn_build_binary,
    [IPRO_OP_SUB] = ipro_onednn_build_binary,
    [IPRO_OP_MUL] = ipro_onednn_build_binary,
    [IPRO_OP_DIV] = ipro_onednn_build_binary,
    [IPRO_OP_MAX] = ipro_onednn_build_binary,
    [IPRO_OP_MIN] = ipro_onednn_build_binary,
    [IPRO_OP_SUM] = ipro_onednn_build_sum,
    [IPRO_OP_MAX_POOL] = ipro_onednn_build_pool,
    [IPRO_OP_AVERAGE_POOL] = ipro_onednn_build_pool,
    [IPRO_OP_GLOBAL_AVERAGE_POOL] = ipro_onednn_build_global_pool,
    [IPRO_OP_GLOBAL_MAX_POOL] = ipro_onednn_build_global_pool,
    [IPRO_OP_GEMM] = ipro_onednn_build_gemm,
    [IPRO_OP_MAT_MUL] = ipro_onednn_build_mat_mul,
    [IPRO_OP_EINSUM] = ipro_onednn_build_einsum,
    [IPRO_OP_CONCAT] = ipro_onednn_build_concat,
    [IPRO_OP_SLICE] = ipro_onednn_build_slice,
    [IPRO_OP_CONV_GRAD_INPUT] = ipro_onednn_build_conv_grad_input,
    [IPRO_OP_CONV_GRAD_WEIGHT] = ipro_onednn_build_conv_grad_weight,
    [IPRO_OP_BATCH_NORM_GRAD] = ipro_onednn_build_batch_norm_grad,
    [IPRO_OP_UNARY_GRAD] = ipro_onednn_build_unary_grad,
    [IPRO_OP_MAX_POOL_GRAD] = ipro_onednn_build_max_pool_grad,
    [IPRO_OP_AVERAGE_POOL_GRAD] = ipro_onednn_build_average_pool_grad,
    [IPRO_OP_GLOBAL_POOL_GRAD] = ipro_onednn_build_global_pool_grad,
    [IPRO_OP_REDUCE_MEAN] = ipro_onednn_build_reduce_mean,
    [IPRO_OP_SPLIT] = ipro_onednn_build_split,
    [IPRO_OP_SLICE_ONNX] = ipro_onednn_build_slice_onnx,
    [IPRO_OP_TRANSPOSE] = ipro_onednn_build_transpose,
    [IPRO_OP_PAD] = ipro_onednn_build_pad,
    [IPRO_OP_REDUCE_MEAN_GRAD] = ipro_onednn_build_reduce_mean_grad,
    [IPRO_OP_SOFTMAX_GRAD] = ipro_onednn_build_softmax_grad,
    [IPRO_OP_LAYER_NORM_GRAD] = ipro_onednn_build_layer_norm_grad,
    /* C kernels (cpu_*.c) */
    [IPRO_OP_RESIZE] = ipro_onednn_build_resize,
    [IPRO_OP_RESIZE_GRAD] = ipro_onednn_build_resize_grad,
    [IPRO_OP_REDUCE_TO_SHAPE] = ipro_onednn_build_reduce_to_shape,
    [IPRO_OP_REDUCE_SUM] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_EXPAND] = ipro_onednn_build_expand,
    [IPRO_OP_TILE] = ipro_onednn_build_expand, /* one that repeats dimensions of 1 */
    [IPRO_OP_REDUCE_EXTREMUM_GRAD] = ipro_onednn_build_reduce_extremum_grad,
    [IPRO_OP_REDUCE_MAX] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_REDUCE_MIN] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_REDUCE_L2] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_REDUCE_L1] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_REDUCE_SUM_SQUARE] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_REDUCE_LOG_SUM] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_REDUCE_PROD] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_REDUCE_LOG_SUM_EXP] = ipro_onednn_build_reduce_axes,
    [IPRO_OP_REDUCE_PROD_GRAD] = ipro_onednn_build_reduce_prod_grad,
    [IPRO_OP_GATHER_ELEMENTS] = ipro_onednn_build_gather_elements,
    [IPRO_OP_GATHER_ELEMENTS_GRAD] = ipro_onednn_build_gather_elements,
    [IPRO_OP_LSTM] = ipro_onednn_build_recurrent,
    [IPRO_OP_GRU] = ipro_onednn_build_recurrent,
    [IPRO_OP_RNN] = ipro_onednn_build_recurrent,
    [IPRO_OP_RECURRENT_GRAD] = ipro_onednn_build_recurrent,
    [IPRO_OP_WHERE] = ipro_onednn_build_select,
    [IPRO_OP_LESS] = ipro_onednn_build_select,
    [IPRO_OP_GREATER] = ipro_onednn_build_select,
    [IPRO_OP_EQUAL] = ipro_onednn_build_select,
    [IPRO_OP_LESS_OR_EQUAL] = ipro_onednn_build_select,
    [IPRO_OP_GREATER_OR_EQUAL] = ipro_onednn_build_select,
    [IPRO_OP_SIGN] = ipro_onednn_build_select,
    [IPRO_OP_BINARY_CROSS_ENTROPY] = ipro_onednn_build_binary_cross_entropy,
    [IPRO_OP_BINARY_CROSS_ENTROPY_GRAD] = ipro_onednn_build_binary_cross_entropy_grad,
    [IPRO_OP_SUP_CON_LOSS] = ipro_onednn_build_sup_con_loss,
    [IPRO_OP_SUP_CON_GRAD] = ipro_onednn_build_sup_con_grad,
    /* generated kernels (cpu_generated.c) */
    [IPRO_OP_SGD_UPDATE] = ipro_onednn_build_sgd_update,
    [IPRO_OP_ADAM_UPDATE] = ipro_onednn_build_adam_update,
    [IPRO_OP_DROPOUT] = ipro_onednn_build_dropout,
    [IPRO_OP_DROPOUT_GRAD] = ipro_onednn_build_dropout_grad,
};
_Static_assert(sizeof build_table / sizeof build_table[0] == IPRO_OP_COUNT,
               "one entry per op in op_list.h");

/* ---- kernels ---- */

static void kernel_destroy(ipro_kernel *base) {
  ipro_onednn_kernel *kernel = (ipro_onednn_kernel *)base;
  if (!kernel) return;
  for (int s = 0; s < kernel->n_steps; s++) {
    ipro_onednn_step *step = &kernel->steps[s];
    for (int a = 0; a < step->n_args; a++)
      if (step->bindings[a].memory) dnnl_memory_destroy(step->bindings[a].memory);
    if (step->primitive) dnnl_primitive_destroy(step->primitive);
    free(step->bindings);
  }
  free(kernel->steps);
  free(kernel->staged_input);
  free(kernel->state);
  free(kernel->label);
  free(kernel);
}

/* The data of a binding in this run: an input, an output or a part of the workspace. */
static void *binding_data(const ipro_onednn_kernel *kernel, const ipro_onednn_binding *binding,
                          void *const *inputs, void *const *outputs, char *scratch) {
  switch (binding->source) {
  case IPRO_ONEDNN_INPUT: return inputs[binding->index];
  case IPRO_ONEDNN_OUTPUT: return outputs[binding->index];
  case IPRO_ONEDNN_INTERMEDIATE: return scratch + binding->offset;
  case IPRO_ONEDNN_SCRATCHPAD: return scratch + kernel->intermediate_bytes;
  }
  return NULL;
}

/* Destroys the memory objects args[0, count) that were made for this run (those of bindings
 * without an object of their own). */
static void destroy_made(const ipro_onednn_step *step, dnnl_exec_arg_t *args, int count) {
  for (int a = 0; a < count; a++)
    if (!step->bindings[a].memory && args[a].memory) dnnl_memory_destroy(args[a].memory);
}

/* Runs one primitive step on this run's data. Each argument's memory object is the binding's own
 * (moved only if its data moved: setting a handle zeroes a padded layout's padding, a pass over
 * the tensor) or one made now from the primitive's descriptor (onednn_internal.h), destroyed once
 * the primitive has finished. args holds step->n_args entries. */
static ipro_status run_primitive(ipro_onednn_kernel *kernel, const ipro_onednn_step *step,
                                 void *const *inputs, void *const *outputs, char *scratch,
                                 dnnl_exec_arg_t *args, ipro_error *err) {
  int bound = 0;
  const_dnnl_primitive_desc_t pd = NULL;
  IPRO_ONEDNN_CHECK(dnnl_primitive_get_primitive_desc(step->primitive, &pd));
  for (; bound < step->n_args; bound++) {
    const ipro_onednn_binding *binding = &step->bindings[bound];
    dnnl_exec_arg_t *arg = &args[bound];
    *arg = (dnnl_exec_arg_t){binding->arg, binding->memory};
    void *pointer = binding_data(kernel, binding, inputs, outputs, scratch);
    if (!pointer) {
      ipro_error_set(err, "%s %d has no data",
                     binding->source == IPRO_ONEDNN_INPUT ? "input" : "output", binding->index);
      goto fail;
    }
    if (binding->memory) {
      void *current = NULL;
      IPRO_ONEDNN_CHECK(dnnl_memory_get_data_handle(binding->memory, &current));
      if (current != pointer)
        IPRO_ONEDNN_CHECK(dnnl_memory_set_data_handle(binding->memory, pointer));
      continue;
    }
    const dnnl_memory_desc_t *md =
        dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, binding->arg);
    arg->memory = NULL;
    IPRO_ONEDNN_CHECK(dnnl_memory_create(&arg->memory, md, kernel->engine, pointer));
  }
  IPRO_ONEDNN_CHECK(dnnl_primitive_execute(step->primitive, kernel->stream, step->n_args, args));
  IPRO_ONEDNN_CHECK(dnnl_stream_wait(kernel->stream));
  destroy_made(step, args, bound);
  return IPRO_OK;
fail:
  /* waits for a primitive that was submitted before its objects go */
  dnnl_stream_wait(kernel->stream);
  destroy_made(step, args, bound < step->n_args ? bound + 1 : bound);
  return IPRO_ERROR;
}

static ipro_status kernel_run(ipro_kernel *base, void *const *inputs, void *const *outputs,
                              void *workspace, uint64_t step_number, ipro_error *err) {
  ipro_onednn_kernel *kernel = (ipro_onednn_kernel *)base;
  if (kernel->base.workspace_bytes > 0 && !workspace)
    return ipro_error_set(err, "%s: oneDNN kernel run without its %zu-byte workspace",
                          kernel->label, kernel->base.workspace_bytes);
  char *scratch = workspace;
  /* a loop step reads a staged input where it was reordered to, as a primitive's binding does
   * (only the node's own inputs are read from the caller's array, which may hold no more) */
  void *resolved[IPRO_ONEDNN_MAX_INPUTS] = {NULL};
  void *const *loop_inputs = inputs;
  if (kernel->staged_input) {
    for (int i = 0; i < kernel->n_inputs && i < IPRO_ONEDNN_MAX_INPUTS; i++)
      resolved[i] = kernel->staged_input[i] == IPRO_ONEDNN_NOT_STAGED
                        ? inputs[i]
                        : scratch + kernel->staged_input[i];
    loop_inputs = resolved;
  }
  for (int s = 0; s < kernel->n_steps; s++) {
    const ipro_onednn_step *step = &kernel->steps[s];
    ipro_status status;
    if (step->loop) {
      status = step->loop(kernel, loop_inputs, outputs, scratch, step_number, err);
    } else {
      /* most steps have a few arguments; a concatenation of many inputs has one each */
      dnnl_exec_arg_t few[16];
      dnnl_exec_arg_t *args =
          step->n_args <= 16 ? few : malloc(sizeof *args * (size_t)step->n_args);
      if (!args) return ipro_error_set(err, "%s: out of memory", kernel->label);
      status = run_primitive(kernel, step, inputs, outputs, scratch, args, err);
      if (args != few) free(args);
    }
    if (status != IPRO_OK) return ipro_error_prefix(err, "%s", kernel->label);
  }
  return IPRO_OK;
}

/* Every tensor the ops in the table read or write is float32 (but for SupCon's labels,
 * DropoutGrad's and Dropout's masks, Where's and the comparisons' bools and GatherElements'
 * indices, which their build functions check); anything else is left to the reference.
 * Resize reads only X: inputs after it are the roi, scales and sizes that normalisation turned into
 * attributes; so does Slice (its constant bounds, read at inference). */
static ipro_status check_float(const ipro_graph *graph, const ipro_node *node, ipro_error *err) {
  /* cpu_select.c and cpu_gather_elements.c check their own */
  if (build_table[node->op] == ipro_onednn_build_select ||
      build_table[node->op] == ipro_onednn_build_gather_elements)
    return IPRO_OK;
  bool own_dtype = node->op == IPRO_OP_SUP_CON_LOSS || node->op == IPRO_OP_SUP_CON_GRAD ||
                   node->op == IPRO_OP_DROPOUT_GRAD;
  for (int i = 0; i < node->n_inputs + node->n_outputs; i++) {
    bool input = i < node->n_inputs;
    if ((own_dtype && i == 1) || (node->op == IPRO_OP_RESIZE && input && i > 0)) continue;
    /* Slice's starts, ends, axes and steps: constants, which shape inference turned into the
     * slice_first and slice_step its build reads */
    if (node->op == IPRO_OP_SLICE_ONNX && input && i > 0) continue;
    /* Expand's target shape and Tile's repeats: constants, which the output's shape holds */
    if ((node->op == IPRO_OP_EXPAND || node->op == IPRO_OP_TILE) && input && i == 1) continue;
    if (node->op == IPRO_OP_DROPOUT && !input && i - node->n_inputs == 1) continue;
    /* a fused normalisation's ReLU mask (onednn_normalization.c) */
    if ((node->op == IPRO_OP_BATCH_NORMALIZATION && !input && i - node->n_inputs == 5) ||
        (node->op == IPRO_OP_BATCH_NORM_GRAD && input && i == 5))
      continue;
    const ipro_tensor *tensor =
        input ? ipro_node_input(graph, node, i) : ipro_node_output(graph, node, i - node->n_inputs);
    if (tensor && tensor->dtype != IPRO_DTYPE_FLOAT)
      return ipro_onednn_unsupported(err, "%s '%s' is %s, not float32", input ? "input" : "output",
                                     tensor->name, ipro_dtype_name(tensor->dtype));
  }
  return IPRO_OK;
}

static ipro_status build_kernel(const onednn_backend *backend, const ipro_graph *graph,
                                const ipro_node *node, ipro_kernel **out, ipro_error *err) {
  *out = NULL;
  ipro_onednn_build_fn build = (unsigned)node->op < IPRO_OP_COUNT ? build_table[node->op] : NULL;
  if (!build) return ipro_onednn_unsupported(err, "no oneDNN kernel for %s", node->op_type);
  if (check_float(graph, node, err) != IPRO_OK) return IPRO_ERROR;
  ipro_onednn_kernel *kernel = calloc(1, sizeof *kernel);
  if (!kernel) return ipro_error_set(err, "out of memory");
  kernel->engine = backend->engine;
  kernel->stream = backend->stream;
  kernel->backend = (ipro_backend *)&backend->base;
  char label[256];
  snprintf(label, sizeof label, "node '%.100s' (%.60s)", node->name ? node->name : "",
           node->op_type ? node->op_type : "?");
  kernel->label = strdup(label);
  if (!kernel->label) {
    free(kernel);
    return ipro_error_set(err, "out of memory");
  }
  kernel->base.run = kernel_run;
  kernel->base.destroy = kernel_destroy;
  kernel->n_inputs = node->n_inputs;
  kernel->layouts = backend->base.layouts;
  kernel->frugal = backend->base.frugal;
  if (ipro_onednn_stage_flat_inputs(kernel, graph, node, err) != IPRO_OK ||
      build(kernel, graph, node, err) != IPRO_OK) {
    kernel_destroy(&kernel->base);
    return IPRO_ERROR;
  }
  kernel->layouts = NULL;
  kernel->base.workspace_bytes = kernel->intermediate_bytes + kernel->scratchpad_bytes;
  *out = &kernel->base;
  return IPRO_OK;
}

/* ---- the backend ---- */

/* The fused normalisation that wrote a fused gradient's ReLU mask (input 5), or NULL. */
static const ipro_node *relu_mask_writer(const ipro_graph *graph, const ipro_node *node) {
  if (node->op != IPRO_OP_BATCH_NORM_GRAD || !ipro_node_attr_int(node, "fused_relu", 0) ||
      node->n_inputs < 6 || node->inputs[5] < 0)
    return NULL;
  int producer = graph->tensors[node->inputs[5]].producer;
  return producer >= 0 ? &graph->nodes[producer] : NULL;
}

/* A fused gradient reads the mask in the form its forward wrote it, so it runs here exactly
 * when its forward does: the answer is the forward's, and a failure to build the gradient after
 * that is an error of its own, not a quiet fallback to the reference kernel. */
static bool onednn_supports_forward(const ipro_backend *self, const ipro_graph *graph,
                                    const ipro_node *node) {
  const ipro_node *writer = relu_mask_writer(graph, node);
  if (writer) node = writer;
  ipro_kernel *kernel = NULL;
  ipro_error err;
  if (build_kernel((const onednn_backend *)self, graph, node, &kernel, &err) != IPRO_OK)
    return false;
  kernel->destroy(kernel);
  return true;
}

static ipro_status onednn_prepare_forward(ipro_backend *self, const ipro_graph *graph,
                                          const ipro_node *node, ipro_kernel **out,
                                          ipro_error *err) {
  if (build_kernel((const onednn_backend *)self, graph, node, out, err) != IPRO_OK)
    return ipro_error_prefix(err, "node '%s' (%s) on oneDNN", node->name, node->op_type);
  return IPRO_OK;
}

/* layout_bytes: a blocked ReLU mask takes oneDNN's workspace bytes, anything else its layout's. */
static size_t onednn_layout_bytes(const ipro_backend *self, const ipro_graph *graph, int tensor,
                                  uint8_t layout) {
  if (layout != IPRO_ONEDNN_RELU_MASK) return ipro_onednn_layout_bytes(self, graph, tensor, layout);
  return ipro_onednn_relu_mask_bytes(((const onednn_backend *)self)->engine, graph, tensor);
}

static void onednn_destroy(ipro_backend *self) {
  onednn_backend *backend = (onednn_backend *)self;
  if (!backend) return;
  if (backend->stream) dnnl_stream_destroy(backend->stream);
  if (backend->engine) dnnl_engine_destroy(backend->engine);
  free(backend);
}

void ipro_backend_release_unused_primitives(void) {
  int capacity = 0;
  if (dnnl_get_primitive_cache_capacity(&capacity) != dnnl_success || capacity <= 0) return;
  /* emptied, then the same capacity again for what comes later (the test pass) */
  dnnl_set_primitive_cache_capacity(0);
  dnnl_set_primitive_cache_capacity(capacity);
}

ipro_status ipro_backend_create_onednn(ipro_backend **out, ipro_error *err) {
  *out = NULL;
  onednn_backend *backend = calloc(1, sizeof *backend);
  if (!backend) return ipro_error_set(err, "out of memory");
  IPRO_ONEDNN_CHECK(dnnl_engine_create(&backend->engine, dnnl_cpu, 0));
  IPRO_ONEDNN_CHECK(
      dnnl_stream_create(&backend->stream, backend->engine, dnnl_stream_default_flags));
  backend->base.name = "onednn";
  backend->base.supports_forward = onednn_supports_forward;
  backend->base.prepare_forward = onednn_prepare_forward;
  backend->base.choose_layouts = ipro_onednn_choose_layouts;
  backend->base.layout_bytes = onednn_layout_bytes;
  backend->base.carries_layouts = ipro_onednn_carries_layouts();
  backend->base.allocate = ipro_host_allocate;
  backend->base.release = ipro_host_release;
  backend->base.copy_to_device = ipro_host_copy;
  backend->base.copy_to_host = ipro_host_copy;
  backend->base.host_memory = true;
  backend->base.runs_fused_relu = true;
  backend->base.destroy = onednn_destroy;
  *out = &backend->base;
  return IPRO_OK;
fail:
  onednn_destroy(&backend->base);
  return ipro_error_prefix(err, "creating the oneDNN CPU engine");
}
