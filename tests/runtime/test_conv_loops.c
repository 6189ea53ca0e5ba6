/* The CPU backend's own convolution loops, and its Conv run as oneDNN's data gradient, against
 * the reference kernels (double), the oracle.
 *
 * The loops for convolutions to at most three channels (runtime/onednn/cpu_small_conv.c):
 * - Conv, ipro.ConvGradInput and ipro.ConvGradWeight of a 3×3 window, stride 1, padding 1, to 1,
 *   2 and 3 channels from 1, 5, 12, 13 and 16 (with AVX2's blocks of 8, last blocks of 1, 5, 4, 5
 *   and 8 channels), on 3 images of 7×5, 1×1, 2×9 and 6×11 (the AVX2 loops do four pixels at a
 *   time inside the border: two such quads and one pixel per inner row of 6×11),
 *   with X (dX) carried channel-blocked: the test lays X out in the backend's blocks itself (zeros
 *   in the padding lanes) and reads dX back the same way, whose padding lanes must hold exact
 *   zeros. Outputs are NaN-filled before the run, so an element the loops forget fails; every
 *   output must agree within ipro_test_compare_scaled's tolerance. The kernel built must be the
 *   loops' (one loop step).
 * - The bytes written do not depend on the number of OpenMP threads (1, 2 and 3 threads on 33
 *   images of 13×11, enough for the loops to split).
 * - Nodes the loops do not take are built from oneDNN's primitives: 4 output channels, stride 2,
 *   no padding, a bias, dB, an X that lies plain, a Y carried channel-blocked, and any node with
 *   IPRO_ONEDNN_SMALL_CONV=0.
 * The backend's block decides which loops run: AVX-512's over one block of 16 channels, or AVX2's
 * over one or two blocks of 8 (12 and 16 channels are two); the test lays X out in that block.
 *
 * The AVX2 loops of 3×3 convolutions of padding 1 (runtime/onednn/cpu_conv3x3.c), where the
 * backend's block is 8, in all three passes at stride 1 and the weight gradient at stride 2, with
 * X (dX) and Y (dY) carried in 8-channel blocks:
 * - from 8, 12 and 13 (a padded last block, whose padding lanes the test fills with NaN: they
 *   must not reach an output), 16 and 24 channels to 9, 8, 12 and 16, with and without a bias
 *   (Conv) or dB, on 3 images of 7×5, 1×2, 2×9, 6×11, 3×2, 5×17, 4×1, 2×16, 3×3, 2×7, 3×14 and
 *   5×4 (the forward loops' runs of every length from 1 to 8, one to three a row; the weight
 *   gradient at stride 1 takes rows of 2 pixels and more, at stride 2 all, odd and even),
 *   against the reference; a carried output's padding lanes must be +0. The weight gradient
 *   broadcasts dY's lanes where that is less work at stride 1 (from 8, 13, 16 and 24 channels
 *   to 9 and 12) and skips a broadcast block's empty half (from 12).
 * - The bytes do not depend on the number of threads (33 images of 13×11; the weight gradient
 *   cuts them into 16 chunks).
 * - X, Y or both plain (inputs reordered into blocks by the kernel, outputs out of them): the
 *   same checks, and the same bytes as with both carried.
 * - All three passes all of that twice: on Winograd's F(2×2, 3×3)
 *   (runtime/onednn/cpu_winograd3x3.c, the default; the forward and data gradient into 9 and 12
 *   channels too, their last block of at most 4 channels in 4-lane vectors; the weight
 *   gradient's where every block is full, from 8, 16 and 24 channels to 8 and 16, and from 16
 *   to 24 on 33 images, its items then two output blocks and one) and on the direct loops
 *   (IPRO_ONEDNN_WINOGRAD=0); and the forward and data gradient from 136 channels and to 132,
 *   more than Winograd's buffers take, on the direct loops. Winograd's kernels have a frugal
 *   variant (runtime/backend.h), the direct loops, with less workspace and no variant of its
 *   own, checked against the reference too; none where Winograd's is not taken (the weight
 *   gradient from 12 channels, IPRO_ONEDNN_WINOGRAD=0).
 * - The weight gradient from 1 to 4 channels lying plain (a network's first convolution, on its
 *   image) to 8, 12 and 16, with dY carried and plain, with and without dB, on 3 images of 7×5,
 *   1×2, 2×9, 6×11, 3×2 and 5×17, against the reference, and its bytes on 1 to 3 threads.
 * - Left to oneDNN: stride 3, the forward and data gradient at stride 2, no padding (stride 1 and
 *   2), fewer than 8 channels in or out (but for that weight gradient: 5 channels plain, or 3
 *   carried, are left), the weight gradient of rows one pixel wide at stride 1, and
 *   IPRO_ONEDNN_CONV3X3_LOOPS=0; with 16-channel blocks (AVX-512) none is taken.
 *
 * Conv run as oneDNN's data-gradient primitive (runtime/onednn/onednn_conv.c) where the block is
 * 16: from 16, 12, 13, 32 and 24 channels to 16, 12, 9, 32 and 8, on 2 images of 3, 1 and 5 rows
 * of 32 pixels, with X and Y carried or plain, against the reference (an unflipped W', or the
 * rule taking rows of any width, fails it), and its bytes on 1 to 3 threads; the forward
 * primitive stays for rows of 31 and 33 pixels, a bias, stride 2, no padding, 32 channels to
 * 32, IPRO_ONEDNN_FORWARD_AS_DATA_GRADIENT=0 and 8-channel blocks.
 *
 * ctest runs it twice, the second time under ONEDNN_MAX_CPU_ISA=AVX2
 * (runtime.test_conv_loops_avx2), so a CPU with AVX-512 checks the AVX2 loops too. Without AVX2 the
 * backend carries no layouts and the loops never run: the test skips. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "frontend/op_table.h"
#include "runtime/backend.h"
#include "runtime/onednn/onednn_internal.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/check.h"
#include "tests/support/tensor_checks.h"

typedef enum { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHT } pass;

typedef struct {
  int64_t images, channels, features, height, width;
  int64_t stride, pad; /* 1 and 1 for the loops */
  bool bias;           /* Conv's B, or ConvGradWeight's dB */
  bool x_plain;        /* X (dX) not carried */
  bool y_carried;      /* Y (dY) carried channel-blocked */
  bool nan_padding;    /* carried inputs' padding lanes NaN instead of zero */
} conv_case;

