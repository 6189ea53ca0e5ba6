/* The kernels of ir/kernel_library.h, compiled for this machine's CPU by the kernel generator
 * (LLJIT), as kernels of the oneDNN backend: where one replaced a hand-written loop or the
 * reference kernel it was measured faster (the optimizer updates, Dropout in training form,
 * ipro.DropoutGrad and the element-wise parts of BinaryCrossEntropy; cpu_losses.c calls the
 * latter).
 *
 * The process has one library cache, shared by every backend: the JIT is created on the first
 * kernel that needs it (a program without these nodes never starts LLVM) and each generated kernel
 * is compiled at most once per process, then shared by every node that runs it. Compiling the
 * whole library takes a few hundred milliseconds; a training program needs two or three of its
 * kernels. A kernel is a pure function of its library entry, so the split search's backend, the
 * trainer's and the test pass's run the same code; it was once one JIT per backend, which
 * compiled the optimizer update three times in `infopro train` and held LLVM's JIT (about 85 kB
 * of allocations with its code) in each. The cache lives until the process ends, like oneDNN's
 * primitive cache.
 *
 * A node is taken only when its dtypes, shapes and attributes are exactly the generated kernel's
 * contract (kernel_library.c); otherwise it is declined as unsupported and runs on the reference
 * kernel.
 *
 * The kernels run on every core (ipro_onednn_generated_run): the range is cut into one contiguous
 * piece per OpenMP thread, the runtime oneDNN's primitives run on (Debian's libdnnl is built with
 * OpenMP: GNU's libgomp under gcc, LLVM's libomp, which then serves oneDNN too, under clang), so
 * the generated loops and the primitives share one pool of threads. An element's result depends
 * on that element alone, so the bytes are the same for any number of threads. Below
 * IPRO_ONEDNN_GENERATED_SPLIT elements (every parameter tensor of the CIFAR ResNets) a kernel runs
 * on the calling thread: these loops are bound by memory, and waking the other threads cost more
 * than it saved. Dropout's forward reads its element's index (the random stream) and runs
 * whole. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "onednn_internal.h"

/* The process's cache (see the file comment). */
static struct {
  pthread_mutex_t lock; /* the JIT and the table are filled by whichever kernel asks first */
  ipro_kernel_jit *jit;
  ipro_onednn_generated_fn kernels[IPRO_GENERATED_COUNT];
} process_library = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The bytes of one element of an input or output of this kind. */
static int element_bytes(ipro_kernel_input_kind kind) {
  return kind == IPRO_KERNEL_MASK ? 1 : kind == IPRO_KERNEL_LABEL ? 8 : 4;
}

/* What splitting fn's range needs, from its description. */
static void describe_layout(const ipro_kernel_desc *desc, ipro_onednn_generated_fn *fn) {
  fn->input_count = desc->input_count;
  fn->output_count = desc->output_count;
  for (int i = 0; i < desc->input_count; i++) {
    fn->input_bytes[i] = element_bytes(desc->inputs[i]);
    if (desc->inputs[i] == IPRO_KERNEL_CHANNEL) fn->whole = true;
  }
  for (int o = 0; o < desc->output_count; o++)
    fn->output_bytes[o] = element_bytes(desc->output_kinds[o]);
  for (int n = 0; n < desc->node_count; n++)
    if (desc->nodes[n].op == IPRO_KERNEL_COUNTER_UNIFORM) fn->whole = true;
}

ipro_status ipro_onednn_generated_kernel(ipro_generated_kernel which, ipro_backend *backend,
                                         ipro_onednn_generated_fn *out, ipro_error *err) {
  ipro_status status = IPRO_OK;
  pthread_mutex_lock(&process_library.lock);
  ipro_onednn_generated_fn *fn = &process_library.kernels[which];
  if (!fn->entry) {
    ipro_kernel_desc desc;
    ipro_kernel_library_describe(which, &desc);
    if (!process_library.jit) status = ipro_kernel_jit_create(&process_library.jit, err);
    if (status == IPRO_OK)
      status = ipro_kernel_jit_compile(process_library.jit, &desc, &fn->entry, err);
    if (status == IPRO_OK) describe_layout(&desc, fn);
    if (status != IPRO_OK) {
      ipro_error_prefix(err, "generating the CPU kernel %s", desc.name);
      if (!backend->degraded[0])
        snprintf(backend->degraded, sizeof backend->degraded, "%s", err->message);
    }
  }
  *out = *fn;
  pthread_mutex_unlock(&process_library.lock);
  return status;
}

