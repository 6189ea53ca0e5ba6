/* The CUDA backend against the CPU, where a GPU is present (without one the test prints why and
 * skips with exit 77; it never counts as passed there):
 *
 *  1. node by node: the training program of every bundled model (batch 8, end to end and K = 2
 *     cut at the middle cut point, heads included) runs on the reference kernels, and every node
 *     the CUDA backend supports also runs on its CUDA kernel with the very inputs the reference
 *     saw (copied to the device before the reference updates anything in place); every float
 *     output and every float input (the in-place updates: optimizer steps, running statistics)
 *     must match within rtol 2e-3 + atol 2e-4 (float32 on the GPU, double in the reference), and
 *     every bool output (Dropout's mask) bit for bit, and its kernel reserves the workspace the
 *     CUDA backend's planning form (no device; what compiles programs) plans for it. The ops it
 *     declines are listed;
 *  2. one training step of each model, end to end and K = 2, on CUDA and on the CPU (oneDNN) from
 *     the same weights and batch: every loss within rtol 1e-3, and what the SGD step did to the
 *     parameters (after less before) the same on both: the difference of the updates within 5e-2
 *     of the whole update's norm and within 0.25 of each tensor's (a tensor the CPU did not move
 *     must not move by more than 1e-6 of its size); and the device bytes the CUDA backend counted
 *     equal the planned bytes exactly. Why updates and these tolerances: one step at learning
 *     rate 0.1 with batch normalisation over 8 images amplifies the order of float32 sums, so an
 *     element-wise comparison of the weights fails on correct kernels (it did on the first GPU
 *     run, an H200: 420 elements of ResNet-32 and ResNet-110 beyond rtol 1e-3, while every node
 *     above matched), whereas a wrong gradient moves a tensor's update by its own size. The CPU
 *     against itself (oneDNN on one thread and on two; scripts/gpu-bundle/compare.py) differs by
 *     2.3e-3 of the whole update and 2.6e-2 of one tensor's after two ResNet-8 steps. Measured on
 *     that H200 with these checks: most models differ by about 1e-6 of the whole update, the deep
 *     ones by more (ResNet-32 6.5e-3, ResNet-110 1.75e-2 end to end), 3.4e-2 of one tensor's at
 *     most (a batch normalisation bias of ResNet-110). A model whose program the CUDA backend
 * refuses fails (Dropout in training mode, once the known gap, now runs as a generated kernel).
 *
 * Without a usable backend the test skips only when no GPU is visible: with IPRO_REQUIRE_GPU=1, or
 * when the NVIDIA driver lists a GPU (/proc/driver/nvidia/gpus), a backend that cannot start fails.
 *
 * In the sanitizer build the CUDA driver maps memory where AddressSanitizer keeps its shadow gap,
 * so this program turns protect_shadow_gap off (below), and the driver's and libraries' own
 * allocations at exit are not reported as our leaks.
 *
 * Run on a GPU machine: ctest --test-dir BUILD -R cuda --output-on-failure. On a GPU machine
 * without LLVM (the GPU bundle's bare image), IPRO_PRECOMPILED_KERNELS=DIR serves the generated
 * kernels from a compiled program's folder (DIR/kernels.so and DIR/kernels.ptx, the whole kernel
 * library, as its runner does) instead of the kernel compiler plugin. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/cost.h"
#include "frontend/op_table.h"
#include "runtime/backend.h"
#include "runtime/precompiled_kernels.h"
#include "runtime/program_file.h"
#include "runtime/reference/reference_kernels.h"
#include "runtime/trainer.h"
#include "tests/support/bundled_models.h"
#include "tests/support/check.h"
#include "tests/support/gpu.h"
#include "tests/support/tensor_checks.h"

#define BATCH 8
#define MAX_OPERANDS 64
#define NODE_RTOL 2e-3
#define NODE_ATOL 2e-4
#define STEP_RTOL 1e-3
#define UPDATE_TOLERANCE 5e-2
#define TENSOR_UPDATE_TOLERANCE 0.25
#define UNMOVED_TOLERANCE 1e-6

static uint64_t random_state = 0x5eed5eed12345678u;
/* The CUDA backend's planning form (no device), which compiles and plans CUDA programs: each
 * kernel it describes must reserve the workspace the device's kernel reserves, or the plan made
 * without a GPU would not be what the program allocates. */
static ipro_backend *planning;