static uint64_t random_state = 0x9e3779b97f4a7c15u;

/* The one-node graph of the pass, shapes inferred; *x and *y: the tensors X (dX) and Y (dY). */
static ipro_graph *pass_graph(pass p, const conv_case *k, int *x, int *y) {
  ipro_graph *g = hand_graph(19);
  int64_t out_h = (k->height + 2 * k->pad - 3) / k->stride + 1;
  int64_t out_w = (k->width + 2 * k->pad - 3) / k->stride + 1;
  int64_t xd[4] = {k->images, k->channels, k->height, k->width};
  int64_t yd[4] = {k->images, k->features, out_h, out_w};
  int64_t wd[4] = {k->features, k->channels, 3, 3}, bd[1] = {k->features};
  ipro_node *n = NULL;
  if (p == FORWARD) {
    hand_input(g, "X", 4, xd);
    hand_input(g, "W", 4, wd);
    if (k->bias) hand_input(g, "B", 1, bd);
    n = hand_node(g, "conv", "Conv", k->bias ? "X,W,B" : "X,W", "Y");
    hand_output(g, "Y");
  } else if (p == BACKWARD_DATA) {
    hand_input(g, "dY", 4, yd);
    hand_input(g, "W", 4, wd);
    n = hand_node(g, "conv_grad_input", "ipro.ConvGradInput", "dY,W", "dX");
    n->op = IPRO_OP_CONV_GRAD_INPUT;
    hand_require(ipro_node_set_ints(n, "input_shape", xd, 4) == IPRO_OK);
    hand_output(g, "dX");
  } else {
    hand_input(g, "dY", 4, yd);
    hand_input(g, "X", 4, xd);
    n = hand_node(g, "conv_grad_weight", "ipro.ConvGradWeight", "dY,X", k->bias ? "dW,dB" : "dW");
    n->op = IPRO_OP_CONV_GRAD_WEIGHT;
    hand_require(ipro_node_set_ints(n, "weight_shape", wd, 4) == IPRO_OK);
    hand_output(g, "dW");
    if (k->bias) hand_output(g, "dB");
  }
  const int64_t kernel[2] = {3, 3}, strides[2] = {k->stride, k->stride}, ones[2] = {1, 1};
  const int64_t pads[4] = {k->pad, k->pad, k->pad, k->pad};
  hand_require(ipro_node_set_ints(n, "kernel_shape", kernel, 2) == IPRO_OK &&
               ipro_node_set_ints(n, "strides", strides, 2) == IPRO_OK &&
               ipro_node_set_ints(n, "dilations", ones, 2) == IPRO_OK &&
               ipro_node_set_ints(n, "pads", pads, 4) == IPRO_OK &&
               ipro_node_set_int(n, "group", 1) == IPRO_OK);
  ipro_error err = {{0}};
  if (p == FORWARD) CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  *x = ipro_graph_find_tensor(g, p == BACKWARD_DATA ? "dX" : "X");
  *y = ipro_graph_find_tensor(g, p == FORWARD ? "Y" : "dY");
  return g;
}

/* The backend's channel block (16 with AVX-512, 8 with AVX2) and the blocks of c channels. */
static int64_t lanes(void) { return ipro_onednn_channel_block(); }
static int64_t blocks_of(int64_t c) { return (c + lanes() - 1) / lanes(); }

/* The floats of n images of c channels channel-blocked, the padding lanes included. */
static int64_t blocked_count(int64_t n, int64_t c, int64_t pixels) {
  return n * blocks_of(c) * pixels * lanes();
}

