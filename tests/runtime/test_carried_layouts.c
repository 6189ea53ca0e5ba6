/* Activations carried channel-blocked between oneDNN kernels (runtime/onednn/onednn_layouts.c):
 * - a training step with carried layouts gives the loss of the step with every tensor plain
 *   (IPRO_ONEDNN_PLAIN_LAYOUTS=1), and a parameter update as close to the reference kernels'
 *   (double) as the plain step's, for the bundled models end to end (a tiny EfficientNet from
 *   torch.export among them, whose spatial ReduceMeans run as oneDNN global pools) and ResNet-8 at
 *   K = 2; and
 *   the carried run really carries tensors (on a CPU with AVX2 or AVX-512, where the backend
 *   carries any: in blocks of 8 channels or 16); at K = 2 the activation handed from one module
 *   to the next is written in the layout the next module reads it in, channel-blocked where both
 *   ends can be (ResNet-8's 32 channels, MobileNetV2's 24 in blocks of 8) and plain where they
 *   cannot (DenseNet's next block reads its input through a Concat; ResNet-8's modules built
 *   without the handoff's copy, where module 1's decoder reads the cut tensor plain, so module 2
 *   is made again to read it plain); and a pipeline stage holding either module alone writes and
 *   reads the handoff in those same layouts;
 * - a node that the oneDNN backend will not run goes to the reference fallback with its operands
 *   plain: a ResNet-8 whose second Conv is refused (its input would be carried otherwise) gives
 *   the reference backend's logits;
 * - a tensor between a Conv and a Relu is carried, one between two Relus is not (element-wise
 *   kernels alone would only pay reorders at the ends of the chain);
 * - an Identity that is a view keeps its two ends in one layout (Conv or Sigmoid on either side);
 * - an element-wise kernel whose input lies in another layout than its output (Conv -> Relu ->
 *   graph output, graph input -> Relu -> Conv) gives the reference's values, with 16 channels
 *   and with 12, which lie in padded blocks (of 16; two of 8 without AVX-512: the padding's zeros
 *   go through the kernels);
 * - 12 channels are carried in padded blocks, 3 are not (16 would be more than a third over),
 *   and IPRO_ONEDNN_PADDED_LAYOUTS=0 carries only full blocks; DenseNet-small, whose activations
 *   mostly have 12 to 66 channels, trains with padded blocks as it does plain. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/training_graph.h"
#include "frontend/hand_graph.h"
#include "runtime/executor.h"
#include "runtime/trainer.h"
#include "support/bundled_models.h"
#include "support/check.h"
#include "support/command.h"
#include "support/fixed_batch_runs.h"
#include "support/tensor_checks.h"

/* The forward (the step's loss) within 1e-4, relative; and the carried run's update no further
 * from the reference kernels' (double) than the plain run's, within half as much again plus 1e-2
 * of its norm. A deep network trained on 4 images amplifies float32 rounding in its backward
 * pass (on ResNet-32 the plain run's update is 1.6% from the reference's), so the oracle is the
 * reference, and the plain layouts' distance to it the allowance. The 1e-2 is for a Relu whose
 * input is within rounding of 0: the float paths may put it on either side, which changes its
 * gradient mask, so runs that differ only in summation order can differ by a few 1e-3 (measured
 * on ResNet-8: 3.3e-3 carried against 2.4e-6 plain at batch 16 on 2 threads, 2.5e-3 for both at
 * batch 24; 1e-6 at batches 4, 8, 12, 20 and 32). A layout read wrongly moves the update by 0.3
 * to 1 (measured by staging switched off), and each kernel's layouts are checked against the
 * reference on their own (the staged cases below, runtime.test_onednn_backward). */
static void compare_runs(const char *label, const ipro_test_training_run *carried,
                         const ipro_test_training_run *plain,
                         const ipro_test_training_run *reference) {
  CHECK_EQ_INT(carried->count, plain->count);
  CHECK_EQ_INT(carried->count, reference->count);
  CHECK_MSG(fabsf(carried->loss - plain->loss) <= 1e-4f * fabsf(plain->loss),
            "%s: loss %.7g carried, %.7g plain", label, (double)carried->loss, (double)plain->loss);
  double from_carried = ipro_test_update_distance(carried, reference);
  double from_plain = ipro_test_update_distance(plain, reference);
  CHECK_MSG(reference->count > 0 && isfinite(from_carried) && isfinite(from_plain),
            "%s: no update to compare (%d parameters; distances %.3g, %.3g)", label,
            reference->count, from_carried, from_plain);
  CHECK_MSG(from_carried <= 1.5 * from_plain + 1e-2,
            "%s: the carried run's update is %.3g from the reference's, the plain run's %.3g",
            label, from_carried, from_plain);
  printf("%s: update from the reference's: carried %.3g, plain %.3g\n", label, from_carried,
         from_plain);
}

