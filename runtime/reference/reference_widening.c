/* Runs a reference kernel written over double on a node whose real tensors are float32, float64
 * or a mix (see reference_kernels.h): each float32 operand is widened into a double temporary,
 * the kernel runs on the temporaries, and each float32 output is rounded back once per element.
 * float64 operands and every non-real one (int64 indices, bool masks, int32 labels) are handed
 * to the kernel as they are, so a graph that is float64 throughout costs no copy at all.
 *
 * Kernels that update inputs in place (the optimizer steps, BatchNormalization's in-place running
 * statistics) name them in a mask, so those inputs are rounded back too.
 *
 * Two operands that share a buffer (an output the executor placed over an input, or one tensor
 * read twice, as Div's gradient reads b · b) share one temporary, so the kernel sees the aliasing
 * it would have seen on the data itself. Operands whose buffers merely overlap get separate
 * temporaries; the kernel then reads every input before any output reaches memory, which is the
 * order an overlap needs anyway.
 *
 * Behind the backend interface the temporaries are carved from the kernel's workspace in the
 * arena (context->scratch), sized before anything runs by ipro_reference_workspace_bytes: one
 * 64-byte aligned block per float32 operand, an upper bound since shared operands share one. */
#include <stdlib.h>
#include <string.h>

#include "ir/memory_plan.h"
#include "reference_ops.h"

/* The most operands a kernel is handed (the executor's own limit). */
#define MAX_OPERANDS 64

typedef struct {
  void *source;    /* the float32 buffer */
  double *wide;    /* its double temporary */
  int64_t count;   /* elements */
  bool filled;     /* widened from the buffer: an input lives here */
  bool write_back; /* the kernel writes it: narrow it back after the kernel */
} temporary;

typedef struct {
  temporary items[2 * MAX_OPERANDS];
  int count;
  uint8_t *scratch; /* the workspace the temporaries are carved from; NULL: malloc each */
  size_t scratch_bytes, scratch_used;
} temporaries;

static void release(temporaries *t) {
  for (int k = 0; k < t->count && !t->scratch; k++)
    free(t->items[k].wide);
}

/* A temporary's share of the workspace: its doubles, rounded up to the workspace's alignment. */
static size_t temporary_bytes(int64_t count) {
  size_t bytes = (size_t)(count > 0 ? count : 1) * sizeof(double);
  return ipro_memory_aligned(bytes, IPRO_ARENA_ALIGNMENT);
}

static double *allocate_temporary(temporaries *t, int64_t count) {
  if (!t->scratch) return malloc((size_t)(count > 0 ? count : 1) * sizeof(double));
  size_t bytes = temporary_bytes(count);
  if (bytes > t->scratch_bytes - t->scratch_used) return NULL;
  double *wide = (double *)(void *)(t->scratch + t->scratch_used);
  t->scratch_used += bytes;
  return wide;
}

/* The double temporary of a float32 buffer of `count` elements: the one already made for the
 * same buffer and size, or a new one, filled from the buffer when `fill`. NULL when out of
 * memory. */
static double *temporary_of(temporaries *t, void *source, int64_t count, bool fill,
                            bool write_back) {
  for (int k = 0; k < t->count; k++)
    if (t->items[k].source == source && t->items[k].count == count) {
      t->items[k].write_back |= write_back;
      return t->items[k].wide;
    }
  double *wide = allocate_temporary(t, count);
  if (!wide) return NULL;
  if (fill) {
    const float *narrow = source;
    for (int64_t i = 0; i < count; i++)
      wide[i] = narrow[i];
  }
  t->items[t->count++] = (temporary){source, wide, count, fill, write_back};
  return wide;
}

/* Replaces operand `data[i]` by its double temporary when its tensor is float32; written: the
 * kernel writes it (an output, or an input updated in place). */
static ipro_status widen_operand(const ipro_graph *graph, const ipro_node *node, bool is_input,
                                 int i, bool written, void **data, temporaries *t,
                                 ipro_error *err) {
  const ipro_tensor *tensor =
      is_input ? ipro_node_input(graph, node, i) : ipro_node_output(graph, node, i);
  if (!tensor || !data[i] || tensor->dtype != IPRO_DTYPE_FLOAT) return IPRO_OK;
  ipro_shape shape;
  if (ipro_reference_shape_of(graph, node, tensor, &shape, err)) return IPRO_ERROR;
  data[i] = temporary_of(t, data[i], ipro_shape_elements(&shape), is_input, written);
  if (!data[i])
    return ipro_reference_fail(node, err, "%s widening '%s'",
                               t->scratch ? "the planned workspace is too small" : "out of memory",
                               tensor->name);
  return IPRO_OK;
}