/* A pointer `elements` elements of `bytes` on from base (NULL stays NULL: an in-place output's
 * slot, which the kernel does not read, may be empty). */
static const void *advance(const void *base, int64_t elements, int bytes) {
  return base ? (const char *)base + elements * bytes : NULL;
}

/* Element `t` of `threads` pieces of [0, count) starts here: an even share, rounded down to a
 * multiple of 16 elements so that no two threads write one 64-byte line of a float output. */
static int64_t piece_start(int64_t count, int t, int threads) {
  if (t >= threads) return count;
  return count * t / threads / 16 * 16;
}

static void run_piece(const ipro_onednn_generated_fn *fn, const void *const *inputs,
                      void *const *outputs, const float *params, int64_t begin, int64_t end,
                      const uint64_t *integers) {
  const void *in[IPRO_KERNEL_MAX_INPUTS];
  void *out[IPRO_KERNEL_MAX_OUTPUTS];
  for (int i = 0; i < fn->input_count; i++)
    in[i] = advance(inputs[i], begin, fn->input_bytes[i]);
  for (int o = 0; o < fn->output_count; o++)
    out[o] = (void *)advance(outputs[o], begin, fn->output_bytes[o]);
  fn->entry(in, out, params, end - begin, 1, end - begin, integers);
}

void ipro_onednn_generated_run(const ipro_onednn_generated_fn *fn, const void *const *inputs,
                               void *const *outputs, const float *params, int64_t count,
                               const uint64_t *integers) {
  if (fn->whole || count < IPRO_ONEDNN_GENERATED_SPLIT) {
    fn->entry(inputs, outputs, params, count, 1, count, integers);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel
  {
    int threads = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t begin = piece_start(count, t, threads), end = piece_start(count, t + 1, threads);
    if (end > begin) run_piece(fn, inputs, outputs, params, begin, end, integers);
  }
#else
  run_piece(fn, inputs, outputs, params, 0, count, integers);
#endif
}

/* ---- the optimizer updates ---- */

typedef struct {
  ipro_onednn_generated_fn kernel;
  int64_t count;
} update_state;

static ipro_status sgd_update_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                  void *const *outputs, char *workspace, uint64_t step,
                                  ipro_error *err) {
  (void)step, (void)outputs, (void)workspace, (void)err;
  const update_state *s = kernel->state;
  /* hyper {lr, momentum, weight_decay, nesterov}: the kernel's params as they stand */
  ipro_onednn_generated_run(&s->kernel, (const void *const[]){inputs[0], inputs[1], inputs[2]},
                            (void *const[]){inputs[0], inputs[2]}, inputs[3], s->count, NULL);
  return IPRO_OK;
}

static ipro_status adam_update_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                   void *const *outputs, char *workspace, uint64_t step_number,
                                   ipro_error *err) {
  (void)outputs, (void)workspace, (void)step_number;
  const update_state *s = kernel->state;
  const float *hyper = inputs[4]; /* {lr, beta1, beta2, epsilon, weight_decay, step (1-based)} */
  double step = hyper[5];
  if (!(step >= 1.0) || step != floor(step))
    return ipro_error_set(err, "%s: step %g is not a positive whole number", kernel->label, step);
  const float params[7] = {hyper[0],
                           hyper[1],
                           hyper[2],
                           hyper[3],
                           hyper[4],
                           (float)(1.0 - pow(hyper[1], step)),
                           (float)(1.0 - pow(hyper[2], step))};
  ipro_onednn_generated_run(
      &s->kernel, (const void *const[]){inputs[0], inputs[1], inputs[2], inputs[3]},
      (void *const[]){inputs[0], inputs[2], inputs[3]}, params, s->count, NULL);
  return IPRO_OK;
}