/* Whether the oneDNN backend carries h in x -> FIRST -> h -> Relu -> y, [1, 16, 2, 2] tensors;
 * FIRST is a 1x1 Conv, or a Relu. */
static bool middle_carried(bool conv_first, int64_t channels) {
  ipro_backend *onednn = NULL;
  ipro_error err = {{0}};
  if (ipro_backend_create_onednn(&onednn, &err) != IPRO_OK) return false;
  ipro_graph *g = ipro_graph_create();
  int x = ipro_graph_tensor(g, "x"), w = ipro_graph_tensor(g, "w");
  int h = ipro_graph_tensor(g, "h"), y = ipro_graph_tensor(g, "y");
  ipro_shape shape = {.rank = 4, .dims = {1, channels, 2, 2}},
             weights = {.rank = 4, .dims = {channels, channels, 1, 1}};
  int tensors[4] = {x, w, h, y};
  for (int i = 0; i < 4; i++) {
    g->tensors[tensors[i]].dtype = IPRO_DTYPE_FLOAT;
    g->tensors[tensors[i]].shape = tensors[i] == w ? weights : shape;
  }
  g->tensors[w].kind = IPRO_TENSOR_INITIALIZER;
  g->tensors[x].is_graph_input = g->tensors[y].is_graph_output = true;
  int first = ipro_graph_add_node(g, "first", conv_first ? "Conv" : "Relu", conv_first ? 2 : 1, 1);
  g->nodes[first].op = conv_first ? IPRO_OP_CONV : IPRO_OP_RELU;
  g->nodes[first].inputs[0] = x;
  if (conv_first) g->nodes[first].inputs[1] = w;
  g->nodes[first].outputs[0] = h;
  g->tensors[h].producer = first;
  int relu = ipro_graph_add_node(g, "relu", "Relu", 1, 1);
  g->nodes[relu].op = IPRO_OP_RELU, g->nodes[relu].inputs[0] = h, g->nodes[relu].outputs[0] = y;
  g->tensors[y].producer = relu;
  uint8_t layouts[4] = {0};
  onednn->choose_layouts(onednn, g, NULL, layouts);
  bool carried = layouts[h] != 0;
  ipro_graph_free(g);
  onednn->destroy(onednn);
  return carried;
}

static void check_training_copied(const char *name, const char *const *cuts, int n_cuts,
                                  bool expect_carried, int expect_handoffs, bool copy) {
  ipro_test_training_run carried, plain, reference;
  char label[128];
  snprintf(label, sizeof label, "%s K=%d%s", name, n_cuts + 1, copy ? "" : " without copies");
  const ipro_test_step_kind carried_kind = {IPRO_TEST_CARRIED_LAYOUTS, true, !copy, 0, 0};
  const ipro_test_step_kind plain_kind = {IPRO_TEST_PLAIN_LAYOUTS, true, !copy, 0, 0};
  const ipro_test_step_kind reference_kind = {IPRO_TEST_REFERENCE_KERNELS, true, !copy, 0, 0};
  if (ipro_test_train_fixed_batch(name, cuts, n_cuts, carried_kind, &carried) &&
      ipro_test_train_fixed_batch(name, cuts, n_cuts, plain_kind, &plain) &&
      ipro_test_train_fixed_batch(name, cuts, n_cuts, reference_kind, &reference)) {
    compare_runs(label, &carried, &plain, &reference);
    CHECK_MSG(plain.carried == 0, "%s: %d tensors carried with IPRO_ONEDNN_PLAIN_LAYOUTS=1", label,
              plain.carried);
    if (expect_carried)
      CHECK_MSG(carried.carried > 0, "%s: no tensor is carried channel-blocked", label);
    CHECK_MSG(carried.carried_handoffs == expect_handoffs,
              "%s: %d activations handed on channel-blocked, %d expected", label,
              carried.carried_handoffs, expect_handoffs);
    CHECK_MSG(plain.carried_handoffs == 0,
              "%s: %d handoffs carried with IPRO_ONEDNN_PLAIN_LAYOUTS=1", label,
              plain.carried_handoffs);
    printf("%s: %d tensors carried channel-blocked, %d of them handed on\n", label, carried.carried,
           carried.carried_handoffs);
  }
  ipro_test_training_run_release(&reference);
  ipro_test_training_run_release(&plain);
  ipro_test_training_run_release(&carried);
}