/* The index of (image i, channel ch, pixel p) in the channel-blocked layout (N, C/B, H, W, B). */
static int64_t blocked_index(int64_t i, int64_t ch, int64_t p, int64_t c, int64_t pixels) {
  return ((i * blocks_of(c) + ch / lanes()) * pixels + p) * lanes() + ch % lanes();
}

/* plain (N, C, H, W) → channel-blocked, `padding` in the padding lanes. */
static void to_blocked(const float *plain, float *blocked, int64_t n, int64_t c, int64_t pixels,
                       float padding) {
  for (int64_t e = 0; e < blocked_count(n, c, pixels); e++)
    blocked[e] = padding;
  for (int64_t i = 0; i < n; i++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t p = 0; p < pixels; p++)
        blocked[blocked_index(i, ch, p, c, pixels)] = plain[(i * c + ch) * pixels + p];
}

/* The plain tensor of a blocked one; false when a padding lane is not an exact zero. */
static bool from_blocked(const float *blocked, float *plain, int64_t n, int64_t c, int64_t pixels) {
  bool zeros = true;
  int64_t padded = blocks_of(c) * lanes();
  for (int64_t i = 0; i < n; i++)
    for (int64_t ch = 0; ch < padded; ch++)
      for (int64_t p = 0; p < pixels; p++) {
        float v = blocked[blocked_index(i, ch, p, c, pixels)];
        if (ch < c)
          plain[(i * c + ch) * pixels + p] = v;
        else
          zeros = zeros && v == 0.0f && !signbit(v);
      }
  return zeros;
}

/* The pass's kernel on the backend with X (dX) carried channel-blocked unless the case says
 * plain; NULL when the backend declines. */
static ipro_kernel *prepare(ipro_backend *onednn, ipro_graph *g, const conv_case *k, int x, int y) {
  uint8_t *layouts = calloc((size_t)g->n_tensors + 1, 1);
  hand_require(layouts != NULL);
  if (!k->x_plain) layouts[x] = ipro_onednn_channel_blocked_code();
  if (k->y_carried) layouts[y] = ipro_onednn_channel_blocked_code();
  onednn->layouts = layouts;
  ipro_kernel *kernel = NULL;
  ipro_error err = {{0}};
  ipro_status status = onednn->prepare_forward(onednn, g, &g->nodes[0], &kernel, &err);
  onednn->layouts = NULL;
  free(layouts);
  CHECK_MSG(status == IPRO_OK, "prepare: %s", err.message);
  return status == IPRO_OK ? kernel : NULL;
}

/* The buffers of one pass: plain inputs for the reference, the backend's (X blocked), and the
 * outputs. */
typedef struct {
  float *in[3], *backend_in[3], *expected[2], *got[2];
  int64_t in_count[3], out_count[2];
} buffers;

static float *floats(int64_t count) {
  float *p = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
  hand_require(p != NULL);
  return p;
}

/* The tensors X (dX) unless the case says plain, and Y (dY) if it carries it, are channel-blocked
 * for the backend, inputs and outputs. */
static void buffers_make(buffers *b, const ipro_graph *g, const conv_case *k, int x, int y) {
  memset(b, 0, sizeof *b);
  const ipro_node *n = &g->nodes[0];
  for (int i = 0; i < n->n_inputs; i++) {
    const ipro_tensor *t = ipro_node_input(g, n, i);
    int64_t count = ipro_shape_elements(&t->shape);
    b->in_count[i] = count;
    b->in[i] = floats(count);
    for (int64_t e = 0; e < count; e++)
      b->in[i][e] = ipro_test_random_uniform(&random_state);
    if ((!k->x_plain && n->inputs[i] == x) || (k->y_carried && n->inputs[i] == y)) {
      int64_t pixels = t->shape.dims[2] * t->shape.dims[3];
      b->backend_in[i] = floats(blocked_count(t->shape.dims[0], t->shape.dims[1], pixels));
      to_blocked(b->in[i], b->backend_in[i], t->shape.dims[0], t->shape.dims[1], pixels,
                 k->nan_padding ? NAN : 0.0f);
    } else {
      b->backend_in[i] = floats(count);
      memcpy(b->backend_in[i], b->in[i], (size_t)count * sizeof(float));
    }
  }
  for (int o = 0; o < n->n_outputs; o++) {
    const ipro_tensor *t = ipro_node_output(g, n, o);
    int64_t count = ipro_shape_elements(&t->shape);
    if ((!k->x_plain && n->outputs[o] == x) || (k->y_carried && n->outputs[o] == y))
      count =
          blocked_count(t->shape.dims[0], t->shape.dims[1], t->shape.dims[2] * t->shape.dims[3]);
    b->out_count[o] = count;
    b->expected[o] = floats(ipro_shape_elements(&t->shape));
    b->got[o] = floats(count);
  }
}

