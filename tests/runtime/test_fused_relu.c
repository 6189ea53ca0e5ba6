/* BatchNormalization and Add fused with the ReLU after them (codegen/fusion.h):
 * - the pass fuses exactly the normalisations and Adds whose output only a ReLU reads (counted
 *   on the unfused program, a rule simpler than the pass's), removes the ReLU and, after a
 *   normalisation, its gradient (two nodes per normalisation, one per Add), joins a training
 *   normalisation that only such an Add reads with it (fused_add_relu: the Add goes too),
 *   folds a two-term Sum into the ReLU gradient that alone reads it (one node each), and leaves
 *   a pair alone whose normalised tensor is a graph output;
 * - a training step of the fused program on the reference kernels (in double) gives the unfused
 *   program's loss and parameters, bit for bit: the fused reference kernels against the unfused
 *   ones;
 * - on oneDNN, with layouts carried, with every tensor plain (the fused kernels then normalise
 *   channel-blocked copies, IPRO_ONEDNN_RELU_MASK) and with 12-channel tensors kept plain
 *   (IPRO_ONEDNN_PADDED_LAYOUTS=0: DenseNet's normalisations then run in the plain layout, their
 *   mask in the bool tensor's bytes), the fused step gives the unfused step's loss within 1e-4
 *   and an update as close to the reference kernels' as the unfused step's, within half as much
 *   again plus 1e-4 of its norm (measured: 1.2e-6 to 6.5e-6 for both; a ReLU input within rounding
 *   of zero could flip a mask element between the two, which test_carried_layouts allows 1e-2
 *   for; none did here, and 1e-4 keeps a wrong mask on a few channels visible); the runs are
 *   checked to use both mask forms, and both ways of running a normalisation joined with its
 *   Add (the loop of runtime/onednn/cpu_norm_add_relu.c where its tensors are carried blocked,
 *   oneDNN's normalisation and an in-place Add where they are plain), and ResNet-32 cut at
 *   layer1.3 (K = 2), whose module 2 adds its plain input in its first block (reordered for
 *   the loop), trains within the same bounds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/fusion.h"
#include "runtime/trainer.h"
#include "support/bundled_models.h"
#include "support/check.h"
#include "support/command.h"
#include "support/fixed_batch_runs.h"
#include "support/tensor_checks.h"

/* The nodes of op whose output 0, not a graph output, exactly one node, a Relu, reads. */
static int before_relu(const ipro_graph *graph, ipro_op op, int *first) {
  int count = 0;
  *first = -1;
  for (int n = 0; n < graph->n_nodes; n++) {
    if (graph->nodes[n].op != op) continue;
    int y = graph->nodes[n].outputs[0], readers = 0, relu_readers = 0;
    for (int m = 0; m < graph->n_nodes; m++)
      for (int i = 0; i < graph->nodes[m].n_inputs; i++)
        if (graph->nodes[m].inputs[i] == y) {
          readers++;
          relu_readers += graph->nodes[m].op == IPRO_OP_RELU;
        }
    if (readers == 1 && relu_readers == 1 && !graph->tensors[y].is_graph_output) {
      if (*first < 0) *first = n;
      count++;
    }
  }
  return count;
}

/* The number of nodes that read tensor t. */
static int readers_of(const ipro_graph *graph, int t) {
  int readers = 0;
  for (int m = 0; m < graph->n_nodes; m++)
    for (int i = 0; i < graph->nodes[m].n_inputs; i++)
      readers += graph->nodes[m].inputs[i] == t;
  return readers;
}

/* The two-term Sums that a ReLU's gradient alone reads, where that ReLU does not follow a
 * normalisation it alone reads whose output is not a graph output (whose pair takes the
 * gradient in). */