static size_t tensor_bytes(const ipro_tensor *tensor) {
  int64_t bytes = ipro_tensor_bytes(tensor);
  return bytes > 0 ? (size_t)bytes : 0;
}

/* The index of the worst element beyond atol + rtol |expected| (NaN where the expected value is
 * finite counts as infinitely bad), or -1. */
static int64_t worst_element(const float *got, const float *expected, int64_t count, double rtol,
                             double atol) {
  int64_t worst = -1;
  double excess = 0.0;
  for (int64_t i = 0; i < count; i++) {
    double e = expected[i], g = got[i];
    double over = isnan(g) != isnan(e) ? INFINITY
                  : isnan(e)           ? 0.0
                                       : fabs(g - e) - (atol + rtol * fabs(e));
    if (isinf(e) && g == e) over = 0.0;
    if (over > excess) excess = over, worst = i;
  }
  return worst;
}

/* ---- 1. node by node ---- */

typedef struct {
  ipro_backend *cuda;
  const char *label;
  void *device[2 * MAX_OPERANDS];
  size_t bytes[2 * MAX_OPERANDS];
} node_run;

static void release_all(node_run *r) {
  for (int i = 0; i < 2 * MAX_OPERANDS; i++) {
    if (r->device[i]) r->cuda->release(r->cuda, r->device[i], r->bytes[i]);
    r->device[i] = NULL;
  }
}

/* Copies the node's inputs to the device (before the reference may update them in place). */
static bool stage_inputs(node_run *r, const ipro_graph *graph, const ipro_node *node,
                         void *const *inputs) {
  ipro_error err = {{0}};
  for (int i = 0; i < node->n_inputs; i++) {
    const ipro_tensor *t = ipro_node_input(graph, node, i);
    if (!t || !inputs[i]) continue;
    r->bytes[i] = tensor_bytes(t);
    if (r->cuda->allocate(r->cuda, r->bytes[i], &r->device[i], &err) != IPRO_OK ||
        r->cuda->copy_to_device(r->cuda, r->device[i], inputs[i], r->bytes[i], &err) != IPRO_OK) {
      CHECK_MSG(false, "%s: node '%s': %s", r->label, node->name, err.message);
      return false;
    }
  }
  return true;
}

static void compare(node_run *r, const ipro_node *node, const ipro_tensor *t, const void *device,
                    const void *expected) {
  if (t->dtype == IPRO_DTYPE_BOOL) { /* Dropout's mask: the same generator, so the same bits */
    size_t bytes = tensor_bytes(t);
    unsigned char *got = malloc(bytes ? bytes : 1);
    ipro_error err = {{0}};
    bool copied = got && r->cuda->copy_to_host(r->cuda, got, device, bytes, &err) == IPRO_OK;
    CHECK_MSG(copied && memcmp(got, expected, bytes) == 0,
              "%s: node '%s' (%s) mask '%s' differs from the reference's%s%s", r->label, node->name,
              node->op_type, t->name, copied ? "" : ": ", copied ? "" : err.message);
    free(got);
    return;
  }
  if (t->dtype != IPRO_DTYPE_FLOAT) return;
  size_t bytes = tensor_bytes(t);
  float *got = malloc(bytes ? bytes : 1);
  ipro_error err = {{0}};
  if (!got || r->cuda->copy_to_host(r->cuda, got, device, bytes, &err) != IPRO_OK) {
    CHECK_MSG(false, "%s: node '%s': %s", r->label, node->name, err.message);
    free(got);
    return;
  }
  int64_t worst =
      worst_element(got, expected, (int64_t)(bytes / sizeof(float)), NODE_RTOL, NODE_ATOL);
  CHECK_MSG(worst < 0, "%s: node '%s' (%s) tensor '%s': element %lld is %.9g, reference %.9g",
            r->label, node->name, node->op_type, t->name, (long long)worst,
            worst < 0 ? 0.0 : got[worst], worst < 0 ? 0.0 : ((const float *)expected)[worst]);
  free(got);
}

/* Runs the node's CUDA kernel on the staged inputs and compares outputs and inputs with the
 * reference's values after its run. */