static void buffers_free(buffers *b) {
  for (int i = 0; i < 3; i++)
    free(b->in[i]), free(b->backend_in[i]);
  for (int o = 0; o < 2; o++)
    free(b->expected[o]), free(b->got[o]);
}

/* Runs the kernel into NaN-filled outputs. */
static void run_kernel(ipro_backend *onednn, ipro_kernel *kernel, buffers *b) {
  for (int o = 0; o < 2; o++)
    for (int64_t e = 0; b->got[o] && e < b->out_count[o]; e++)
      b->got[o][e] = NAN;
  void *in[8] = {b->backend_in[0], b->backend_in[1], b->backend_in[2]};
  void *out[8] = {b->got[0], b->got[1]};
  ipro_test_run_kernel(onednn, kernel, in, out, false);
}

static const char *pass_name(pass p) {
  return p == FORWARD ? "Conv" : p == BACKWARD_DATA ? "ConvGradInput" : "ConvGradWeight";
}

/* Output 0 of the pass as run (b->got[0]) in plain, into plain; false when it was blocked and a
 * padding lane is not an exact zero. */
static bool plain_output(pass p, const conv_case *k, const buffers *b, float *plain) {
  int64_t out_h = (k->height + 2 * k->pad - 3) / k->stride + 1;
  int64_t out_w = (k->width + 2 * k->pad - 3) / k->stride + 1;
  if (p == BACKWARD_DATA && !k->x_plain)
    return from_blocked(b->got[0], plain, k->images, k->channels, k->height * k->width);
  if (p == FORWARD && k->y_carried)
    return from_blocked(b->got[0], plain, k->images, k->features, out_h * out_w);
  memcpy(plain, b->got[0], (size_t)b->out_count[0] * sizeof(float));
  return true;
}

/* How a kernel is expected to be built: from the loops (one loop step and reorders), or, for a
 * Conv, as oneDNN's data-gradient primitive (runtime/onednn/onednn_conv.c). */
typedef enum { LOOPS, DATA_GRADIENT } built_as;

/* The propagation kind of the kernel's convolution primitive (dnnl_undef where it has none). */
static dnnl_prop_kind_t convolution_kind(const ipro_kernel *kernel) {
  const ipro_onednn_kernel *k = (const ipro_onednn_kernel *)kernel;
  for (int s = 0; s < k->n_steps; s++) {
    const_dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
    dnnl_prop_kind_t prop = dnnl_prop_kind_undef;
    if (!k->steps[s].loop &&
        dnnl_primitive_get_primitive_desc(k->steps[s].primitive, &pd) == dnnl_success &&
        dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &kind) == dnnl_success &&
        kind == dnnl_convolution &&
        dnnl_primitive_desc_query(pd, dnnl_query_prop_kind, 0, &prop) == dnnl_success)
      return prop;
  }
  return dnnl_prop_kind_undef;
}

static bool built_as_expected(const ipro_kernel *kernel, built_as how) {
  return how == LOOPS ? ipro_test_onednn_runs_loop(kernel)
                      : convolution_kind(kernel) == dnnl_backward_data;
}

static const char *built_as_name(built_as how) {
  return how == LOOPS ? "the loops" : "oneDNN's data gradient";
}

/* The pass of case k, built as `how`, against the reference. */
static void check_built(ipro_backend *onednn, pass p, const conv_case *k, built_as how) {
  char label[200];
  snprintf(label, sizeof label, "%s %lld to %lld channels, stride %lld, %lld images of %lldx%lld",
           pass_name(p), (long long)k->channels, (long long)k->features, (long long)k->stride,
           (long long)k->images, (long long)k->height, (long long)k->width);
  int x, y;
  ipro_graph *g = pass_graph(p, k, &x, &y);
  ipro_kernel *kernel = prepare(onednn, g, k, x, y);
  if (!kernel) {
    ipro_graph_free(g);
    return;
  }
  CHECK_MSG(built_as_expected(kernel, how), "%s: not built from %s", label, built_as_name(how));
  buffers b;
  buffers_make(&b, g, k, x, y);
  ipro_error err = {{0}};
  ipro_kernel_context context = {.seed = 0, .step = 0};
  void *in[3] = {b.in[0], b.in[1], b.in[2]}, *expected[2] = {b.expected[0], b.expected[1]};
  CHECK_OK(
      ipro_reference_forward_table()[g->nodes[0].op](g, &g->nodes[0], in, expected, &context, &err),
      &err);
  run_kernel(onednn, kernel, &b);
  const ipro_tensor *out = ipro_node_output(g, &g->nodes[0], 0);
  int64_t count = ipro_shape_elements(&out->shape);
  float *plain = floats(count);
  CHECK_MSG(plain_output(p, k, &b, plain), "%s: a padding lane of the output is not an exact zero",
            label);
  ipro_test_compare_scaled(label, "output 0", plain, b.expected[0], count);
  if (k->bias && p == BACKWARD_WEIGHT)
    ipro_test_compare_scaled(label, "dB", b.got[1], b.expected[1], k->features);
  free(plain);
  kernel->destroy(kernel);
  buffers_free(&b);
  ipro_graph_free(g);
}