static int sums_before_relu_grad(const ipro_graph *graph) {
  int count = 0;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *u = &graph->nodes[n];
    if (u->op != IPRO_OP_UNARY_GRAD || ipro_node_attr_int(u, "forward_op", -1) != IPRO_OP_RELU)
      continue;
    int s = graph->tensors[u->inputs[0]].producer, relu = graph->tensors[u->inputs[1]].producer;
    if (s < 0 || graph->nodes[s].op != IPRO_OP_SUM || graph->nodes[s].n_inputs != 2 ||
        readers_of(graph, u->inputs[0]) != 1 || relu < 0)
      continue;
    int before = graph->tensors[graph->nodes[relu].inputs[0]].producer;
    int normalised = graph->nodes[relu].inputs[0];
    count += !(before >= 0 && graph->nodes[before].op == IPRO_OP_BATCH_NORMALIZATION &&
               readers_of(graph, normalised) == 1 && !graph->tensors[normalised].is_graph_output);
  }
  return count;
}

/* The Adds before a ReLU (as before_relu counts them) one of whose operands a training
 * normalisation writes that this Add alone reads, not a graph output, the other of its shape. */
static int norms_before_add_relu(const ipro_graph *graph) {
  int count = 0;
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *add = &graph->nodes[n];
    int y = add->outputs[0];
    if (add->op != IPRO_OP_ADD || add->n_inputs != 2 || readers_of(graph, y) != 1 ||
        graph->tensors[y].is_graph_output)
      continue;
    bool relu = false;
    for (int m = 0; m < graph->n_nodes; m++)
      relu = relu || (graph->nodes[m].op == IPRO_OP_RELU && graph->nodes[m].inputs[0] == y);
    bool joined = false;
    for (int i = 0; relu && i < 2 && !joined; i++) {
      int t = add->inputs[i], other = add->inputs[1 - i], p = graph->tensors[t].producer;
      joined = p >= 0 && graph->nodes[p].op == IPRO_OP_BATCH_NORMALIZATION &&
               ipro_node_attr_int(&graph->nodes[p], "training_mode", 0) &&
               readers_of(graph, t) == 1 && !graph->tensors[t].is_graph_output &&
               ipro_shape_equal(&graph->tensors[t].shape, &graph->tensors[other].shape);
    }
    count += joined;
  }
  return count;
}

static int fused_nodes(const ipro_graph *graph, ipro_op op) {
  int count = 0;
  for (int n = 0; n < graph->n_nodes; n++)
    count += graph->nodes[n].op == op && ipro_node_attr_int(&graph->nodes[n], "fused_relu", 0);
  return count;
}