static void check_training(const char *name, const char *const *cuts, int n_cuts,
                           bool expect_carried, int expect_handoffs) {
  check_training_copied(name, cuts, n_cuts, expect_carried, expect_handoffs, true);
}

/* The layout module `first` of the trainer of `kind` (a pipeline stage holding it alone, or
 * the whole plan) hands its output on in (out) or reads its input in; -1 when no trainer. */
static int handoff_layout(const char *name, const char *const *cuts, int n_cuts,
                          ipro_test_step_kind kind, int module, bool out) {
  float *images = NULL;
  int64_t labels[IPRO_TEST_FIXED_BATCH];
  ipro_trainer *trainer =
      ipro_test_fixed_batch_trainer(name, cuts, n_cuts, kind, 11, &images, labels);
  int layout = -1;
  if (trainer && kind.module_count) {
    layout = out ? ipro_trainer_handoff_output_layout(trainer)
                 : ipro_trainer_handoff_input_layout(trainer);
  } else if (trainer) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, module);
    layout = ipro_executor_tensor_layout(ipro_trainer_module_executor(trainer, module),
                                         out ? graph->outputs[0] : graph->inputs[0]);
  }
  free(images);
  ipro_trainer_free(trainer);
  return layout;
}

/* Each rank of `mpirun` holds one module of K = 2 (a trainer's first_module and module_count)
 * and plans its neighbour to agree with it on their handoff's layout: the layouts it writes and
 * reads are those of the whole trainer's modules. */
static void check_stages(const char *name, const char *const *cuts, bool copy) {
  const ipro_test_step_kind whole = {IPRO_TEST_CARRIED_LAYOUTS, true, !copy, 0, 0};
  const ipro_test_step_kind first = {IPRO_TEST_CARRIED_LAYOUTS, true, !copy, 0, 1};
  const ipro_test_step_kind second = {IPRO_TEST_CARRIED_LAYOUTS, true, !copy, 1, 1};
  int written = handoff_layout(name, cuts, 1, whole, 0, true);
  int read = handoff_layout(name, cuts, 1, whole, 1, false);
  int sent = handoff_layout(name, cuts, 1, first, 0, true);
  int received = handoff_layout(name, cuts, 1, second, 1, false);
  CHECK_MSG(sent == written && received == read,
            "%s K=2%s: the stages hand on in layout %d and read layout %d, one trainer's modules "
            "in %d and %d",
            name, copy ? "" : " without copies", sent, received, written, read);
}

/* The losses of `steps` steps on a fixed batch, with carried or plain layouts, the training
 * block (every module's arena and handoffs) filled with NaN before each step: whatever a step
 * reads that it did not write in that step, padding left stale from another tensor among it,
 * turns the loss into NaN. */
static bool poisoned_losses(const char *name, const char *const *cuts, int n_cuts, bool plain,
                            int steps, float *losses) {
  float *images = NULL;
  int64_t labels[IPRO_TEST_FIXED_BATCH];
  ipro_test_step_kind kind = {plain ? IPRO_TEST_PLAIN_LAYOUTS : IPRO_TEST_CARRIED_LAYOUTS, true,
                              false, 0, 0};
  ipro_trainer *trainer =
      ipro_test_fixed_batch_trainer(name, cuts, n_cuts, kind, 11, &images, labels);
  if (!trainer) return unsetenv("IPRO_ONEDNN_PLAIN_LAYOUTS"), false;
  ipro_error err = {{0}};
  bool ok = true;
  for (int s = 0; ok && s < steps; s++) {
    memset(ipro_trainer_block(trainer), 0xff, ipro_trainer_block_bytes(trainer)); /* NaN */
    ok = ipro_trainer_step(trainer, images, labels, 0.05f, &losses[s], &err) == IPRO_OK;
    CHECK_OK(ok ? IPRO_OK : IPRO_ERROR, &err);
  }
  free(images);
  ipro_trainer_free(trainer);
  unsetenv("IPRO_ONEDNN_PLAIN_LAYOUTS");
  return ok;
}