static void run_on_cuda(node_run *r, const ipro_graph *graph, const ipro_node *node,
                        void *const *inputs, void *const *outputs) {
  ipro_error err = {{0}};
  ipro_kernel *kernel = NULL, *planned = NULL;
  CHECK_OK(r->cuda->prepare_forward(r->cuda, graph, node, &kernel, &err), &err);
  if (!kernel) return;
  CHECK_OK(planning->prepare_forward(planning, graph, node, &planned, &err), &err);
  if (planned) {
    CHECK_MSG(planned->workspace_bytes == kernel->workspace_bytes,
              "%s: node '%s' (%s): workspace planned without the GPU %zu bytes, on it %zu",
              r->label, node->name, node->op_type, planned->workspace_bytes,
              kernel->workspace_bytes);
    planned->destroy(planned);
  }
  void *device_in[MAX_OPERANDS] = {NULL}, *device_out[MAX_OPERANDS] = {NULL}, *workspace = NULL;
  bool ok = true;
  for (int i = 0; i < node->n_inputs; i++)
    device_in[i] = r->device[i];
  for (int o = 0; o < node->n_outputs && ok; o++) {
    const ipro_tensor *t = ipro_node_output(graph, node, o);
    if (!t) continue;
    r->bytes[MAX_OPERANDS + o] = tensor_bytes(t);
    ok = r->cuda->allocate(r->cuda, r->bytes[MAX_OPERANDS + o], &r->device[MAX_OPERANDS + o],
                           &err) == IPRO_OK;
    device_out[o] = r->device[MAX_OPERANDS + o];
  }
  if (ok && kernel->workspace_bytes)
    ok = r->cuda->allocate(r->cuda, kernel->workspace_bytes, &workspace, &err) == IPRO_OK;
  if (ok) ok = kernel->run(kernel, device_in, device_out, workspace, 0, &err) == IPRO_OK;
  CHECK_MSG(ok, "%s: node '%s' (%s): %s", r->label, node->name, node->op_type, err.message);
  for (int o = 0; ok && o < node->n_outputs; o++) {
    const ipro_tensor *t = ipro_node_output(graph, node, o);
    if (t) compare(r, node, t, device_out[o], outputs[o]);
  }
  for (int i = 0; ok && i < node->n_inputs; i++) {
    const ipro_tensor *t = ipro_node_input(graph, node, i);
    if (t && inputs[i]) compare(r, node, t, device_in[i], inputs[i]);
  }
  r->cuda->release(r->cuda, workspace, kernel->workspace_bytes);
  kernel->destroy(kernel);
}

/* Values for a tensor nobody computes in the program: labels cycle over three classes, the
 * hyper-parameters are a plausible SGD setting, everything else is uniform in [-1, 1). */
static void fill(const ipro_tensor *t, void *data) {
  size_t bytes = tensor_bytes(t);
  if (t->dtype == IPRO_DTYPE_INT64) {
    for (size_t k = 0; k < bytes / sizeof(int64_t); k++)
      ((int64_t *)data)[k] = (int64_t)(k % 3);
  } else if (t->dtype == IPRO_DTYPE_FLOAT) {
    float *f = data;
    for (size_t k = 0; k < bytes / sizeof(float); k++)
      f[k] = ipro_test_random_uniform(&random_state);
    if (strstr(t->name, "hyper") && bytes >= 4 * sizeof(float))
      f[0] = 0.1f, f[1] = 0.9f, f[2] = 1e-4f, f[3] = 1.0f;
    if (strstr(t->name, "running_var") || strstr(t->name, "_var"))
      for (size_t k = 0; k < bytes / sizeof(float); k++)
        f[k] = fabsf(f[k]) + 0.5f;
  }
}