/* param, its state (count − 2 tensors of its size), hyper (at least hyper_count floats). */
static ipro_status build_update(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                const ipro_node *node, int count, int hyper_count,
                                ipro_generated_kernel which, ipro_onednn_loop_fn run,
                                ipro_error *err) {
  if (node->n_inputs != count + 1 || node->n_outputs != 0)
    return ipro_onednn_unsupported(err, "%d inputs and no outputs expected", count + 1);
  ipro_shape shape, other;
  if (ipro_onednn_input_shape(graph, node, 0, &shape, err)) return IPRO_ERROR;
  for (int i = 1; i <= count; i++) {
    if (ipro_onednn_input_shape(graph, node, i, &other, err)) return IPRO_ERROR;
    int64_t want = i < count ? ipro_shape_elements(&shape) : hyper_count;
    if (i < count ? ipro_shape_elements(&other) != want : ipro_shape_elements(&other) < want)
      return ipro_onednn_unsupported(err, "input %d holds %lld values, not %s%lld", i,
                                     (long long)ipro_shape_elements(&other),
                                     i < count ? "" : "at least ", (long long)want);
  }
  update_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->count = ipro_shape_elements(&shape);
  if (ipro_onednn_generated_kernel(which, kernel->backend, &s->kernel, err)) return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, run, err);
}

ipro_status ipro_onednn_build_sgd_update(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                         const ipro_node *node, ipro_error *err) {
  return build_update(kernel, graph, node, 3, 4, IPRO_GENERATED_SGD_UPDATE, sgd_update_run, err);
}

ipro_status ipro_onednn_build_adam_update(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                          const ipro_node *node, ipro_error *err) {
  return build_update(kernel, graph, node, 4, 6, IPRO_GENERATED_ADAM_UPDATE, adam_update_run, err);
}

/* ---- Dropout in training form ---- */

typedef struct {
  ipro_onednn_generated_fn kernel;
  int64_t count;
  float ratio;
  uint64_t stream; /* the node's (ipro_node_random_stream), as the reference's seed */
} dropout_forward_state;

/* The seed is the node's stream, as the reference backend's (the executor hands kernels the step
 * alone). The kernel runs over the whole tensor at once (it is `whole`): its random stream is
 * indexed by the element's position, which a split by offset pointers would shift. */
static ipro_status dropout_forward_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                       void *const *outputs, char *workspace, uint64_t step,
                                       ipro_error *err) {
  (void)workspace, (void)err;
  const dropout_forward_state *s = kernel->state;
  const uint64_t integers[2] = {s->stream, step};
  ipro_onednn_generated_run(&s->kernel, (const void *const[]){inputs[0]}, outputs, &s->ratio,
                            s->count, integers);
  return IPRO_OK;
}

/* X float32 → Y, mask (bool) of X's shape, training_mode 1 and ratio in (0, 1): the generated
 * dropout_forward, whose output and mask are the reference's bit for bit. The inference form, a
 * ratio of 0 and a Dropout without its mask output stay on the reference kernel. */
ipro_status ipro_onednn_build_dropout(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                      const ipro_node *node, ipro_error *err) {
  float ratio = ipro_node_attr_float(node, "ratio", 0.5f);
  if (ipro_node_attr_int(node, "training_mode", 0) == 0 || !(ratio > 0.0f && ratio < 1.0f))
    return ipro_onednn_unsupported(err, "Dropout in inference form or with ratio %g",
                                   (double)ratio);
  const ipro_tensor *mask = node->n_outputs == 2 ? ipro_node_output(graph, node, 1) : NULL;
  if (!mask || mask->dtype != IPRO_DTYPE_BOOL)
    return ipro_onednn_unsupported(err, "no bool mask output");
  ipro_shape x, y, m;
  if (ipro_onednn_input_shape(graph, node, 0, &x, err) ||
      ipro_onednn_output_shape(graph, node, 0, &y, err) ||
      ipro_onednn_output_shape(graph, node, 1, &m, err))
    return IPRO_ERROR;
  if (!ipro_shape_equal(&x, &y) || !ipro_shape_equal(&x, &m))
    return ipro_onednn_unsupported(err, "X, Y and the mask differ in shape");
  dropout_forward_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->count = ipro_shape_elements(&x);
  s->ratio = ratio;
  s->stream = ipro_node_random_stream(node);
  if (ipro_onednn_generated_kernel(IPRO_GENERATED_DROPOUT_FORWARD, kernel->backend, &s->kernel,
                                   err))
    return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, dropout_forward_run, err);
}