ipro_status ipro_reference_run_in_double(ipro_reference_forward_fn kernel, unsigned written_inputs,
                                         const ipro_graph *graph, const ipro_node *node,
                                         void *const *inputs, void *const *outputs,
                                         const ipro_kernel_context *context, ipro_error *err) {
  int n_inputs = node->n_inputs, n_outputs = node->n_outputs;
  bool any_float32 = false;
  for (int i = 0; i < n_inputs + n_outputs; i++) {
    const ipro_tensor *tensor = i < n_inputs ? ipro_node_input(graph, node, i)
                                             : ipro_node_output(graph, node, i - n_inputs);
    any_float32 |= tensor && tensor->dtype == IPRO_DTYPE_FLOAT;
  }
  if (!any_float32) return kernel(graph, node, inputs, outputs, context, err);
  if (n_inputs > MAX_OPERANDS || n_outputs > MAX_OPERANDS)
    return ipro_reference_fail(node, err, "more than %d inputs or outputs", MAX_OPERANDS);
  /* Entries past the node's operands stay NULL, as the executor leaves them. */
  void *wide_inputs[MAX_OPERANDS] = {0}, *wide_outputs[MAX_OPERANDS] = {0};
  for (int i = 0; i < n_inputs; i++)
    wide_inputs[i] = inputs[i];
  for (int o = 0; o < n_outputs; o++)
    wide_outputs[o] = outputs[o];
  /* On the stack: a call behind the backend interface allocates nothing outside its workspace. */
  temporaries storage, *t = &storage;
  t->count = 0;
  t->scratch = context ? context->scratch : NULL;
  t->scratch_bytes = context ? context->scratch_bytes : 0;
  t->scratch_used = 0;
  ipro_status status = IPRO_OK;
  for (int i = 0; status == IPRO_OK && i < n_inputs; i++)
    status = widen_operand(graph, node, true, i, i < 32 && (written_inputs >> i & 1u), wide_inputs,
                           t, err);
  for (int o = 0; status == IPRO_OK && o < n_outputs; o++)
    status = widen_operand(graph, node, false, o, true, wide_outputs, t, err);
  if (status == IPRO_OK) status = kernel(graph, node, wide_inputs, wide_outputs, context, err);
  for (int k = 0; status == IPRO_OK && k < t->count; k++) {
    if (!t->items[k].write_back) continue;
    float *narrow = t->items[k].source;
    const double *wide = t->items[k].wide;
    /* An input is stored only where it changed: BatchNormalization in inference form names its
     * statistics as written but leaves them, and they may be read-only initializer data. */
    if (t->items[k].filled) {
      for (int64_t i = 0; i < t->items[k].count; i++) {
        float value = (float)wide[i];
        if (memcmp(&value, &narrow[i], sizeof value) != 0) narrow[i] = value;
      }
    } else {
      for (int64_t i = 0; i < t->items[k].count; i++)
        narrow[i] = (float)wide[i];
    }
  }
  release(t);
  return status;
}

ipro_status ipro_reference_workspace_bytes(const ipro_graph *graph, const ipro_node *node,
                                           size_t *bytes, ipro_error *err) {
  *bytes = 0;
  if (!ipro_reference_widens(node->op)) return IPRO_OK;
  for (int i = 0; i < node->n_inputs + node->n_outputs; i++) {
    bool is_input = i < node->n_inputs;
    const ipro_tensor *tensor = is_input ? ipro_node_input(graph, node, i)
                                         : ipro_node_output(graph, node, i - node->n_inputs);
    if (!tensor || tensor->dtype != IPRO_DTYPE_FLOAT) continue;
    ipro_shape shape;
    if (ipro_reference_shape_of(graph, node, tensor, &shape, err)) return IPRO_ERROR;
    *bytes += temporary_bytes(ipro_shape_elements(&shape));
  }
  return IPRO_OK;
}