static void check_pass(const char *name, bool expect_pairs) {
  ipro_graph *unfused = ipro_test_training_program(name, IPRO_TEST_FIXED_BATCH, false);
  ipro_graph *fused = ipro_test_training_program(name, IPRO_TEST_FIXED_BATCH, true);
  if (unfused && fused) {
    int first, first_add;
    int norms = before_relu(unfused, IPRO_OP_BATCH_NORMALIZATION, &first);
    int adds = before_relu(unfused, IPRO_OP_ADD, &first_add);
    int sums = sums_before_relu_grad(unfused);
    int norm_adds = norms_before_add_relu(unfused);
    int fused_norms = fused_nodes(fused, IPRO_OP_BATCH_NORMALIZATION);
    int fused_adds = fused_nodes(fused, IPRO_OP_ADD), fused_sums = 0, fused_norm_adds = 0;
    for (int n = 0; n < fused->n_nodes; n++) {
      fused_sums += fused->nodes[n].op == IPRO_OP_UNARY_GRAD && fused->nodes[n].n_inputs == 3;
      fused_norm_adds += fused->nodes[n].op == IPRO_OP_BATCH_NORMALIZATION &&
                         ipro_node_attr_int(&fused->nodes[n], "fused_add_relu", 0) &&
                         fused->nodes[n].n_inputs == 6;
    }
    CHECK_MSG(fused_norms == norms && fused_adds + fused_norm_adds == adds &&
                  fused_norm_adds == norm_adds && fused_sums == sums,
              "%s: %d normalisations, %d Adds, %d normalisations + Adds and %d Sums fused; %d, "
              "%d, %d and %d expected",
              name, fused_norms, fused_adds, fused_norm_adds, fused_sums, norms, adds - norm_adds,
              norm_adds, sums);
    /* each fused pair loses its ReLU (and a normalisation's its gradient), each normalisation
     * joined with its Add loses the Add too */
    CHECK_MSG(unfused->n_nodes - fused->n_nodes ==
                  2 * fused_norms + fused_adds + 2 * fused_norm_adds + fused_sums,
              "%s: %d nodes unfused, %d fused, for %d normalisations, %d Adds, %d normalisations "
              "+ Adds and %d Sums",
              name, unfused->n_nodes, fused->n_nodes, fused_norms, fused_adds, fused_norm_adds,
              fused_sums);
    CHECK_MSG(!expect_pairs || fused_norms > 0, "%s: no normalisation fused", name);
    printf("%s: %d BatchNormalization + Relu, %d Add + Relu, %d BatchNormalization + Add + Relu, "
           "%d Sum + ReLU gradient fused\n",
           name, fused_norms, fused_adds, fused_norm_adds, fused_sums);
    /* a normalised tensor that is a graph output stays: the pair is left unfused */
    if (first >= 0) {
      ipro_error err = {{0}};
      ipro_fused_counts again = {-1, -1, -1, -1};
      unfused->tensors[unfused->nodes[first].outputs[0]].is_graph_output = true;
      int ignored, norms_again = before_relu(unfused, IPRO_OP_BATCH_NORMALIZATION, &ignored);
      int sums_again = sums_before_relu_grad(unfused);
      CHECK_OK(ipro_fuse_relu(unfused, &again, &err), &err);
      CHECK_MSG(norms_again == norms - 1 && again.batch_norm_relu == norms_again &&
                    again.add_relu == adds && again.batch_norm_add_relu == norm_adds &&
                    again.sum_relu_grad == sums_again,
                "%s: %d normalisations, %d Adds and %d Sums fused with one normalised tensor an "
                "output; %d, %d and %d expected",
                name, again.batch_norm_relu, again.add_relu, again.sum_relu_grad, norms_again, adds,
                sums_again);
    }
  }
  ipro_graph_free(unfused);
  ipro_graph_free(fused);
}

/* How many fused normalisations' masks the oneDNN backend gives its blocked code, and how many
 * it leaves plain; and how many normalisations joined with their Add have X, the tensor added and
 * Z all channel-blocked (the loop of cpu_norm_add_relu.c runs them) and how many do not
 * (oneDNN's normalisation, then the Add in place). */
typedef struct {
  int blocked, plain, joined_looped, joined_other;
  int joined_staged; /* looped, with the tensor added lying plain (reordered first) */
} layout_forms;

/* Whether the loop of cpu_norm_add_relu.c runs where the tensors are carried blocked: AVX-512's
 * over 16-channel blocks, AVX2's (with FMA) over 8. */
static bool norm_add_loop_runs(void) {
  static const char *const avx2[] = {"avx2", "fma"};
  return ipro_test_cpu_has_avx512_core() || ipro_test_cpu_has_flags(avx2, 2);
}

/* Whether the backend builds the node, under these layouts, as one of its own loops (the loop of
 * cpu_norm_add_relu.c, a reorder of the added tensor before it where that lies plain): the
 * kernel itself, not the rule the test expects it by. */
static bool built_as_loop(ipro_backend *backend, const ipro_graph *graph, const ipro_node *node,
                          const uint8_t *layouts) {
  const uint8_t *saved = backend->layouts;
  backend->layouts = layouts;
  ipro_kernel *kernel = NULL;
  ipro_error err = {{0}};
  bool loop = backend->prepare_forward(backend, graph, node, &kernel, &err) == IPRO_OK && kernel &&
              ipro_test_onednn_runs_loop(kernel);
  if (kernel) kernel->destroy(kernel);
  backend->layouts = saved;
  return loop;
}