/* ---- ipro.UnaryGrad of Relu fused with the Sum before it ---- */

typedef struct {
  ipro_onednn_generated_fn kernel;
  int64_t count;
} relu_grad_sum_state;

/* inputs: G1, Y and G2, each in dX's layout (a staged one where it was reordered to) */
static ipro_status relu_grad_sum_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                     void *const *outputs, char *workspace, uint64_t step,
                                     ipro_error *err) {
  (void)workspace, (void)step, (void)err;
  const relu_grad_sum_state *s = kernel->state;
  ipro_onednn_generated_run(&s->kernel, (const void *const *)inputs, outputs, NULL, s->count, NULL);
  return IPRO_OK;
}

ipro_status ipro_onednn_build_relu_grad_sum(ipro_onednn_kernel *kernel, int64_t count,
                                            ipro_error *err) {
  relu_grad_sum_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->count = count;
  if (ipro_onednn_generated_kernel(IPRO_GENERATED_RELU_BACKWARD_SUM, kernel->backend, &s->kernel,
                                   err))
    return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, relu_grad_sum_run, err);
}

/* ---- ipro.DropoutGrad ---- */

typedef struct {
  ipro_onednn_generated_fn kernel;
  int64_t count;
  float scale; /* 1 / (1 − ratio), the float the forward and the reference use */
} dropout_state;

static ipro_status dropout_grad_run(const ipro_onednn_kernel *kernel, void *const *inputs,
                                    void *const *outputs, char *workspace, uint64_t step,
                                    ipro_error *err) {
  (void)step, (void)workspace, (void)err;
  const dropout_state *s = kernel->state;
  ipro_onednn_generated_run(&s->kernel, (const void *const[]){inputs[0], inputs[1]}, outputs,
                            &s->scale, s->count, NULL);
  return IPRO_OK;
}

/* dY float32, mask bool of dY's shape → dX of dY's shape. */
ipro_status ipro_onednn_build_dropout_grad(ipro_onednn_kernel *kernel, const ipro_graph *graph,
                                           const ipro_node *node, ipro_error *err) {
  ipro_shape dy, mask, dx;
  if (node->n_inputs != 2 || node->n_outputs != 1)
    return ipro_onednn_unsupported(err, "two inputs and one output expected");
  if (ipro_onednn_input_shape(graph, node, 0, &dy, err) ||
      ipro_onednn_input_shape(graph, node, 1, &mask, err) ||
      ipro_onednn_output_shape(graph, node, 0, &dx, err))
    return IPRO_ERROR;
  if (ipro_node_input(graph, node, 1)->dtype != IPRO_DTYPE_BOOL)
    return ipro_onednn_unsupported(err, "the mask is not bool");
  if (!ipro_shape_equal(&dy, &mask) || !ipro_shape_equal(&dy, &dx))
    return ipro_onednn_unsupported(err, "dY, the mask and dX differ in shape");
  float ratio = ipro_node_attr_float(node, "ratio", 0.5f);
  if (!(ratio >= 0.0f && ratio < 1.0f))
    return ipro_onednn_unsupported(err, "ratio %g outside [0, 1)", (double)ratio);
  dropout_state *s = ipro_onednn_state_create(kernel, sizeof *s, err);
  if (!s) return IPRO_ERROR;
  s->count = ipro_shape_elements(&dy);
  s->scale = 1.0f / (1.0f - ratio);
  if (ipro_onednn_generated_kernel(IPRO_GENERATED_DROPOUT_GRAD, kernel->backend, &s->kernel, err))
    return IPRO_ERROR;
  return ipro_onednn_add_loop_step(kernel, dropout_grad_run, err);
}