static void check_poisoned(const char *name, const char *const *cuts, int n_cuts) {
  enum { STEPS = 3 };
  float carried[STEPS], plain[STEPS];
  if (!poisoned_losses(name, cuts, n_cuts, false, STEPS, carried) ||
      !poisoned_losses(name, cuts, n_cuts, true, STEPS, plain))
    return;
  for (int s = 0; s < STEPS; s++)
    CHECK_MSG(
        isfinite(carried[s]) && fabsf(carried[s] - plain[s]) <= 1e-3f * fabsf(plain[s]) + 1e-4f,
        "%s K=%d, arena poisoned with NaN before each step: step %d loss %g carried, %g plain",
        name, n_cuts + 1, s + 1, (double)carried[s], (double)plain[s]);
}

/* The executor's fallback: the oneDNN backend is made to refuse one node. */
static bool (*real_supports)(const ipro_backend *, const ipro_graph *, const ipro_node *);
static const char *refused_node;

static bool refusing_supports(const ipro_backend *self, const ipro_graph *graph,
                              const ipro_node *node) {
  if (node->name && strcmp(node->name, refused_node) == 0) return false;
  return real_supports(self, graph, node);
}

static void run_graph(const ipro_graph *graph, ipro_backend *backend, ipro_backend *fallback,
                      const float *images, float *logits, int *primary_steps) {
  ipro_error err = {{0}};
  ipro_executor *executor = NULL;
  CHECK_OK(ipro_executor_create(graph, backend, fallback, &executor, &err), &err);
  if (!executor) return;
  const void *inputs[1] = {images};
  void *outputs[1] = {logits};
  CHECK_OK(ipro_executor_run(executor, inputs, outputs, &err), &err);
  if (primary_steps) *primary_steps = ipro_executor_primary_steps(executor);
  ipro_executor_free(executor);
}

static void check_fallback_in_plain_layout(bool expect_carried) {
  char path[1024];
  ipro_test_path(path, sizeof path, "models/resnet8_fmnist.onnx");
  ipro_graph *graph = ipro_test_open_inference_graph(path, 2);
  if (!graph) return;
  int convs = 0;
  const ipro_node *second = NULL;
  for (int n = 0; n < graph->n_nodes && !second; n++)
    if (graph->nodes[n].op == IPRO_OP_CONV && ++convs == 2) second = &graph->nodes[n];
  CHECK(second != NULL);
  if (!second) return;
  ipro_error err = {{0}};
  ipro_backend *onednn = NULL, *reference = NULL, *alone = NULL;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&alone, &err), &err);
  if (!onednn || !reference || !alone) return;
  /* The refused Conv reads a tensor the backend would carry channel-blocked. */
  uint8_t *layouts = calloc((size_t)graph->n_tensors + 1, 1);
  onednn->choose_layouts(onednn, graph, NULL, layouts);
  if (expect_carried)
    CHECK_MSG(layouts[second->inputs[0]] != 0, "the second Conv's input would not be carried");
  free(layouts);
  real_supports = onednn->supports_forward;
  refused_node = second->name;
  onednn->supports_forward = refusing_supports;

  const ipro_tensor *image = &graph->tensors[graph->inputs[0]];
  const ipro_tensor *output = &graph->tensors[graph->outputs[0]];
  size_t pixels = (size_t)ipro_tensor_bytes(image) / sizeof(float);
  size_t classes = (size_t)ipro_tensor_bytes(output) / sizeof(float);
  float *images = malloc(pixels * sizeof(float));
  float *got = calloc(classes, sizeof(float)), *expected = calloc(classes, sizeof(float));
  for (size_t i = 0; i < pixels; i++)
    images[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  int primary = 0, all_nodes = 0;
  run_graph(graph, onednn, reference, images, got, &primary);
  run_graph(graph, alone, NULL, images, expected, &all_nodes);
  CHECK_MSG(primary > 0 && primary < all_nodes, "the refused Conv did not go to the fallback");
  ipro_test_compare_scaled("a Conv on the fallback", "logits", got, expected, (int64_t)classes);
  onednn->supports_forward = real_supports;
  free(images);
  free(got);
  free(expected);
  onednn->destroy(onednn);
  reference->destroy(reference);
  alone->destroy(alone);
  ipro_graph_free(graph);
}