static void mask_forms(ipro_trainer *trainer, layout_forms *forms) {
  ipro_backend *backend = ipro_trainer_backend(trainer);
  for (int k = 0; k < ipro_trainer_module_count(trainer) && backend->choose_layouts; k++) {
    const ipro_graph *graph = ipro_trainer_module_graph(trainer, k);
    uint8_t *layouts = calloc((size_t)graph->n_tensors + 1, 1);
    if (!layouts) return;
    backend->choose_layouts(backend, graph, NULL, layouts);
    for (int n = 0; n < graph->n_nodes; n++) {
      const ipro_node *node = &graph->nodes[n];
      if (node->op == IPRO_OP_BATCH_NORMALIZATION &&
          ipro_node_attr_int(node, "fused_add_relu", 0)) {
        bool looped = built_as_loop(backend, graph, node, layouts);
        forms->joined_staged += looped && !layouts[node->inputs[5]];
        if (looped)
          forms->joined_looped++;
        else
          forms->joined_other++;
      }
      if (node->op != IPRO_OP_BATCH_NORMALIZATION || node->n_outputs < 6 || node->outputs[5] < 0)
        continue;
      if (layouts[node->outputs[5]])
        forms->blocked++;
      else
        forms->plain++;
    }
    free(layouts);
  }
}

static bool step(const char *name, const char *const *cuts, int n_cuts, ipro_test_kernels kernels,
                 bool fuse, ipro_test_training_run *run) {
  return ipro_test_train_fixed_batch(name, cuts, n_cuts,
                                     (ipro_test_step_kind){kernels, fuse, false, 0, 0}, run);
}

/* The largest difference between two runs' trained parameters; infinite where their counts
 * differ or either holds a NaN (fmax would pass a NaN over). */
static double largest_difference(const ipro_test_training_run *a, const ipro_test_training_run *b) {
  double largest = a->count == b->count ? 0 : INFINITY;
  for (int p = 0; p < a->count && p < b->count; p++) {
    if (a->elements[p] != b->elements[p]) largest = INFINITY;
    for (size_t i = 0; i < a->elements[p] && a->elements[p] == b->elements[p]; i++) {
      double d = fabs((double)a->after[p][i] - b->after[p][i]);
      if (!(d <= largest)) largest = isnan(d) ? INFINITY : d;
    }
  }
  return largest;
}

static void check_steps(const char *label, const char *name, const char *const *cuts, int n_cuts,
                        ipro_test_kernels kernels) {
  ipro_test_training_run reference, reference_fused, unfused, fused;
  if (step(name, cuts, n_cuts, IPRO_TEST_REFERENCE_KERNELS, false, &reference) &&
      step(name, cuts, n_cuts, IPRO_TEST_REFERENCE_KERNELS, true, &reference_fused) &&
      step(name, cuts, n_cuts, kernels, false, &unfused) &&
      step(name, cuts, n_cuts, kernels, true, &fused)) {
    CHECK_MSG(reference_fused.loss == reference.loss &&
                  largest_difference(&reference_fused, &reference) == 0,
              "%s: reference kernels, fused against unfused: loss %.9g against %.9g, parameters "
              "up to %.3g apart",
              label, (double)reference_fused.loss, (double)reference.loss,
              largest_difference(&reference_fused, &reference));
    CHECK_MSG(fabsf(fused.loss - unfused.loss) <= 1e-4f * fabsf(unfused.loss),
              "%s: loss %.7g fused, %.7g unfused", label, (double)fused.loss, (double)unfused.loss);
    double from_fused = ipro_test_update_distance(&fused, &reference);
    double from_unfused = ipro_test_update_distance(&unfused, &reference);
    CHECK_MSG(reference.count > 0 && isfinite(from_fused) && isfinite(from_unfused),
              "%s: no update to compare (%d parameters; distances %.3g, %.3g)", label,
              reference.count, from_fused, from_unfused);
    CHECK_MSG(from_fused <= 1.5 * from_unfused + 1e-4,
              "%s: the fused step's update is %.3g from the reference's, the unfused step's %.3g",
              label, from_fused, from_unfused);
    printf("%s: update from the reference's: fused %.3g, unfused %.3g\n", label, from_fused,
           from_unfused);
  }
  ipro_test_training_run_release(&reference);
  ipro_test_training_run_release(&reference_fused);
  ipro_test_training_run_release(&unfused);
  ipro_test_training_run_release(&fused);
}