/* The pass of case k on the loops against the reference. */
static void check_pass(ipro_backend *onednn, pass p, const conv_case *k) {
  check_built(onednn, p, k, LOOPS);
}

/* The bytes of the kernel built as `how` on 1, 2 and 3 threads. */
static void check_threads(ipro_backend *onednn, pass p, const conv_case *k, built_as how) {
#ifdef _OPENMP
  int x, y;
  ipro_graph *g = pass_graph(p, k, &x, &y);
  ipro_kernel *kernel = prepare(onednn, g, k, x, y);
  if (kernel) {
    CHECK_MSG(built_as_expected(kernel, how), "%s on threads: not built from %s", pass_name(p),
              built_as_name(how));
    buffers b;
    buffers_make(&b, g, k, x, y);
    float *first = floats(b.out_count[0]);
    int saved = omp_get_max_threads();
    for (int threads = 1; threads <= 3; threads++) {
      omp_set_num_threads(threads);
      run_kernel(onednn, kernel, &b);
      if (threads == 1)
        memcpy(first, b.got[0], (size_t)b.out_count[0] * sizeof(float));
      else
        CHECK_MSG(memcmp(first, b.got[0], (size_t)b.out_count[0] * sizeof(float)) == 0,
                  "%s: %d threads write other bytes than 1", pass_name(p), threads);
    }
    omp_set_num_threads(saved);
    free(first);
    kernel->destroy(kernel);
    buffers_free(&b);
  }
  ipro_graph_free(g);
#else
  (void)onednn, (void)p, (void)k;
#endif
}

/* A case the loops must leave to oneDNN's primitives. */
static void check_declined(ipro_backend *onednn, pass p, const conv_case *k, const char *why) {
  int x, y;
  ipro_graph *g = pass_graph(p, k, &x, &y);
  ipro_kernel *kernel = prepare(onednn, g, k, x, y);
  CHECK_MSG(kernel && !ipro_test_onednn_runs_loop(kernel), "%s with %s: built from the loops",
            pass_name(p), why);
  if (kernel) kernel->destroy(kernel);
  ipro_graph_free(g);
}

/* Whether the kernel of case k has a frugal variant (runtime/backend.h), and its workspace in
 * *bytes; false when the backend declines. */
static bool frugal_variant(ipro_backend *onednn, pass p, const conv_case *k, size_t *bytes) {
  int x, y;
  ipro_graph *g = pass_graph(p, k, &x, &y);
  ipro_kernel *kernel = prepare(onednn, g, k, x, y);
  bool variant = kernel && kernel->has_frugal_variant;
  *bytes = kernel ? kernel->workspace_bytes : 0;
  if (kernel) kernel->destroy(kernel);
  ipro_graph_free(g);
  return variant;
}

/* Winograd's kernels (all three passes) weighed as the executor weighs faster kernels: the kernel
 * has a frugal variant, and the frugal kernel (the direct loops) has none and less workspace and
 * gives the same results against the reference; none where Winograd's is not taken. */
static void check_frugal(ipro_backend *onednn, pass p) {
  const conv_case k = {3, 16, 16, 6, 11, 1, 1, p == FORWARD, false, true, true};
  size_t fast = 0, frugal = 0;
  CHECK_MSG(frugal_variant(onednn, p, &k, &fast), "%s on Winograd's: no frugal variant",
            pass_name(p));
  onednn->frugal = true;
  CHECK_MSG(!frugal_variant(onednn, p, &k, &frugal) && frugal < fast,
            "%s, frugal: a variant of its own or no less workspace (%zu bytes against %zu)",
            pass_name(p), frugal, fast);
  check_pass(onednn, p, &k);
  onednn->frugal = false;
  /* an output of 12 channels: Winograd's forward and data gradient do its half block in 4 lanes;
   * the weight gradient's Winograd wants every block full */
  conv_case half = k;
  if (p == FORWARD)
    half.features = 12;
  else
    half.channels = 12;
  CHECK_MSG(frugal_variant(onednn, p, &half, &fast) == (p != BACKWARD_WEIGHT),
            "%s into 12 channels: %s", pass_name(p),
            p != BACKWARD_WEIGHT ? "not on Winograd's" : "a frugal variant");
  setenv("IPRO_ONEDNN_WINOGRAD", "0", 1);
  CHECK_MSG(!frugal_variant(onednn, p, &k, &fast),
            "%s with IPRO_ONEDNN_WINOGRAD=0: a frugal variant", pass_name(p));
  unsetenv("IPRO_ONEDNN_WINOGRAD");
}

/* The outputs of the pass of case k (its tensors carried) and of `other` (the same shapes, other
 * layouts) from the same inputs, in plain: the same bytes. */