/* The hand graph g ending in output y, padded 3x3 Convs, normalised and inferred, run on oneDNN
 * (the reference behind it) and on the reference kernels alone with the same random images of
 * `elements` values (at most 2 x 16 x 5 x 4): its outputs compared. Frees g. */
static void compare_hand_graph(ipro_graph *g, const char *label, const char *what, int64_t elements,
                               uint64_t *state) {
  for (int n = 0; n < g->n_nodes; n++)
    if (g->nodes[n].op_type[0] == 'C')
      hand_require(ipro_node_set_ints(&g->nodes[n], "pads", (int64_t[]){1, 1, 1, 1}, 4) == IPRO_OK);
  hand_output(g, "y");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  ipro_backend *onednn = NULL, *reference = NULL, *alone = NULL;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&reference, &err), &err);
  CHECK_OK(ipro_backend_create_reference(&alone, &err), &err);
  float images[2 * 16 * 5 * 4], got[2 * 16 * 5 * 4], expected[2 * 16 * 5 * 4];
  for (int64_t i = 0; i < elements; i++)
    images[i] = ipro_test_random_uniform(state);
  if (onednn && reference && alone) {
    run_graph(g, onednn, reference, images, got, NULL);
    run_graph(g, alone, NULL, images, expected, NULL);
    ipro_test_compare_scaled(label, what, got, expected, elements);
  }
  if (onednn) onednn->destroy(onednn);
  if (reference) reference->destroy(reference);
  if (alone) alone->destroy(alone);
  ipro_graph_free(g);
}

/* An element-wise kernel whose input lies in another layout than its output reorders it first:
 * x -> Conv -> h -> Relu -> y stages h (carried) into plain for the Relu, and x -> Relu -> r ->
 * Conv -> y stages x (plain) into the blocked layout of r. Both against the reference kernels. */
static void check_staged(bool relu_first, int64_t channels) {
  const int64_t x_dims[4] = {2, channels, 5, 4}, w_dims[4] = {channels, channels, 3, 3};
  ipro_graph *g = hand_graph(19);
  hand_input(g, "x", 4, x_dims);
  float weights[16 * 16 * 9] = {0};
  uint64_t state = 99;
  for (int64_t i = 0; i < channels * channels * 9; i++)
    weights[i] = ipro_test_random_uniform(&state) * 0.2f;
  hand_initializer(g, "w", IPRO_DTYPE_FLOAT, 4, w_dims, weights);
  if (relu_first) {
    hand_node(g, "relu", "Relu", "x", "r");
    hand_node(g, "conv", "Conv", "r,w", "y");
  } else {
    hand_node(g, "conv", "Conv", "x,w", "h");
    hand_node(g, "relu", "Relu", "h", "y");
  }
  char label[64];
  snprintf(label, sizeof label, "x -> %s, %lld channels",
           relu_first ? "Relu -> Conv" : "Conv -> Relu", (long long)channels);
  compare_hand_graph(g, label, "a staged element-wise input's result", 2 * channels * 5 * 4,
                     &state);
}

/* An Identity between two nodes, x -> first -> a -> Identity -> b -> second -> y, is a view (b
 * shares a's bytes), so a and b must lie alike: a Conv's output read as plain by a Sigmoid, a
 * Sigmoid's plain output read by a Conv, and a Conv's read by a Conv, against the reference
 * kernels. (Identity once took its input in the backend's layout and its output plain, which
 * as a view gave a's blocked bytes to the Sigmoid: 0.277 off.) */
static void check_identity_view(const char *first, const char *second) {
  const int64_t x_dims[4] = {2, 16, 5, 4}, w_dims[4] = {16, 16, 3, 3};
  ipro_graph *g = hand_graph(23);
  hand_input(g, "x", 4, x_dims);
  float weights[16 * 16 * 9];
  uint64_t state = 7;
  for (int i = 0; i < 16 * 16 * 9; i++)
    weights[i] = ipro_test_random_uniform(&state) * 0.2f;
  hand_initializer(g, "w", IPRO_DTYPE_FLOAT, 4, w_dims, weights);
  bool first_conv = strcmp(first, "Conv") == 0, second_conv = strcmp(second, "Conv") == 0;
  hand_node(g, "first", first, first_conv ? "x,w" : "x", "a");
  hand_node(g, "copy", "Identity", "a", "b");
  hand_node(g, "second", second, second_conv ? "b,w" : "b", "y");
  char label[64];
  snprintf(label, sizeof label, "x -> %s -> Identity -> %s", first, second);
  compare_hand_graph(g, label, "an Identity view's result", 2 * 16 * 5 * 4, &state);
}