/* The mask forms a fused run of the model uses (layout switches as the caller set them). */
static void count_mask_forms(const char *name, const char *const *cuts, int n_cuts,
                             ipro_test_kernels kernels, layout_forms *forms) {
  float *images = NULL;
  int64_t labels[IPRO_TEST_FIXED_BATCH];
  ipro_trainer *trainer = ipro_test_fixed_batch_trainer(
      name, cuts, n_cuts, (ipro_test_step_kind){kernels, true, false, 0, 0}, 7, &images, labels);
  if (trainer) mask_forms(trainer, forms);
  free(images);
  ipro_trainer_free(trainer);
  unsetenv("IPRO_ONEDNN_PLAIN_LAYOUTS");
}

/* A training step of name's fused program gives the unfused program's loss and update on the
 * reference kernels (in double, where the fused activation's parts are no longer rounded to
 * float32 between them: within 1e-6 of the loss and 1e-5 of the update's norm) and on oneDNN as
 * close to the reference's as the unfused step is, within half as much again plus 1e-4. */
static void compare_fused_steps(const char *name, const char *what) {
  ipro_test_training_run reference, reference_fused, unfused_run, fused_run;
  if (step(name, NULL, 0, IPRO_TEST_REFERENCE_KERNELS, false, &reference) &&
      step(name, NULL, 0, IPRO_TEST_REFERENCE_KERNELS, true, &reference_fused) &&
      step(name, NULL, 0, IPRO_TEST_CARRIED_LAYOUTS, false, &unfused_run) &&
      step(name, NULL, 0, IPRO_TEST_CARRIED_LAYOUTS, true, &fused_run)) {
    double reference_gap = ipro_test_update_distance(&reference_fused, &reference);
    CHECK_MSG(fabsf(reference_fused.loss - reference.loss) <= 1e-6f * fabsf(reference.loss) &&
                  reference_gap <= 1e-5,
              "%s: reference kernels, fused against unfused: loss %.9g against %.9g, update %.3g "
              "apart",
              name, (double)reference_fused.loss, (double)reference.loss, reference_gap);
    double from_fused = ipro_test_update_distance(&fused_run, &reference);
    double from_unfused = ipro_test_update_distance(&unfused_run, &reference);
    CHECK_MSG(from_fused <= 1.5 * from_unfused + 1e-4,
              "%s: the fused step's update is %.3g from the reference's, the unfused step's %.3g",
              name, from_fused, from_unfused);
    printf("%s %s: reference fused vs unfused %.3g; oneDNN update from the reference's: fused "
           "%.3g, unfused %.3g\n",
           name, what, reference_gap, from_fused, from_unfused);
  }
  ipro_test_training_run_release(&reference);
  ipro_test_training_run_release(&reference_fused);
  ipro_test_training_run_release(&unfused_run);
  ipro_test_training_run_release(&fused_run);
}

/* SiLU (codegen/fusion.h, ipro_fuse_silu): the network's Sigmoids whose output only a Mul by
 * their own input reads, counted here, are exactly the fused program's Sigmoids with
 * times_input, with as many Muls fewer than the unfused program's; and a training step of the fused
 * program gives the unfused program's loss and update (compare_fused_steps; oneDNN runs its
 * swish). */