static void check_same_bytes(ipro_backend *onednn, pass p, const conv_case *k,
                             const conv_case *other, const char *what) {
  float *got[2][2] = {{NULL}};
  int64_t count[2] = {0};
  uint64_t seed = random_state;
  for (int v = 0; v < 2; v++) {
    const conv_case *c = v ? other : k;
    int x, y;
    ipro_graph *g = pass_graph(p, c, &x, &y);
    ipro_kernel *kernel = prepare(onednn, g, c, x, y);
    if (kernel) {
      CHECK_MSG(ipro_test_onednn_runs_loop(kernel), "%s with %s: not the loops", pass_name(p),
                v ? what : "its tensors carried");
      random_state = seed;
      buffers b;
      buffers_make(&b, g, c, x, y);
      run_kernel(onednn, kernel, &b);
      count[0] = ipro_shape_elements(&ipro_node_output(g, &g->nodes[0], 0)->shape);
      count[1] = b.out_count[1];
      got[v][0] = floats(count[0]);
      CHECK(plain_output(p, c, &b, got[v][0]));
      got[v][1] = b.got[1];
      b.got[1] = NULL;
      kernel->destroy(kernel);
      buffers_free(&b);
    }
    ipro_graph_free(g);
  }
  if (got[0][0] && got[1][0])
    CHECK_MSG(
        memcmp(got[0][0], got[1][0], (size_t)count[0] * sizeof(float)) == 0 &&
            (!count[1] || memcmp(got[0][1], got[1][1], (size_t)count[1] * sizeof(float)) == 0),
        "%s with %s: other bytes than with its tensors carried", pass_name(p), what);
  for (int v = 0; v < 2; v++)
    free(got[v][0]), free(got[v][1]);
}

/* The cases of check_conv3x3_loops that run the loops (8-channel blocks). */
static void check_conv3x3_cases(ipro_backend *onednn, pass p) {
  /* X's sizes. At stride 1, the forward loops' runs: rows of 5, 2, 7, 3 and 1 pixels in one run
   * each, 9 in 5 + 4, 11 in 6 + 5, 16 in 8 + 8, 17 in 6 + 6 + 5, 14 in 7 + 7, 4; rows of 2: the
   * weight gradient's narrowest. At stride 2 (the weight gradient), X's rows of odd and even
   * width (an odd one's last output pixel meets no X pixel through kw = 2), one pixel wide and
   * up, and images of odd and even height. */
  static const int64_t sizes[12][2] = {{7, 5}, {1, 2},  {2, 9}, {6, 11}, {3, 2},  {5, 17},
                                       {4, 1}, {2, 16}, {3, 3}, {2, 7},  {3, 14}, {5, 4}};
  static const int64_t channels[5] = {8, 12, 13, 16, 24}, features[4] = {9, 8, 12, 16};
  for (int64_t stride = 1; stride <= (p == BACKWARD_WEIGHT ? 2 : 1); stride++)
    for (int c = 0; c < 5; c++)
      for (int f = 0; f < 4; f++)
        for (int s = 0; s < 12; s++)
          for (int bias = 0; bias <= (p != BACKWARD_DATA); bias++) {
            if (p == BACKWARD_WEIGHT && stride == 1 && sizes[s][1] < 2) continue;
            conv_case k = {3, channels[c], features[f], sizes[s][0], sizes[s][1], stride,
                           1, bias,        false,       true,        true};
            check_pass(onednn, p, &k);
          }
  for (int64_t stride = 1; stride <= (p == BACKWARD_WEIGHT ? 2 : 1); stride++) {
    const conv_case threads = {33,    12,   9,    13, 11, stride, 1, p != BACKWARD_DATA,
                               false, true, false};
    check_threads(onednn, p, &threads, LOOPS);
    /* tensors plain: inputs reordered into blocks by the kernel, outputs out of them */
    const conv_case carried = {3, 12, 9, 6, 11, stride, 1, p != BACKWARD_DATA, false, true, false};
    conv_case k = carried;
    k.x_plain = true;
    check_pass(onednn, p, &k);
    check_same_bytes(onednn, p, &carried, &k, "X plain");
    k = carried, k.y_carried = false;
    check_pass(onednn, p, &k);
    check_same_bytes(onednn, p, &carried, &k, "Y plain");
    k.x_plain = true;
    check_pass(onednn, p, &k);
    check_same_bytes(onednn, p, &carried, &k, "Y and X plain");
  }
}

/* The 3×3 loops of cpu_conv3x3.c (8-channel blocks only), pass p at stride 1 (and 2 for the
 * weight gradient). */