static void check_program(ipro_backend *cuda, const ipro_graph *graph, const char *label) {
  void **data = calloc((size_t)graph->n_tensors + 1, sizeof *data);
  bool *owned = calloc((size_t)graph->n_tensors + 1, sizeof *owned);
  if (!data || !owned) {
    CHECK_MSG(false, "out of memory");
    free(data);
    free(owned);
    return;
  }
  /* Initializers keep their values (copied: updates happen in place); the rest is filled. */
  for (int t = 0; t < graph->n_tensors; t++) {
    const ipro_tensor *tensor = &graph->tensors[t];
    if (tensor->producer >= 0 && tensor->kind == IPRO_TENSOR_ACTIVATION) continue;
    size_t bytes = tensor_bytes(tensor);
    data[t] = calloc(bytes ? bytes : 1, 1);
    owned[t] = true;
    if (!data[t]) continue;
    if (tensor->data && tensor->data_bytes == bytes)
      memcpy(data[t], tensor->data, bytes);
    else
      fill(tensor, data[t]);
  }
  int supported = 0, computed = 0;
  bool declined[IPRO_OP_COUNT] = {false};
  node_run r = {.cuda = cuda, .label = label};
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    if (node->n_inputs > MAX_OPERANDS || node->n_outputs > MAX_OPERANDS) continue;
    void *inputs[MAX_OPERANDS] = {NULL}, *outputs[MAX_OPERANDS] = {NULL};
    for (int i = 0; i < node->n_inputs; i++)
      inputs[i] = node->inputs[i] < 0 ? NULL : data[node->inputs[i]];
    for (int o = 0; o < node->n_outputs; o++) {
      int t = node->outputs[o];
      if (t < 0) continue;
      if (!data[t]) {
        size_t bytes = tensor_bytes(&graph->tensors[t]);
        data[t] = calloc(bytes ? bytes : 1, 1);
        owned[t] = true;
      }
      outputs[o] = data[t];
    }
    bool on_cuda = cuda->supports_forward(cuda, graph, node);
    if (on_cuda) on_cuda = stage_inputs(&r, graph, node, inputs);
    ipro_error err = {{0}};
    ipro_kernel_context context = {.seed = 0, .step = 0};
    ipro_status status =
        ipro_reference_forward_table()[node->op](graph, node, inputs, outputs, &context, &err);
    CHECK_OK(status, &err);
    if (status == IPRO_OK && on_cuda) {
      supported++;
      run_on_cuda(&r, graph, node, inputs, outputs);
    }
    release_all(&r);
    if (!on_cuda) declined[node->op] = true;
    computed++;
    if (status != IPRO_OK) break;
  }
  printf("%s: %d of %d nodes checked on CUDA; declined:", label, supported, computed);
  for (int op = 0; op < IPRO_OP_COUNT; op++)
    if (declined[op]) printf(" %s", ipro_op_name((ipro_op)op));
  printf("\n");
  for (int t = 0; t < graph->n_tensors; t++)
    if (owned[t]) free(data[t]);
  free(data);
  free(owned);
}

/* ---- 2. training steps ---- */

/* Every parameter of the trainer's modules, in order, read from the trainer. */
typedef struct {
  int count;
  const char **names;
  float **values;
  int64_t *lengths;
} parameter_set;

static void parameters_free(parameter_set *set) {
  for (int i = 0; i < set->count; i++)
    free(set->values[i]);
  free(set->names);
  free(set->values);
  free(set->lengths);
  *set = (parameter_set){0};
}

static bool parameters_read(ipro_trainer *trainer, const ipro_trainer *layout, parameter_set *set,
                            const char *label) {
  ipro_error err = {{0}};
  int total = 0;
  for (int k = 0; k < ipro_trainer_module_count(layout); k++)
    total += ipro_trainer_module_training(layout, k)->n_parameters;
  *set = (parameter_set){.names = calloc((size_t)total + 1, sizeof(char *)),
                         .values = calloc((size_t)total + 1, sizeof(float *)),
                         .lengths = calloc((size_t)total + 1, sizeof(int64_t))};
  CHECK_MSG(set->names && set->values && set->lengths, "out of memory");
  if (!set->names || !set->values || !set->lengths) return false;
  for (int k = 0; k < ipro_trainer_module_count(layout); k++) {
    const ipro_graph *g = ipro_trainer_module_graph(layout, k);
    const ipro_training_graph *tg = ipro_trainer_module_training(layout, k);
    for (int p = 0; p < tg->n_parameters; p++) {
      const ipro_tensor *t = &g->tensors[tg->parameters[p]];
      size_t bytes = tensor_bytes(t);
      float *values = malloc(bytes ? bytes : 1);
      bool ok = values && ipro_trainer_read(trainer, t->name, values, bytes, &err) == IPRO_OK;
      CHECK_MSG(ok, "%s: reading '%s': %s", label, t->name, err.message);
      if (!ok) {
        free(values);
        return false;
      }
      set->names[set->count] = t->name;
      set->values[set->count] = values;
      set->lengths[set->count++] = (int64_t)(bytes / sizeof(float));
    }
  }
  return true;
}

