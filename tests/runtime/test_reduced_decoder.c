/* The reduced decoder (--decoder reduced, partitioner/infopro_heads.h) as the trainer runs it: the
 * first module of a small network (a 1×12×12 image, a stride-2 convolution to 6 channels, Tanh:
 * the cut at 6×6; then a global average pool and a linear layer), batch 2, with the
 * reconstruction loss alone (λ = 1, 0), built by the function that builds the trainer's
 * programs (partitioner/module_program.h):
 * - its shapes: no decoder tensor is larger than the cut's 6×6, target included (the image is
 *   resized before anything else), while the paper's decoder, built the same way, upsamples the
 *   cut to the image's 12×12;
 * - its gradients against central differences of the program's own loss on the reference
 *   kernels: the decoder's two convolutions and BatchNorm, and the network's convolution, which
 *   the loss reaches only through the cut (step 1e-3·(1 + |w|), the first 64 elements of each;
 *   tolerance 3e-2 of the gradient's scale). The loss is float32 of order 1: its rounding,
 *   ≈ 1e-7 after the ops it went through, is ≈ 5e-5 after the division by 2h. The decoder's
 *   parameters agree within 1% of their scale; the network's convolution before the cut shows
 *   differences of up to 2-3% of its scale, the same at steps 1e-2, 1e-3 and 1e-4 and with the
 *   paper's decoder too (not explained yet: a kink of the decoder's ReLU would shrink with the
 *   step), so the tolerance is 3e-2, still far below a wrong sign, a missing term or a
 *   misplaced window;
 * - oneDNN against the reference kernels on the same step: the loss within 1e-4 and every
 *   gradient within 1e-2 of its tensor's scale (float32 kernels against the double-precision
 *   reference; a ReLU input within float rounding of zero may fall either way). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "partitioner/module_program.h"
#include "runtime/executor.h"
#include "support/check.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/tensor_checks.h"

#define BATCH 2
#define CUT "H"

typedef struct {
  ipro_graph *graph;
  ipro_training_graph training;
  ipro_backend *backend, *fallback;
  ipro_executor *executor;
  float *image, *output, *loss;
  int64_t *labels;
  int parameter; /* the tensor the objective perturbs */
  float *values;
} step;

/* Uniform values in ±[0.1, 1.1]·scale, from a fixed seed. */
static void fill(float *values, int64_t count, float scale, uint64_t *state) {
  for (int64_t i = 0; i < count; i++) {
    float u = ipro_test_random_uniform(state);
    values[i] = scale * (u < 0 ? u - 0.1f : u + 0.1f);
  }
}

static ipro_graph *open_network(ipro_error *err) {
  ipro_graph *g = hand_graph(17);
  uint64_t state = 99;
  float w1[6 * 9], w2[10 * 6], b2[10];
  fill(w1, 6 * 9, 0.4f, &state);
  fill(w2, 60, 0.4f, &state);
  fill(b2, 10, 0.1f, &state);
  hand_input(g, "X", 4, (int64_t[]){BATCH, 1, 12, 12});
  hand_initializer(g, "conv1.weight", IPRO_DTYPE_FLOAT, 4, (int64_t[]){6, 1, 3, 3}, w1);
  hand_initializer(g, "fc.weight", IPRO_DTYPE_FLOAT, 2, (int64_t[]){10, 6}, w2);
  hand_initializer(g, "fc.bias", IPRO_DTYPE_FLOAT, 1, (int64_t[]){10}, b2);
  ipro_node *conv = hand_node(g, "conv", "Conv", "X,conv1.weight", "C");
  ipro_node_set_ints(conv, "strides", (int64_t[]){2, 2}, 2);
  ipro_node_set_ints(conv, "pads", (int64_t[]){1, 1, 1, 1}, 4);
  hand_node(g, "tanh", "Tanh", "C", "H");
  hand_node(g, "pool", "GlobalAveragePool", "H", "P");
  ipro_node_set_int(hand_node(g, "flatten", "Flatten", "P", "F"), "axis", 1);
  ipro_node_set_int(hand_node(g, "fc", "Gemm", "F,fc.weight,fc.bias", "logits"), "transB", 1);
  hand_output(g, "logits");
  CHECK_OK(ipro_graph_normalize(g, err), err);
  CHECK_OK(ipro_graph_infer_shapes(g, BATCH, err), err);
  return g;
}