static int silu_pairs(const ipro_graph *graph) {
  int count = 0;
  for (int g = 0; g < graph->n_nodes; g++) {
    const ipro_node *sigmoid = &graph->nodes[g];
    if (sigmoid->op != IPRO_OP_SIGMOID) continue;
    int s = sigmoid->outputs[0], readers = 0, products = 0;
    for (int m = 0; m < graph->n_nodes; m++)
      for (int i = 0; i < graph->nodes[m].n_inputs; i++)
        if (graph->nodes[m].inputs[i] == s) {
          readers++;
          const ipro_node *mul = &graph->nodes[m];
          products += mul->op == IPRO_OP_MUL && mul->n_inputs == 2 &&
                      mul->inputs[1 - i] == sigmoid->inputs[0];
        }
    count += readers == 1 && products == 1 && !graph->tensors[s].is_graph_output;
  }
  return count;
}

static int count_nodes(const ipro_graph *graph, ipro_op op, bool silu) {
  int count = 0;
  for (int n = 0; n < graph->n_nodes; n++)
    count += graph->nodes[n].op == op &&
             (!silu || ipro_node_attr_int(&graph->nodes[n], "times_input", 0) != 0);
  return count;
}

/* A bundled model's forward network and its end-to-end training program unfused and fused. */
typedef struct {
  ipro_graph *network, *unfused, *fused;
} programs;

static programs open_programs(const char *name) {
  char path[1024], relative[256];
  snprintf(relative, sizeof relative, "models/%s.onnx", name);
  ipro_test_path(path, sizeof path, relative);
  ipro_error err = {{0}};
  programs p = {NULL, NULL, NULL};
  CHECK_OK(ipro_graph_open(path, IPRO_TEST_FIXED_BATCH, &p.network, &err), &err);
  p.unfused = ipro_test_training_program(name, IPRO_TEST_FIXED_BATCH, false);
  p.fused = ipro_test_training_program(name, IPRO_TEST_FIXED_BATCH, true);
  return p;
}

static void close_programs(programs *p) {
  ipro_graph_free(p->network);
  ipro_graph_free(p->unfused);
  ipro_graph_free(p->fused);
}

static void check_silu(const char *name) {
  programs p = open_programs(name);
  const ipro_graph *network = p.network, *unfused = p.unfused, *fused = p.fused;
  if (network && unfused && fused) {
    int pairs = silu_pairs(network); /* the forward network, where only the Mul reads σ */
    CHECK_MSG(pairs > 0, "%s: no Sigmoid multiplied by its input", name);
    CHECK_MSG(count_nodes(fused, IPRO_OP_SIGMOID, true) == pairs &&
                  count_nodes(unfused, IPRO_OP_SIGMOID, true) == 0,
              "%s: %d SiLUs fused, %d Sigmoid-Mul pairs", name,
              count_nodes(fused, IPRO_OP_SIGMOID, true), pairs);
    CHECK_MSG(
        count_nodes(unfused, IPRO_OP_MUL, false) - count_nodes(fused, IPRO_OP_MUL, false) >= pairs,
        "%s: %d Muls unfused, %d fused, %d pairs", name, count_nodes(unfused, IPRO_OP_MUL, false),
        count_nodes(fused, IPRO_OP_MUL, false), pairs);
    printf("%s: %d SiLUs fused\n", name, pairs);
  }
  close_programs(&p);
  compare_fused_steps(name, "SiLU");
}

/* GELU spelled out (codegen/fusion.h, ipro_fuse_gelu: the tiny ViT at opset 14, its MLP's
 * x/2 · (1 + erf(x/√2))): the fused program has one Gelu per Erf of the network and no Erf, and
 * its training step gives the unfused program's loss and update as SiLU's does above. */
static void check_gelu(const char *name) {
  programs p = open_programs(name);
  const ipro_graph *network = p.network, *unfused = p.unfused, *fused = p.fused;
  if (network && unfused && fused) {
    int erfs = count_nodes(network, IPRO_OP_ERF, false);
    CHECK_MSG(erfs > 0, "%s: no Erf", name);
    CHECK_MSG(count_nodes(fused, IPRO_OP_GELU, false) == erfs &&
                  count_nodes(fused, IPRO_OP_ERF, false) == 0 &&
                  count_nodes(unfused, IPRO_OP_ERF, false) == erfs,
              "%s: %d Gelus and %d Erfs fused, %d Erfs unfused, %d in the network", name,
              count_nodes(fused, IPRO_OP_GELU, false), count_nodes(fused, IPRO_OP_ERF, false),
              count_nodes(unfused, IPRO_OP_ERF, false), erfs);
    printf("%s: %d GELUs fused\n", name, erfs);
  }
  close_programs(&p);
  compare_fused_steps(name, "GELU");
}

