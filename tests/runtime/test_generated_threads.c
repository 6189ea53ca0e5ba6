/* The CPU backend's generated kernels and C loops on every core (runtime/onednn/cpu_generated.c,
 * cpu_losses.c): the bytes they write must not depend on the number of OpenMP threads. Each case
 * is one hand-built node on seeded data, large enough for the kernel to split its range
 * (IPRO_ONEDNN_GENERATED_SPLIT, IPRO_ONEDNN_PARALLEL_WORK), with odd sizes so that the pieces end
 * off the vector width, run from the same inputs with omp_set_num_threads(1), (2) and (3); every
 * output, and every input an update writes in place, must equal the one-thread run byte for byte.
 * The one-thread run is itself checked against the reference kernels (the oracle): SgdUpdate bit
 * for bit, the others within tests/runtime/test_cpu_kernels.c's tolerance. Element-wise kernels
 * (the optimizer updates, DropoutGrad, BCE's gradient) split their range; BCE's loss sums fixed
 * chunks in a fixed order; SupCon's rows are independent (its matrix products are oneDNN's: see
 * sup_con_cases). Without OpenMP the test skips. */
#include <math.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "frontend/op_table.h"
#include "runtime/backend.h"
#include "runtime/onednn/onednn_internal.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/check.h"
#include "tests/support/command.h"
#include "tests/support/tensor_checks.h"

#define MAX_OPERANDS 6

/* Sizes above the split threshold, so that the kernels really run on several threads. */
#define UPDATE_COUNT 1200007
#define DROPOUT_COUNT 1100003
_Static_assert(UPDATE_COUNT > IPRO_ONEDNN_GENERATED_SPLIT &&
                   DROPOUT_COUNT > IPRO_ONEDNN_GENERATED_SPLIT &&
                   256 * 3 * 37 * 37 > IPRO_ONEDNN_GENERATED_SPLIT,
               "the cases must be large enough for the generated kernels to split");

typedef enum { UNIFORM, PROBABILITY, TARGET, LABELS, MASK, HYPER } data_kind;

static uint64_t random_state = 0x2545f4914f6cdd1du;

static void fill(const ipro_tensor *tensor, data_kind kind, const float *hyper, void *data) {
  int64_t count = ipro_shape_elements(&tensor->shape);
  for (int64_t k = 0; k < count; k++) {
    float u = ipro_test_random_uniform(&random_state);
    if (kind == MASK)
      ((bool *)data)[k] = u >= -0.33f;
    else if (kind == LABELS)
      ((int64_t *)data)[k] = (int64_t)((u + 1.0f) * 5.0f) % 10;
    else if (kind == HYPER)
      ((float *)data)[k] = hyper[k];
    else if (kind == PROBABILITY)
      ((float *)data)[k] = 0.5f + 0.499f * u;
    else if (kind == TARGET)
      ((float *)data)[k] = u < -0.33f ? 0.0f : u > 0.66f ? 1.0f : 0.5f + 0.5f * u;
    else
      ((float *)data)[k] = u;
  }
}

typedef struct {
  void *data[2 * MAX_OPERANDS]; /* the inputs, then the outputs */
  size_t bytes[2 * MAX_OPERANDS];
} operands;

static void operands_free(operands *o) {
  for (int i = 0; i < 2 * MAX_OPERANDS; i++)
    free(o->data[i]);
}

/* A copy of the node's inputs as `initial` holds them, and NaN-filled outputs. */
static void operands_copy(const operands *initial, operands *o) {
  for (int i = 0; i < 2 * MAX_OPERANDS; i++) {
    o->bytes[i] = initial->bytes[i];
    o->data[i] = NULL;
    if (!initial->bytes[i]) continue;
    o->data[i] = malloc(initial->bytes[i]);
    hand_require(o->data[i] != NULL);
    if (i < MAX_OPERANDS)
      memcpy(o->data[i], initial->data[i], initial->bytes[i]);
    else
      memset(o->data[i], 0xff, initial->bytes[i]);
  }
}

/* Runs kernel on a copy of initial with `threads` OpenMP threads into *o. */
static void run_with_threads(ipro_backend *onednn, ipro_kernel *kernel, const operands *initial,
                             int threads, operands *o) {
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  operands_copy(initial, o);
  ipro_test_run_kernel(onednn, kernel, o->data, o->data + MAX_OPERANDS, true);
}

/* Node 0 of graph (inferred) run with 1, 2 and 3 threads; kinds[i] fills input i. The one-thread
 * run is compared with the reference kernel: bit for bit where exact, else within tolerance. */