/* The step's updates (after less before) on CUDA against the CPU's (see the top of the file). */
static void compare_updates(const parameter_set *before, const parameter_set *cuda,
                            const parameter_set *cpu, const char *label) {
  double difference_sq = 0, update_sq = 0, worst = 0;
  const char *worst_name = "-";
  for (int i = 0; i < cpu->count && i < cuda->count && i < before->count; i++) {
    double difference = 0, update = 0, largest = 1e-3, largest_difference = 0;
    for (int64_t e = 0; e < cpu->lengths[i]; e++) {
      double d = (double)cuda->values[i][e] - (double)cpu->values[i][e];
      double u = (double)cpu->values[i][e] - (double)before->values[i][e];
      difference += d * d;
      update += u * u;
      if (fabs(cpu->values[i][e]) > largest) largest = fabs(cpu->values[i][e]);
      if (!(fabs(d) <= largest_difference)) largest_difference = fabs(d); /* NaN sticks */
    }
    difference_sq += difference;
    update_sq += update;
    if (update == 0) {
      CHECK_MSG(largest_difference <= UNMOVED_TOLERANCE * largest,
                "%s: parameter '%s': the CPU did not move it, CUDA moved it by %.3g", label,
                cpu->names[i], largest_difference);
      continue;
    }
    double relative = sqrt(difference / update);
    if (!(relative <= worst)) worst = relative, worst_name = cpu->names[i];
    CHECK_MSG(relative <= TENSOR_UPDATE_TOLERANCE,
              "%s: parameter '%s': its update on CUDA differs from the CPU's by %.3g of its norm",
              label, cpu->names[i], relative);
  }
  double whole = update_sq > 0 ? sqrt(difference_sq / update_sq) : INFINITY;
  CHECK_MSG(whole <= UPDATE_TOLERANCE,
            "%s: the step's update on CUDA differs from the CPU's by %.3g of its norm", label,
            whole);
  printf("%s: the updates differ by %.2e of the whole update's norm, by %.2e of one tensor's "
         "(%s)\n",
         label, whole, worst, worst_name);
}

static void check_training(ipro_backend *cuda_backend, const char *path, const char *name, int K) {
  ipro_error err = {{0}};
  ipro_test_costed_model opened;
  if (!ipro_test_open_model(path, BATCH, &opened)) return;
  ipro_graph *network = opened.network;
  int *cut_points = opened.cut_points, n_cut_points = opened.n_cuts;
  const char *cuts[1] = {NULL};
  char label[512], graph_label[600];
  snprintf(label, sizeof label, "%s K=%d", name, K);
  if (K == 2 && n_cut_points == 0) {
    printf("%s: no cut point, K = 2 not checked\n", label);
    free(cut_points);
    ipro_graph_free(network);
    return;
  }
  if (K == 2) cuts[0] = network->tensors[cut_points[n_cut_points / 2]].name;
  ipro_trainer_options options = {.batch = BATCH,
                                  .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD),
                                  .n_cuts = K - 1,
                                  .cuts = cuts,
                                  .local = ipro_test_local_settings(network, BATCH)};
  ipro_trainer *cpu = NULL, *cuda = NULL;
  CHECK_OK(ipro_trainer_create(path, &options, &cpu, &err), &err);
  options.device = IPRO_DEVICE_CUDA;
  CHECK_OK(ipro_trainer_create(path, &options, &cuda, &err), &err);
  /* Node by node on the CUDA backend the test holds, over the same programs. */
  for (int k = 0; cpu && k < ipro_trainer_module_count(cpu); k++) {
    snprintf(graph_label, sizeof graph_label, "%s module %d", label, k + 1);
    check_program(cuda_backend, ipro_trainer_module_graph(cpu, k), graph_label);
  }
  if (cpu && cuda) {
    /* the backend's count of what it asked cudaMalloc for, against the plan: the two must agree
     * (the driver's figure is checked after the step) */
    CHECK_MSG(ipro_trainer_allocated_bytes(cuda) == ipro_trainer_planned_bytes(cuda),
              "%s: CUDA allocated %zu bytes, planned %zu", label,
              ipro_trainer_allocated_bytes(cuda), ipro_trainer_planned_bytes(cuda));
    const ipro_tensor *input = &network->tensors[network->inputs[0]];
    size_t pixels = tensor_bytes(input) / sizeof(float);
    float *images = malloc(pixels * sizeof(float));
    int64_t labels[BATCH];
    for (size_t i = 0; images && i < pixels; i++)
      images[i] = ipro_test_random_uniform(&random_state);
    for (int i = 0; i < BATCH; i++)
      labels[i] = i % 3;
    float loss_cpu = 0, loss_cuda = 0;
    parameter_set before = {0}, after_cpu = {0}, after_cuda = {0};
    bool read = parameters_read(cpu, cpu, &before, label);
    if (images) {
      CHECK_OK(ipro_trainer_step(cpu, images, labels, 0.1f, &loss_cpu, &err), &err);
      CHECK_OK(ipro_trainer_step(cuda, images, labels, 0.1f, &loss_cuda, &err), &err);
    }
    float a[64], b[64];
    const char *names[64];
    int n = ipro_trainer_losses(cpu, b, names, 64);
    CHECK_EQ_INT(ipro_trainer_losses(cuda, a, NULL, 64), n);
    for (int i = 0; i < n; i++)
      CHECK_MSG(fabs(a[i] - b[i]) <= STEP_RTOL * fabs(b[i]) + 1e-5,
                "%s: %s loss: cuda %.9g, cpu %.9g", label, names[i], a[i], b[i]);
    /* the device memory the driver saw the trainer take (cudaMemGetInfo, no plan read) holds at
     * least the planned bytes */
    uint64_t device = ipro_trainer_device_growth(cuda);
    printf("%s: cuda loss %.6f, cpu %.6f; %zu device bytes planned, %llu taken by the driver's "
           "count\n",
           label, loss_cuda, loss_cpu, ipro_trainer_planned_bytes(cuda),
           (unsigned long long)device);
    CHECK_MSG(device >= ipro_trainer_planned_bytes(cuda),
              "%s: the driver saw %llu bytes taken, fewer than the %zu planned", label,
              (unsigned long long)device, ipro_trainer_planned_bytes(cuda));
    if (read && parameters_read(cpu, cpu, &after_cpu, label) &&
        parameters_read(cuda, cpu, &after_cuda, label))
      compare_updates(&before, &after_cuda, &after_cpu, label);
    parameters_free(&before);
    parameters_free(&after_cpu);
    parameters_free(&after_cuda);
    free(images);
  }
  ipro_trainer_free(cuda);
  ipro_trainer_free(cpu);
  free(cut_points);
  ipro_graph_free(network);
}