static void check_conv3x3_loops(ipro_backend *onednn, pass p) {
  const conv_case base = {2, 16, 8, 6, 6, 1, 1, false, false, true, false};
  if (lanes() != 8) {
    check_declined(onednn, p, &base, "16-channel blocks, X and Y carried");
    conv_case k = base;
    k.stride = 2;
    check_declined(onednn, p, &k, "16-channel blocks, stride 2, X and Y carried");
    return;
  }
  /* every pass on Winograd's F(2×2, 3×3) where it is taken (the default) and on the direct loops
   * (IPRO_ONEDNN_WINOGRAD=0) */
  for (int direct = 0; direct <= 1; direct++) {
    if (direct) setenv("IPRO_ONEDNN_WINOGRAD", "0", 1);
    check_conv3x3_cases(onednn, p);
    unsetenv("IPRO_ONEDNN_WINOGRAD");
  }
  check_frugal(onednn, p);
  /* more channels than Winograd's buffers take (128): the direct loops */
  if (p != BACKWARD_WEIGHT) {
    const conv_case wide = {2, 136, 9, 5, 7, 1, 1, p == FORWARD, false, true, true};
    check_pass(onednn, p, &wide);
    const conv_case wide_out = {2, 12, 132, 5, 7, 1, 1, p == FORWARD, false, true, true};
    check_pass(onednn, p, &wide_out);
  }
  if (p == BACKWARD_WEIGHT) { /* 16 channels to 12: the weight gradient's roles swapped */
    const conv_case swapped = {33, 16, 12, 13, 11, 1, 1, true, false, true, false};
    check_threads(onednn, p, &swapped, LOOPS);
    /* to 24 channels: Winograd's items take two output blocks, and then the third alone */
    const conv_case three = {33, 16, 24, 13, 11, 1, 1, true, false, true, false};
    check_pass(onednn, p, &three);
    check_threads(onednn, p, &three, LOOPS);
    /* from an image's 1 to 4 channels lying plain (a network's first convolution), dY carried or
     * plain, with and without dB */
    static const int64_t sizes[6][2] = {{7, 5}, {1, 2}, {2, 9}, {6, 11}, {3, 2}, {5, 17}};
    static const int64_t features[3] = {8, 12, 16};
    for (int64_t c = 1; c <= 4; c++)
      for (int f = 0; f < 3; f++)
        for (int z = 0; z < 6; z++)
          for (int variant = 0; variant < 4; variant++) {
            conv_case k = {3, c,           features[f], sizes[z][0],  sizes[z][1], 1,
                           1, variant & 1, true,        variant >= 2, false};
            check_pass(onednn, p, &k);
          }
    const conv_case image = {33, 3, 16, 13, 11, 1, 1, true, true, true, false};
    check_threads(onednn, p, &image, LOOPS);
    conv_case k = image;
    k.channels = 5;
    check_declined(onednn, p, &k, "5 channels lying plain");
    k = image, k.x_plain = false;
    check_declined(onednn, p, &k, "3 channels carried");
  }
  conv_case k = base;
  k.stride = 3;
  check_declined(onednn, p, &k, "stride 3, X and Y carried");
  if (p != BACKWARD_WEIGHT) {
    k = base, k.stride = 2;
    check_declined(onednn, p, &k, "stride 2, X and Y carried");
  }
  k = base, k.pad = 0;
  check_declined(onednn, p, &k, "no padding, X and Y carried");
  k = base, k.stride = 2, k.pad = 0;
  check_declined(onednn, p, &k, "stride 2 and no padding, X and Y carried");
  k = base, k.channels = 7;
  check_declined(onednn, p, &k, "7 channels to 8");
  k = base, k.features = 7;
  check_declined(onednn, p, &k, "16 channels to 7");
  if (p == BACKWARD_WEIGHT) {
    k = base, k.width = 1;
    check_declined(onednn, p, &k, "rows of one pixel at stride 1, X and dY carried");
  }
  setenv("IPRO_ONEDNN_CONV3X3_LOOPS", "0", 1);
  check_declined(onednn, p, &base, "IPRO_ONEDNN_CONV3X3_LOOPS=0");
  k = base, k.stride = 2;
  check_declined(onednn, p, &k, "stride 2, IPRO_ONEDNN_CONV3X3_LOOPS=0");
  unsetenv("IPRO_ONEDNN_CONV3X3_LOOPS");
}

/* A Conv of case k that runs oneDNN's forward convolution, not its data gradient. */
static void check_forward_kernel(ipro_backend *onednn, const conv_case *k, const char *why) {
  int x, y;
  ipro_graph *g = pass_graph(FORWARD, k, &x, &y);
  ipro_kernel *kernel = prepare(onednn, g, k, x, y);
  CHECK_MSG(kernel && convolution_kind(kernel) == dnnl_forward_training,
            "Conv with %s: not oneDNN's forward convolution", why);
  if (kernel) kernel->destroy(kernel);
  ipro_graph_free(g);
}

/* Conv as oneDNN's data gradient (runtime/onednn/onednn_conv.c) with 16-channel blocks: 3×3,
 * stride 1, padding 1, no bias, output rows of 32 pixels. */