int main(void) {
  /* whether the backend should carry anything here, from the CPU's own flags, not from the
   * feature under test */
  bool carries = ipro_test_cpu_has_avx2();
  CHECK_MSG(middle_carried(true, 16) == carries,
            "a tensor between a Conv and a Relu is %scarried on a CPU %s AVX2",
            carries ? "not " : "", carries ? "with" : "without");
  if (!carries)
    printf("skipped: the carried-layout checks (this CPU has no AVX2, so the oneDNN backend "
           "carries every tensor plain); the equality checks still run\n");
  static const char *const resnet8_cut[] = {"/layer2/layer2.0/Relu_1_output_0"};
  check_training("resnet8_fmnist", NULL, 0, carries, 0);
  check_training("resnet8_fmnist", resnet8_cut, 1, carries, carries ? 1 : 0);
  /* without the copy, module 1 hands on the cut tensor itself, which its decoder's upsampling
   * reads plain: module 2, which would read it channel-blocked, is made again to read it plain */
  check_training_copied("resnet8_fmnist", resnet8_cut, 1, carries, 0, false);
  check_stages("resnet8_fmnist", resnet8_cut, true);
  check_stages("resnet8_fmnist", resnet8_cut, false);
  check_training("resnet32", NULL, 0, carries, 0);
  check_training("mobilenetv2_small", NULL, 0, false, 0);
  /* DenseNet's 12 to 66 channels lie in padded blocks */
  check_training("densenet_small", NULL, 0, carries, 0);
  static const char *const densenet_cut[] = {"/block1/block1.1/Concat_output_0"};
  static const char *const mobilenet_cut[] = {"/features/features.5/Add_output_0"};
  /* its handoff (48 channels) is read by the next block's Concat, which takes it plain */
  check_training("densenet_small", densenet_cut, 1, carries, 0);
  /* 24 channels fill blocks of 8, not of 16 (AVX-512) */
  check_training("mobilenetv2_small", mobilenet_cut, 1, false,
                 carries && !ipro_test_cpu_has_avx512_core() ? 1 : 0);
  /* torch.export's squeeze-and-excitation means: ReduceMean and its gradient as global pools */
  check_training("effnet_tiny_dynamo_fmnist", NULL, 0, carries, 0);
  /* the data movers on oneDNN reorders: Split, Slice and its gradient's Pad, Transpose */
  check_training("split_cnn_fmnist", NULL, 0, false, 0);
  check_training("mixer_dynamo_fmnist", NULL, 0, false, 0);
  check_fallback_in_plain_layout(carries);
  check_identity_view("Conv", "Sigmoid");
  check_identity_view("Sigmoid", "Conv");
  check_identity_view("Conv", "Conv");
  /* padding is not re-zeroed on every run: what is read must have been written in the step */
  check_poisoned("densenet_small", NULL, 0);
  check_poisoned("resnet8_fmnist", resnet8_cut, 1);
  check_staged(false, 16);
  check_staged(true, 16);
  check_staged(false, 12); /* padded blocks, and element-wise kernels over them */
  check_staged(true, 12);
  /* Element-wise kernels alone gain nothing from the blocked layout, only reorders at its edges. */
  CHECK_MSG(!middle_carried(false, 16), "a tensor between two Relus is carried");
  /* 12 channels in padded blocks of 16; 3 would take 16, more than a third over: plain; and
   * IPRO_ONEDNN_PADDED_LAYOUTS=0 keeps to full blocks */
  CHECK_MSG(middle_carried(true, 12) == carries, "12 channels between a Conv and a Relu are %s",
            carries ? "not carried in padded blocks" : "carried without AVX2");
  CHECK_MSG(!middle_carried(true, 3), "3 channels are carried in padded blocks");
  setenv("IPRO_ONEDNN_PADDED_LAYOUTS", "0", 1);
  CHECK_MSG(!middle_carried(true, 12), "IPRO_ONEDNN_PADDED_LAYOUTS=0 still pads 12 channels");
  CHECK_MSG(middle_carried(true, 16) == carries,
            "IPRO_ONEDNN_PADDED_LAYOUTS=0 changed 16 channels");
  unsetenv("IPRO_ONEDNN_PADDED_LAYOUTS");
  return ipro_test_finish();
}