/* Linear layers written MatMul(A, Transpose(W)) (codegen/fusion.h, ipro_fuse_transposed_weights:
 * the TorchScript exporter's, here the tiny ViT's and the tiny Swin Transformer's): the fused
 * program has no MatMul reading a Transpose of a matrix, two Transposes fewer for each such MatMul
 * of the network (the weight's, forward, and its gradient's, backward) and one more Gemm (the
 * forward's; the backward's products were Gemms already), and its training step gives the unfused
 * program's loss and update as SiLU's does above. */
static int transposed_weight_products(const ipro_graph *graph) {
  int count = 0;
  for (int m = 0; m < graph->n_nodes; m++) {
    const ipro_node *mat_mul = &graph->nodes[m];
    int b = mat_mul->op == IPRO_OP_MAT_MUL && mat_mul->n_inputs == 2 ? mat_mul->inputs[1] : -1;
    int p = b < 0 ? -1 : graph->tensors[b].producer;
    count += p >= 0 && graph->nodes[p].op == IPRO_OP_TRANSPOSE &&
             graph->tensors[graph->nodes[p].inputs[0]].shape.rank == 2;
  }
  return count;
}

static void check_transposed_weights(const char *name) {
  programs p = open_programs(name);
  const ipro_graph *network = p.network, *unfused = p.unfused, *fused = p.fused;
  if (network && unfused && fused) {
    int products = transposed_weight_products(network);
    CHECK_MSG(products > 0, "%s: no MatMul by a transposed matrix", name);
    CHECK_MSG(
        transposed_weight_products(fused) == 0 && transposed_weight_products(unfused) == products &&
            count_nodes(unfused, IPRO_OP_TRANSPOSE, false) -
                    count_nodes(fused, IPRO_OP_TRANSPOSE, false) ==
                2 * products &&
            count_nodes(fused, IPRO_OP_GEMM, false) - count_nodes(unfused, IPRO_OP_GEMM, false) ==
                products,
        "%s: %d products by a transposed matrix in the network, %d unfused, %d fused; "
        "Transposes %d unfused, %d fused; Gemms %d unfused, %d fused",
        name, products, transposed_weight_products(unfused), transposed_weight_products(fused),
        count_nodes(unfused, IPRO_OP_TRANSPOSE, false),
        count_nodes(fused, IPRO_OP_TRANSPOSE, false), count_nodes(unfused, IPRO_OP_GEMM, false),
        count_nodes(fused, IPRO_OP_GEMM, false));
    printf("%s: %d linear layers read their weight through strides\n", name, products);
  }
  close_programs(&p);
  compare_fused_steps(name, "transposed weights");
}