static void check_model_training(const char *path, const char *name, void *cuda) {
  for (int K = 1; K <= 2; K++)
    check_training(cuda, path, name, K);
}

/* Read by AddressSanitizer at start-up (the ASAN_OPTIONS of the environment still apply on top). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "protect_shadow_gap=0"; }
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
  return "leak:libcuda.so\nleak:libcudart.so\nleak:libcudnn\nleak:libcublas\n";
}

/* IPRO_PRECOMPILED_KERNELS=DIR: the kernels of DIR's compiled program, for the CPU it records. */
static bool use_precompiled_kernels(ipro_error *err) {
  const char *directory = getenv("IPRO_PRECOMPILED_KERNELS");
  if (!directory || !directory[0]) return true;
  char path[4200];
  ipro_program_path(directory, path, sizeof path);
  ipro_program program;
  bool used =
      ipro_program_read(path, &program, err) == IPRO_OK &&
      ipro_precompiled_kernels_use(directory, program.cpu, program.cpu_features,
                                   program.host_kernels, program.ptx_kernels, err) == IPRO_OK;
  ipro_program_release(&program);
  if (used) printf("generated kernels: precompiled, from %s\n", directory);
  return used;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  ipro_error err = {{0}};
  if (!use_precompiled_kernels(&err)) {
    printf("FAIL: IPRO_PRECOMPILED_KERNELS: %s\n", err.message);
    return 1;
  }
  ipro_backend *cuda = NULL;
  if (ipro_backend_create_cuda(&cuda, &err) != IPRO_OK)
    return ipro_test_cuda_unavailable(err.message);
  CHECK_OK(ipro_backend_create_cuda_planning(&planning, &err), &err);
  if (!planning) {
    cuda->destroy(cuda);
    return ipro_test_finish();
  }
  /* By hand, an argument picks the models whose name contains it. */
  int models = ipro_test_for_each_model(argc > 1 ? argv[1] : NULL, check_model_training, cuda);
  CHECK_MSG(models > 0, "no bundled models");
  CHECK_EQ_INT(cuda->bytes_in_use, 0);
  cuda->destroy(cuda);
  planning->destroy(planning);
  return ipro_test_finish();
}
