/* ipro_backend_release_unused_primitives (runtime/backend.h): what oneDNN's primitive cache keeps
 * and no kernel holds goes, what a kernel holds stays and still computes. Measured by the
 * process's counting allocator (runtime/counting_allocator.h: every malloc of the process,
 * oneDNN's included), not by anything the backend reports:
 *  - a convolution's kernel built and destroyed leaves its primitive in the cache: releasing
 *    frees allocator bytes;
 *  - a kernel of the same convolution built again and kept (its primitive shared with the
 *    cache), then a release: the kernel's output still matches the reference kernels (double),
 *    and a second release frees nothing more of it than the first left.
 * `infopro train` releases after the trainer is built, dropping the primitives of the modules the
 * split search costed and no trainer runs (cli/train.c). Skipped where the allocator cannot
 * count. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/backend.h"
#include "runtime/counting_allocator.h"
#include "runtime/reference/reference_kernels.h"
#include "tests/frontend/hand_graph.h"
#include "tests/support/check.h"
#include "tests/support/tensor_checks.h"

static uint64_t random_state = 0x243f6a8885a308d3u;

/* One 3x3 convolution, 8 to 24 channels on 4 images of 12x12 (an oneDNN primitive, not the
 * small-convolution loops, nor the 3×3 loops, which main switches off). */
static ipro_graph *conv_graph(void) {
  ipro_graph *g = hand_graph(19);
  const int64_t xd[4] = {4, 8, 12, 12}, wd[4] = {24, 8, 3, 3};
  hand_input(g, "X", 4, xd);
  hand_input(g, "W", 4, wd);
  ipro_node *n = hand_node(g, "conv", "Conv", "X,W", "Y");
  hand_output(g, "Y");
  const int64_t kernel[2] = {3, 3}, ones[2] = {1, 1}, pads[4] = {1, 1, 1, 1};
  hand_require(ipro_node_set_ints(n, "kernel_shape", kernel, 2) == IPRO_OK &&
               ipro_node_set_ints(n, "strides", ones, 2) == IPRO_OK &&
               ipro_node_set_ints(n, "pads", pads, 4) == IPRO_OK);
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  return g;
}

static ipro_kernel *build(ipro_backend *onednn, ipro_graph *g) {
  ipro_kernel *kernel = NULL;
  ipro_error err = {{0}};
  CHECK_OK(onednn->prepare_forward(onednn, g, &g->nodes[0], &kernel, &err), &err);
  return kernel;
}

static float *random_floats(int64_t count) {
  float *p = malloc((size_t)count * sizeof *p);
  hand_require(p != NULL);
  for (int64_t i = 0; i < count; i++)
    p[i] = ipro_test_random_uniform(&random_state);
  return p;
}

int main(void) {
  if (!ipro_counting_allocator_start())
    return ipro_test_skip("this build's allocator cannot count (no bytes to compare)");
  setenv("IPRO_ONEDNN_CONV3X3_LOOPS", "0", 1); /* the convolution on oneDNN's primitive */
  ipro_error err = {{0}};
  ipro_backend *onednn = NULL;
  CHECK_OK(ipro_backend_create_onednn(&onednn, &err), &err);
  if (!onednn) return ipro_test_finish();
  ipro_graph *g = conv_graph();
  ipro_backend_release_unused_primitives(); /* whatever earlier work cached */

  ipro_kernel *gone = build(onednn, g);
  if (gone) gone->destroy(gone);
  int64_t before = ipro_counting_allocator_in_use();
  ipro_backend_release_unused_primitives();
  int64_t freed = before - ipro_counting_allocator_in_use();
  CHECK_MSG(freed > 0, "releasing a destroyed kernel's cached primitive freed %lld bytes",
            (long long)freed);

  ipro_kernel *kept = build(onednn, g);
  before = ipro_counting_allocator_in_use();
  ipro_backend_release_unused_primitives();
  int64_t freed_while_held = before - ipro_counting_allocator_in_use();
  CHECK_MSG(freed_while_held < freed,
            "releasing freed %lld bytes while the kernel holds its primitive, as many as without "
            "it (%lld)",
            (long long)freed_while_held, (long long)freed);
  printf("released: %lld bytes of a destroyed kernel's primitive, %lld with the kernel kept\n",
         (long long)freed, (long long)freed_while_held);
  if (kept) {
    const ipro_tensor *x = &g->tensors[ipro_graph_find_tensor(g, "X")];
    const ipro_tensor *w = &g->tensors[ipro_graph_find_tensor(g, "W")];
    const ipro_tensor *y = &g->tensors[ipro_graph_find_tensor(g, "Y")];
    int64_t nx = ipro_shape_elements(&x->shape), nw = ipro_shape_elements(&w->shape);
    int64_t ny = ipro_shape_elements(&y->shape);
    float *in_x = random_floats(nx), *in_w = random_floats(nw);
    float *got = malloc((size_t)ny * sizeof *got), *expected = malloc((size_t)ny * sizeof *got);
    hand_require(got && expected);
    void *in[2] = {in_x, in_w}, *out_got[1] = {got}, *out_expected[1] = {expected};
    ipro_kernel_context context = {.seed = 0, .step = 0};
    CHECK_OK(ipro_reference_forward_table()[g->nodes[0].op](g, &g->nodes[0], in, out_expected,
                                                            &context, &err),
             &err);
    ipro_test_run_kernel(onednn, kept, in, out_got, true);
    ipro_test_compare_scaled("Conv after the release", "Y", got, expected, ny);
    free(in_x), free(in_w), free(got), free(expected);
    kept->destroy(kept);
  }
  ipro_graph_free(g);
  onednn->destroy(onednn);
  return ipro_test_finish();
}
