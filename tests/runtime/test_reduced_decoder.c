/* The InfoPro decoders (partitioner/infopro_heads.h) as the trainer runs them: the first module
 * of a small network (a 1×12×12 image, a stride-2 convolution to 6 channels, Tanh: the cut at
 * 6×6; then a global average pool and a linear layer), batch 2, with the reconstruction loss alone
 * (λ = 1, 0), built by the function that builds the trainer's programs
 * (partitioner/module_program.h):
 * - its shapes: no tensor of the reduced decoder is larger than the cut's 6×6, target included
 *   (the image is resized before anything else), while the paper's decoder, built the same way,
 *   upsamples the cut to the image's 12×12;
 * - for each decoder, the loss and the gradients of the decoder's two convolutions and BatchNorm
 *   and of the network's convolution, which the loss reaches only through the cut, against
 *   PyTorch (models/golden/decoder_step.ipgd, written by models/export_models.py --only
 *   decoder-step: the same layers written out in torch.nn.functional from their definitions,
 *   float64 autograd on the golden's float32 inputs): every element within 1e-4 relative plus
 *   1e-5 of its tensor's largest magnitude, on the reference kernels (which accumulate in double
 *   and store float32) and on oneDNN's (float32 throughout); measured at most 8e-7 of the
 *   largest magnitude on either (session 29);
 * - the same gradients against central differences of the program's own loss on the reference
 *   kernels, every element (step 1e-3·(1 + |w|), tolerance 1e-1 of the gradient's scale): a
 *   second oracle, independent of PyTorch, that catches a wrong sign, a missing term or a
 *   misplaced window (errors of the gradient's own size) and leaves small ones to the golden,
 *   because the loss is only piecewise smooth (measured up to 5.5e-2 here). The ReLU after the
 *   decoder's BatchNorm has a kink wherever its input crosses 0, and with batch statistics many
 *   inputs lie near it, so a step of 1e-3 straddles kinks: measured in float64 with PyTorch on
 *   this network (session 29), central differences of the network's convolution differ from
 *   autograd by up to 3% at step 1e-3, 0.3% at 1e-5, and agree at 1e-7, while the kernels agree
 *   with autograd within 2e-9; a float32 loss cannot take steps that small (its rounding, ≈ 1e-7,
 *   becomes ≈ 5e-5 after the division by 2h at 1e-3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "partitioner/infopro_heads.h"
#include "partitioner/module_program.h"
#include "runtime/executor.h"
#include "support/check.h"
#include "support/golden.h"
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

/* The parameters whose gradients are checked: the decoder's, and the network's before the cut. */
static const char *const checked[] = {
    "infopro1/decoder/conv1.weight",
    "infopro1/decoder/conv1.bn.weight",
    "infopro1/decoder/conv1.bn.bias",
    "infopro1/decoder/conv2.weight",
    "conv1.weight",
};

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
  return true;
}

/* The golden's image and parameters into the step (the image in the module's first and third
 * inputs: the network's input, and the decoder's target). */