int main(void) {
  static const char *const resnet32_cut[] = {"/layer1/layer1.3/Relu_1_output_0"};
  check_pass("resnet8_fmnist", true);
  check_pass("resnet32", true);
  check_pass("densenet_small", true);
  check_pass("mobilenetv2_small", false); /* ReLU6 (Clip) after its normalisations: none */
  check_silu("effnet_tiny_fmnist");
  check_silu("effnet_tiny_dynamo_fmnist");
  check_gelu("vit_tiny_opset14_fmnist");
  check_transposed_weights("vit_tiny_fmnist");
  check_transposed_weights("swin_tiny_fmnist");

  static const char *const resnet8_cut[] = {"/layer2/layer2.0/Relu_1_output_0"};
  check_steps("resnet8 K=1 carried", "resnet8_fmnist", NULL, 0, IPRO_TEST_CARRIED_LAYOUTS);
  check_steps("resnet8 K=2 carried", "resnet8_fmnist", resnet8_cut, 1, IPRO_TEST_CARRIED_LAYOUTS);
  check_steps("resnet8 K=1 plain layouts", "resnet8_fmnist", NULL, 0, IPRO_TEST_PLAIN_LAYOUTS);
  /* module 2's first block adds its input, which a module receives plain, to carried tensors */
  check_steps("resnet32 K=2 carried", "resnet32", resnet32_cut, 1, IPRO_TEST_CARRIED_LAYOUTS);
  check_steps("densenet K=1 carried", "densenet_small", NULL, 0, IPRO_TEST_CARRIED_LAYOUTS);
  layout_forms plain_run = {0}, carried_run = {0}, densenet = {0};
  count_mask_forms("resnet8_fmnist", NULL, 0, IPRO_TEST_PLAIN_LAYOUTS, &plain_run);
  CHECK_MSG(plain_run.blocked > 0 && plain_run.plain == 0,
            "resnet8, plain layouts: %d masks in the blocked form, %d plain (16 to 64 channels "
            "normalise channel-blocked)",
            plain_run.blocked, plain_run.plain);
  /* the steps above ran the joined normalisations both ways: our loop where the layouts are
   * carried, oneDNN's normalisation and the Add in place where they are plain */
  count_mask_forms("resnet8_fmnist", NULL, 0, IPRO_TEST_CARRIED_LAYOUTS, &carried_run);
  /* The loop is AVX-512's or AVX2's (cpu_norm_add_relu.c): where the CPU has one, the kernels
   * mask_forms builds must be the loop wherever the layouts are carried (with
   * IPRO_ONEDNN_NORM_ADD_LOOP=0 these checks fail); without them oneDNN runs every joined
   * normalisation and only that is checked. */
  bool loops = norm_add_loop_runs();
  if (loops) {
    CHECK_MSG(carried_run.joined_looped > 0 && carried_run.joined_other == 0 &&
                  plain_run.joined_looped == 0 && plain_run.joined_other > 0,
              "resnet8: joined normalisations looped / not: carried %d / %d, plain %d / %d",
              carried_run.joined_looped, carried_run.joined_other, plain_run.joined_looped,
              plain_run.joined_other);
    printf("resnet8: normalisations joined with their Add: %d on the loop (carried), %d on "
           "oneDNN (plain layouts)\n",
           carried_run.joined_looped, plain_run.joined_other);
    layout_forms cut_run = {0};
    count_mask_forms("resnet32", resnet32_cut, 1, IPRO_TEST_CARRIED_LAYOUTS, &cut_run);
    CHECK_MSG(cut_run.joined_staged == 1,
              "resnet32 K=2: %d joined normalisations add a plain tensor on the loop; 1 expected "
              "(module 2's first block)",
              cut_run.joined_staged);
  } else {
    CHECK_MSG(carried_run.joined_other > 0 && plain_run.joined_other > 0,
              "resnet8: %d and %d normalisations joined with their Add (carried, plain layouts)",
              carried_run.joined_other, plain_run.joined_other);
    printf("not checked: the joined normalisations' loop and its staged input (AVX-512 or "
           "AVX2 with FMA; this CPU has neither)\n");
  }
  setenv("IPRO_ONEDNN_PADDED_LAYOUTS", "0", 1);
  check_steps("densenet K=1, padded blocks off", "densenet_small", NULL, 0,
              IPRO_TEST_CARRIED_LAYOUTS);
  count_mask_forms("densenet_small", NULL, 0, IPRO_TEST_CARRIED_LAYOUTS, &densenet);
  CHECK_MSG(densenet.plain > 0,
            "densenet, padded blocks off: no mask in the plain form (%d blocked)",
            densenet.blocked);
  printf("densenet, padded blocks off: %d masks blocked, %d plain\n", densenet.blocked,
         densenet.plain);
  unsetenv("IPRO_ONEDNN_PADDED_LAYOUTS");
  return ipro_test_finish();
}