static void threads_case(ipro_backend *onednn, ipro_graph *graph, const data_kind *kinds,
                         const float *hyper, const char *label, bool exact,
                         bool same_bytes_on_threads) {
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_infer_shapes(graph, 0, &err), &err);
  const ipro_node *node = &graph->nodes[0];
  if (!ipro_test_expect_support(onednn, graph, node, label, true)) return;
  operands initial;
  memset(&initial, 0, sizeof initial);
  for (int i = 0; i < node->n_inputs; i++) {
    const ipro_tensor *tensor = ipro_node_input(graph, node, i);
    initial.bytes[i] = ipro_test_tensor_bytes(tensor);
    initial.data[i] = malloc(initial.bytes[i]);
    hand_require(initial.data[i] != NULL);
    fill(tensor, kinds[i], hyper, initial.data[i]);
  }
  for (int o = 0; o < node->n_outputs; o++)
    initial.bytes[MAX_OPERANDS + o] = ipro_test_tensor_bytes(ipro_node_output(graph, node, o));
  ipro_kernel *kernel = NULL;
  CHECK_OK(onednn->prepare_forward(onednn, graph, node, &kernel, &err), &err);
  if (!kernel) {
    operands_free(&initial);
    return;
  }
  /* the oracle: the reference kernel on another copy */
  operands want;
  operands_copy(&initial, &want);
  ipro_kernel_context context = {0};
  CHECK_OK(ipro_reference_forward_table()[node->op](graph, node, want.data,
                                                    want.data + MAX_OPERANDS, &context, &err),
           &err);
  operands one;
  run_with_threads(onednn, kernel, &initial, 1, &one);
  for (int i = 0; i < 2 * MAX_OPERANDS; i++) {
    if (!one.bytes[i] ||
        (i < MAX_OPERANDS && (kinds[i] == HYPER || kinds[i] == MASK || kinds[i] == LABELS)))
      continue;
    int64_t count = (int64_t)(one.bytes[i] / sizeof(float));
    if (exact)
      CHECK_MSG(memcmp(one.data[i], want.data[i], one.bytes[i]) == 0,
                "%s: operand %d differs from the reference's (must be identical)", label, i);
    else
      ipro_test_compare_scaled(label, "one thread vs reference", one.data[i], want.data[i], count);
    if (!exact && node->op == IPRO_OP_BINARY_CROSS_ENTROPY_GRAD) /* ≈ 2e-6: below the scale's 1 */
      ipro_test_compare_each(label, "one thread vs reference", one.data[i], want.data[i], count,
                             1e-4);
  }
  for (int threads = 2; threads <= 3; threads++) {
    operands many;
    run_with_threads(onednn, kernel, &initial, threads, &many);
    for (int i = 0; i < 2 * MAX_OPERANDS; i++) {
      if (!many.bytes[i]) continue;
      if (!same_bytes_on_threads) {
        if (i >= MAX_OPERANDS)
          ipro_test_compare_scaled(label, threads == 2 ? "2 threads vs 1" : "3 threads vs 1",
                                   many.data[i], one.data[i],
                                   (int64_t)(many.bytes[i] / sizeof(float)));
        continue;
      }
      const unsigned char *a = one.data[i], *b = many.data[i];
      size_t at = 0;
      while (at < many.bytes[i] && a[at] == b[at])
        at++;
      CHECK_MSG(at == many.bytes[i], "%s: %s %d differs at byte %zu with %d threads vs 1", label,
                i < MAX_OPERANDS ? "input" : "output", i % MAX_OPERANDS, at, threads);
    }
    operands_free(&many);
  }
  operands_free(&one);
  operands_free(&want);
  operands_free(&initial);
  kernel->destroy(kernel);
}

static ipro_graph *one_node(ipro_op op, const char *inputs, const char *outputs) {
  ipro_graph *g = hand_graph(19);
  ipro_node *n = hand_node(g, "node", ipro_op_name(op), inputs, outputs);
  n->op = op;
  return g;
}

static void update_cases(ipro_backend *onednn) {
  const int64_t dims[1] = {UPDATE_COUNT}, hyper_dims[1] = {6};
  const float sgd[6] = {0.1f, 0.9f, 1e-4f, 1.0f, 0.0f, 0.0f}; /* Nesterov */
  const float adam[6] = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3.0f};
  const char *names[5] = {"param", "grad", "s0", "s1", "hyper"};
  for (int adam_case = 0; adam_case < 2; adam_case++) {
    int count = adam_case ? 5 : 4;
    ipro_graph *g = hand_graph(19);
    for (int i = 0; i < count; i++) {
      const char *name = i == count - 1 ? "hyper" : names[i];
      hand_input(g, name, 1, i == count - 1 ? hyper_dims : dims);
    }
    ipro_op op = adam_case ? IPRO_OP_ADAM_UPDATE : IPRO_OP_SGD_UPDATE;
    ipro_node *n = hand_node(g, "node", ipro_op_name(op),
                             adam_case ? "param,grad,s0,s1,hyper" : "param,grad,s0,hyper", "");
    n->op = op;
    const data_kind kinds[5] = {UNIFORM, UNIFORM, UNIFORM, adam_case ? PROBABILITY : HYPER, HYPER};
    threads_case(onednn, g, kinds, adam_case ? adam : sgd,
                 adam_case ? "AdamUpdate 1200007 values" : "SgdUpdate 1200007 values", !adam_case,
                 true);
    ipro_graph_free(g);
  }
}