static bool take_golden(step *s, const ipro_golden_file *golden, ipro_error *err) {
  const ipro_graph *g = s->graph;
  int64_t pixels = ipro_shape_elements(&g->tensors[g->inputs[0]].shape);
  const ipro_golden_tensor *image = ipro_golden_expect(golden, "image", pixels);
  if (!image) return false;
  memcpy(s->image, image->data, sizeof(float) * (size_t)pixels);
  for (size_t k = 0; k < sizeof checked / sizeof checked[0]; k++) {
    int t = ipro_graph_find_tensor(g, checked[k]);
    CHECK_MSG(t >= 0, "the module has no tensor %s", checked[k]);
    if (t < 0) return false;
    int64_t count = ipro_shape_elements(&g->tensors[t].shape);
    const ipro_golden_tensor *value = ipro_golden_expect(golden, checked[k], count);
    if (!value) return false;
    CHECK_OK(
        ipro_executor_write_tensor(s->executor, t, value->data, sizeof(float) * (size_t)count, err),
        err);
  }
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

/* The step's gradient of every checked parameter against PyTorch's (within `relative` plus
 * of_scale of the tensor's largest magnitude), and its loss within 1e-5 relative. */
static void check_against_golden(step *s, const ipro_golden_file *golden, const char *decoder,
                                 double relative, double of_scale) {
  char name[256];
  snprintf(name, sizeof name, "%s/loss", decoder);
  const ipro_golden_tensor *loss = ipro_golden_expect(golden, name, 1);
  double got = run(s);
  CHECK_MSG(loss && fabs(got - loss->data[0]) <= 1e-5 * fabs(loss->data[0]),
            "%s (%s): loss %.8g, PyTorch says %.8g", decoder, s->backend->name, got,
            loss ? (double)loss->data[0] : NAN);
  for (size_t k = 0; k < sizeof checked / sizeof checked[0]; k++) {
    int t = ipro_graph_find_tensor(s->graph, checked[k]);
    snprintf(name, sizeof name, "%s/grad/%s", decoder, checked[k]);
    const ipro_golden_tensor *want =
        ipro_golden_expect(golden, name, ipro_shape_elements(&s->graph->tensors[t].shape));
    float *g = gradient_of(s, checked[k]);
    CHECK_MSG(g != NULL, "no gradient for %s", checked[k]);
    if (want && g) {
      char what[320];
      snprintf(what, sizeof what, "%s (%s)", name, s->backend->name);
      double worst = ipro_golden_check(what, g, want, relative, of_scale);
      printf("%-52s %-9s against PyTorch: %.1e of its scale\n", name, s->backend->name, worst);
    }
    free(g);
  }
}

/* Central differences of the reference step's loss for every element of every checked
 * parameter (the header says why the tolerance is coarse). */
static void check_central_differences(step *s) {
  ipro_error err = {{0}};
  for (size_t k = 0; k < sizeof checked / sizeof checked[0]; k++) {
    CHECK_MSG(isfinite(run(s)), "%s: the step", checked[k]);
    float *g = gradient_of(s, checked[k]);
    int t = ipro_graph_find_tensor(s->graph, checked[k]);
    size_t bytes = ipro_test_tensor_bytes(&s->graph->tensors[t]);
    s->parameter = t;
    s->values = malloc(bytes);
    if (g && s->values) {
      CHECK_OK(ipro_executor_read_tensor(s->executor, t, s->values, bytes, &err), &err);
      ipro_test_check_central_differences(checked[k], s->values,
                                          ipro_shape_elements(&s->graph->tensors[t].shape), g,
                                          objective, s, 1e-3, 1e-1, 1e-4);
      /* the last element moved back into the step */
      CHECK_MSG(isfinite(objective(s)), "%s: the restored step", checked[k]);
    }
    free(s->values);
    s->values = NULL;
    free(g);
  }
}

int main(void) {
  ipro_error err = {{0}};
  ipro_graph *network = open_network(&err);
  if (!network) return ipro_test_finish();
  check_shapes(network);
  char path[1024];
  ipro_test_path(path, sizeof path, "models/golden/decoder_step.ipgd");
  ipro_golden_file golden = {0};
  CHECK_OK(ipro_golden_load(path, &golden, &err), &err);
  for (int d = 0; d < 2 && golden.count; d++) {
    ipro_decoder_kind kind = d ? IPRO_DECODER_PAPER : IPRO_DECODER_REDUCED;
    step reference = {0}, onednn = {0};
    if (build(&reference, network, kind, true, &err) &&
        build(&onednn, network, kind, false, &err) && take_golden(&reference, &golden, &err) &&
        take_golden(&onednn, &golden, &err)) {
      check_against_golden(&reference, &golden, ipro_decoder_name(kind), 1e-4, 1e-5);
      check_against_golden(&onednn, &golden, ipro_decoder_name(kind), 1e-4, 1e-5);
      check_central_differences(&reference);
    }
    release(&reference);
    release(&onednn);
  }
  ipro_golden_release(&golden);
  ipro_graph_free(network);
  return ipro_test_finish();
}