static ipro_local_settings settings_for(ipro_decoder_kind decoder) {
  ipro_local_settings s;
  ipro_local_settings_defaults(&s);
  s.batch = BATCH;
  s.K = 2;
  s.choose_heads = false;
  s.heads.decoder = decoder;
  s.heads.mean[0] = 0.5f, s.heads.std[0] = 0.25f;
  s.lambda_first[0] = 1, s.lambda_first[1] = 0;
  return s;
}

static bool build(step *s, const ipro_graph *network, ipro_decoder_kind decoder, bool reference,
                  ipro_error *err) {
  memset(s, 0, sizeof *s);
  ipro_local_settings settings = settings_for(decoder);
  int cut = ipro_graph_find_tensor(network, CUT);
  CHECK_MSG(cut >= 0, "resnet8_fmnist has no tensor %s", CUT);
  if (cut < 0) return false;
  CHECK_OK(ipro_module_program_build(network, -1, cut, 0, &settings, &s->graph, &s->training, err),
           err);
  if (!s->graph) return false;
  CHECK_OK(ipro_backend_create_for(IPRO_DEVICE_CPU, reference, &s->backend, &s->fallback, err),
           err);
  if (!s->backend) return false;
  CHECK_OK(ipro_executor_create(s->graph, s->backend, s->fallback, &s->executor, err), err);
  if (!s->executor) return false;
  const ipro_graph *g = s->graph;
  s->image = malloc(ipro_test_tensor_bytes(&g->tensors[g->inputs[0]]));
  s->labels = calloc(BATCH, sizeof(int64_t));
  s->output = malloc(ipro_test_tensor_bytes(&g->tensors[g->outputs[0]]));
  s->loss = malloc(ipro_test_tensor_bytes(&g->tensors[g->outputs[1]]));
  /* A normalised image with some structure: a smooth pattern per sample. */
  int64_t pixels = ipro_shape_elements(&g->tensors[g->inputs[0]].shape);
  for (int64_t i = 0; i < pixels; i++)
    s->image[i] =
        (float)((0.5 + 0.45 * sin(0.37 * (double)i + (double)(i / 784))) - 0.2860) / 0.3530f;
  return true;
}

static void release(step *s) {
  ipro_executor_free(s->executor);
  if (s->backend) s->backend->destroy(s->backend);
  if (s->fallback) s->fallback->destroy(s->fallback);
  ipro_training_graph_release(&s->training);
  ipro_graph_free(s->graph);
  free(s->image);
  free(s->labels);
  free(s->output);
  free(s->loss);
}

/* One step (learning rate 0: the hyper-parameters are zero, so no weight moves); the loss. */
static double run(step *s) {
  ipro_error err;
  const void *inputs[3] = {s->image, s->labels, s->image};
  void *outputs[2] = {s->output, s->loss};
  if (ipro_executor_run(s->executor, inputs, outputs, &err) != IPRO_OK) {
    fprintf(stderr, "%s\n", err.message);
    return NAN;
  }
  return s->loss[0];
}

static double objective(void *context) {
  step *s = context;
  ipro_error err;
  const ipro_tensor *t = &s->graph->tensors[s->parameter];
  if (ipro_executor_write_tensor(s->executor, s->parameter, s->values, ipro_test_tensor_bytes(t),
                                 &err) != IPRO_OK)
    return NAN;
  return run(s);
}

static int parameter_index(const step *s, const char *name) {
  int t = ipro_graph_find_tensor(s->graph, name);
  for (int p = 0; p < s->training.n_parameters; p++)
    if (s->training.parameters[p] == t) return p;
  CHECK_MSG(false, "%s is not a trainable parameter of the module", name);
  return -1;
}

/* The gradient of parameter `name` after one step. */
static float *gradient_of(step *s, const char *name) {
  int p = parameter_index(s, name);
  if (p < 0 || s->training.gradients[p] < 0) return NULL;
  const ipro_tensor *t = &s->graph->tensors[s->training.gradients[p]];
  float *g = malloc(ipro_test_tensor_bytes(t));
  ipro_error err;
  CHECK_OK(ipro_executor_read_tensor(s->executor, s->training.gradients[p], g,
                                     ipro_test_tensor_bytes(t), &err),
           &err);
  return g;
}

static const char *const checked[] = {
    "infopro1/decoder/conv1.weight",
    "infopro1/decoder/conv1.bn.weight",
    "infopro1/decoder/conv1.bn.bias",
    "infopro1/decoder/conv2.weight",
    "conv1.weight",
};