static void dropout_grad_case(ipro_backend *onednn) {
  ipro_graph *g = one_node(IPRO_OP_DROPOUT_GRAD, "dY,mask", "dX");
  const int64_t dims[1] = {DROPOUT_COUNT};
  hand_input(g, "dY", 1, dims);
  g->tensors[hand_input(g, "mask", 1, dims)].dtype = IPRO_DTYPE_BOOL;
  hand_require(ipro_node_set_float(&g->nodes[0], "ratio", 0.3f) == IPRO_OK);
  hand_output(g, "dX");
  const data_kind kinds[2] = {UNIFORM, MASK};
  threads_case(onednn, g, kinds, NULL, "DropoutGrad 1100003 values", false, true);
  ipro_graph_free(g);
}

static void bce_cases(ipro_backend *onednn) {
  const int64_t dims[4] = {256, 3, 37, 37};
  for (int gradient = 0; gradient < 2; gradient++) {
    ipro_op op = gradient ? IPRO_OP_BINARY_CROSS_ENTROPY_GRAD : IPRO_OP_BINARY_CROSS_ENTROPY;
    ipro_graph *g = one_node(op, "P,T", "out");
    hand_input(g, "P", 4, dims);
    hand_input(g, "T", 4, dims);
    hand_output(g, "out");
    const data_kind kinds[2] = {PROBABILITY, TARGET};
    threads_case(onednn, g, kinds, NULL,
                 gradient ? "BinaryCrossEntropyGrad [256,3,37,37]"
                          : "BinaryCrossEntropy [256,3,37,37]",
                 false, true);
    ipro_graph_free(g);
  }
}

/* SupCon's rows are ours and independent, but its similarities and their gradient are oneDNN
 * matrix products: on AVX-512 oneDNN's brgemm products keep each sum on one thread; elsewhere its
 * gemm ("gemm:jit") may split a sum over threads, which moves the last bits with the thread count
 * (seen: 3 threads on a 2-core AMD EPYC with AVX2). There the threads' results are held to the
 * reference tolerance of the one-thread run instead of its bytes. */
static void sup_con_cases(ipro_backend *onednn) {
  const int64_t dims[2] = {600, 130};
  bool products_split_no_sums = ipro_test_cpu_has_avx512_core();
  if (!products_split_no_sums)
    printf("SupCon: this CPU has no AVX-512; oneDNN's gemm may split the products' sums over "
           "threads, so their outputs are compared within tolerance, not byte for byte\n");
  for (int gradient = 0; gradient < 2; gradient++) {
    ipro_op op = gradient ? IPRO_OP_SUP_CON_GRAD : IPRO_OP_SUP_CON_LOSS;
    ipro_graph *g = one_node(op, "F,labels", "out");
    hand_input(g, "F", 2, dims);
    g->tensors[hand_input(g, "labels", 1, dims)].dtype = IPRO_DTYPE_INT64;
    hand_require(ipro_node_set_float(&g->nodes[0], "temperature", 0.07f) == IPRO_OK);
    hand_output(g, "out");
    const data_kind kinds[2] = {UNIFORM, LABELS};
    threads_case(onednn, g, kinds, NULL, gradient ? "SupConGrad [600,130]" : "SupConLoss [600,130]",
                 false, products_split_no_sums);
    ipro_graph_free(g);
  }
}

int main(void) {
#ifndef _OPENMP
  printf("skipped: built without OpenMP, the kernels run on one thread\n");
  return 77;
#else
  ipro_backend *onednn = NULL;
  ipro_error err = {{0}};
  if (ipro_backend_create_onednn(&onednn, &err) != IPRO_OK) {
    CHECK_OK(IPRO_ERROR, &err);
    return ipro_test_finish();
  }
  update_cases(onednn);
  dropout_grad_case(onednn);
  bce_cases(onednn);
  sup_con_cases(onednn);
  CHECK_EQ_INT(onednn->bytes_in_use, 0);
  onednn->destroy(onednn);
  return ipro_test_finish();
#endif
}