static void check_forward_as_data_gradient(ipro_backend *onednn) {
  const conv_case base = {2, 16, 16, 3, 32, 1, 1, false, false, true, false};
  if (lanes() != 16) { /* (where the 3×3 loops do not take it) */
    setenv("IPRO_ONEDNN_CONV3X3_LOOPS", "0", 1);
    check_forward_kernel(onednn, &base, "8-channel blocks");
    unsetenv("IPRO_ONEDNN_CONV3X3_LOOPS");
    return;
  }
  /* channels in and out: full blocks, a padded last block (zeros in the padding lanes, as oneDNN
   * keeps them), one side of 32 channels */
  static const int64_t channels[7][2] = {{16, 16}, {16, 12}, {12, 16}, {13, 9},
                                         {32, 16}, {16, 32}, {24, 8}};
  static const int64_t heights[3] = {3, 1, 5};
  for (int c = 0; c < 7; c++)
    for (int h = 0; h < 3; h++)
      for (int layouts = 0; layouts < 4; layouts++) { /* X and Y carried, or not */
        conv_case k = base;
        k.channels = channels[c][0], k.features = channels[c][1], k.height = heights[h];
        k.x_plain = layouts & 1, k.y_carried = !(layouts & 2);
        check_built(onednn, FORWARD, &k, DATA_GRADIENT);
      }
  const conv_case threads = {33, 16, 12, 9, 32, 1, 1, false, false, true, false};
  check_threads(onednn, FORWARD, &threads, DATA_GRADIENT);
  conv_case k = base;
  k.width = 31;
  check_forward_kernel(onednn, &k, "rows of 31 pixels");
  k.width = 33;
  check_forward_kernel(onednn, &k, "rows of 33 pixels");
  k = base, k.bias = true;
  check_forward_kernel(onednn, &k, "a bias");
  k = base, k.width = 64, k.stride = 2; /* rows of 32 pixels out */
  check_forward_kernel(onednn, &k, "stride 2");
  k = base, k.width = 34, k.pad = 0;
  check_forward_kernel(onednn, &k, "no padding");
  k = base, k.channels = 32, k.features = 32;
  check_forward_kernel(onednn, &k, "32 channels to 32");
  setenv("IPRO_ONEDNN_FORWARD_AS_DATA_GRADIENT", "0", 1);
  check_forward_kernel(onednn, &base, "IPRO_ONEDNN_FORWARD_AS_DATA_GRADIENT=0");
  unsetenv("IPRO_ONEDNN_FORWARD_AS_DATA_GRADIENT");
}

int main(void) {
  if (!ipro_onednn_carries_layouts())
    return ipro_test_skip("this CPU has no AVX2: the backend carries no layouts, and the "
                          "small-convolution loops (AVX-512 or AVX2) never run");
  printf("the loops of blocks of %lld channels (%s)\n", (long long)lanes(),
         lanes() == 16 ? "AVX-512" : "AVX2");
  ipro_backend *onednn = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  if (!onednn) return ipro_test_finish();

  /* the small-convolution loops; the 3×3 loops (which would take, on 8-channel blocks, the nodes
   * these loops decline) off until their own checks */
  setenv("IPRO_ONEDNN_CONV3X3_LOOPS", "0", 1);
  static const int64_t sizes[4][2] = {{7, 5}, {1, 1}, {2, 9}, {6, 11}};
  static const int64_t channels[5] = {1, 5, 12, 13, 16};
  for (pass p = FORWARD; p <= BACKWARD_WEIGHT; p++) {
    for (int c = 0; c < 5; c++)
      for (int64_t features = 1; features <= 3; features++)
        for (int s = 0; s < 4; s++) {
          conv_case k = {3, channels[c], features, sizes[s][0], sizes[s][1], 1,
                         1, false,       false,    false,       false};
          check_pass(onednn, p, &k);
        }
    const conv_case threads = {33, 12, 3, 13, 11, 1, 1, false, false, false, false};
    check_threads(onednn, p, &threads, LOOPS);
    const conv_case base = {2, 12, 3, 6, 6, 1, 1, false, false, false, false};
    conv_case k = base;
    k.features = 4;
    check_declined(onednn, p, &k, "4 output channels");
    k = base, k.stride = 2;
    check_declined(onednn, p, &k, "stride 2");
    k = base, k.pad = 0;
    check_declined(onednn, p, &k, "no padding");
    k = base, k.x_plain = true;
    check_declined(onednn, p, &k, "X plain");
    k = base, k.y_carried = true;
    check_declined(onednn, p, &k, "Y carried");
    if (p != BACKWARD_DATA) {
      k = base, k.bias = true;
      check_declined(onednn, p, &k, p == FORWARD ? "a bias" : "dB");
    }
    setenv("IPRO_ONEDNN_SMALL_CONV", "0", 1);
    check_declined(onednn, p, &base, "IPRO_ONEDNN_SMALL_CONV=0");
    unsetenv("IPRO_ONEDNN_SMALL_CONV");
  }
  unsetenv("IPRO_ONEDNN_CONV3X3_LOOPS");
  for (pass p = FORWARD; p <= BACKWARD_WEIGHT; p++)
    check_conv3x3_loops(onednn, p);
  check_forward_as_data_gradient(onednn);
  onednn->destroy(onednn);
  return ipro_test_finish();
}