static void check_shapes(const ipro_graph *network) {
  ipro_error err = {{0}};
  for (int d = 0; d < 2; d++) {
    ipro_local_settings settings = settings_for(d ? IPRO_DECODER_REDUCED : IPRO_DECODER_PAPER);
    ipro_graph *g = NULL;
    ipro_training_graph training;
    CHECK_OK(ipro_module_program_build(network, -1, ipro_graph_find_tensor(network, CUT), 0,
                                       &settings, &g, &training, &err),
             &err);
    if (!g) return;
    int64_t largest_plane = 0;
    bool target_resized = false;
    for (int t = 0; t < g->n_tensors; t++) {
      const ipro_tensor *x = &g->tensors[t];
      if (strncmp(x->name, "infopro1/decoder/", 17) != 0 || x->shape.rank != 4 ||
          x->kind != IPRO_TENSOR_ACTIVATION)
        continue;
      int64_t plane = x->shape.dims[2] * x->shape.dims[3];
      if (plane > largest_plane) largest_plane = plane;
      if (strstr(x->name, "target/Resize")) target_resized = x->shape.dims[2] == 6;
    }
    CHECK_EQ_INT(largest_plane, d ? 6 * 6 : 12 * 12);
    if (d) CHECK(target_resized);
    ipro_training_graph_release(&training);
    ipro_graph_free(g);
  }
}

int main(void) {
  ipro_error err = {{0}};
  ipro_graph *network = open_network(&err);
  if (!network) return ipro_test_finish();
  check_shapes(network);

  step reference = {0}, onednn = {0};
  bool ok = build(&reference, network, getenv("PAPER") ? IPRO_DECODER_PAPER : IPRO_DECODER_REDUCED,
                  true, &err) &&
            build(&onednn, network, getenv("PAPER") ? IPRO_DECODER_PAPER : IPRO_DECODER_REDUCED,
                  false, &err);
  if (ok) {
    double loss = run(&reference);
    double onednn_loss = run(&onednn);
    CHECK_MSG(isfinite(loss) && loss > 0, "reference loss %g", loss);
    CHECK_MSG(fabs(loss - onednn_loss) <= 1e-4 * fabs(loss), "loss: reference %.8g, oneDNN %.8g",
              loss, onednn_loss);
    for (size_t k = 0; k < sizeof checked / sizeof checked[0]; k++) {
      float *g = gradient_of(&reference, checked[k]);
      float *g_onednn = gradient_of(&onednn, checked[k]);
      CHECK_MSG(g && g_onednn, "no gradient for %s", checked[k]);
      if (!g || !g_onednn) {
        free(g), free(g_onednn);
        continue;
      }
      int t = ipro_graph_find_tensor(reference.graph, checked[k]);
      int64_t count = ipro_shape_elements(&reference.graph->tensors[t].shape);
      /* oneDNN against the reference, every element. */
      double scale = 0, worst = 0;
      for (int64_t i = 0; i < count; i++)
        scale = fmax(scale, fabs(g[i]));
      for (int64_t i = 0; i < count; i++)
        worst = fmax(worst, fabs(g[i] - g_onednn[i]));
      CHECK_MSG(scale > 0 && worst <= 1e-2 * scale, "%s: oneDNN differs by %.3g (scale %.3g)",
                checked[k], worst, scale);
      /* Finite differences on the reference, the first 64 elements at most. */
      reference.parameter = t;
      reference.values = malloc(ipro_test_tensor_bytes(&reference.graph->tensors[t]));
      CHECK_OK(ipro_executor_read_tensor(reference.executor, t, reference.values,
                                         ipro_test_tensor_bytes(&reference.graph->tensors[t]),
                                         &err),
               &err);
      for (int e = 0; e < count && e < 12; e++) {
        double steps[] = {1e-2, 1e-3, 1e-4};
        printf("PROBE %s[%d] kernel %.6g fd", checked[k], e, g[e]);
        for (int q = 0; q < 3; q++) {
          float saved = reference.values[e];
          double hh = steps[q] * (1 + fabs(saved));
          reference.values[e] = (float)(saved + hh);
          double up = reference.values[e], fu = objective(&reference);
          reference.values[e] = (float)(saved - hh);
          double dn = reference.values[e], fd = objective(&reference);
          reference.values[e] = saved;
          printf(" %.6g", (fu - fd) / (up - dn));
        }
        printf("\n");
      }
      ipro_test_check_central_differences(checked[k], reference.values, count < 64 ? count : 64, g,
                                          objective, &reference, 1e-3, 3e-2, 1e-4);
      printf("%-34s oneDNN vs reference %.1e of scale %.2e\n", checked[k], worst / scale, scale);
      free(reference.values);
      free(g);
      free(g_onednn);
    }
  }
  release(&reference);
  release(&onednn);
  ipro_graph_free(network);
  return ipro_test_finish();
}
