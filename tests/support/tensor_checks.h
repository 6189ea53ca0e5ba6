/* Helpers the runtime tests share: the seeded generators their random fills draw from, a tensor's
 * size in bytes, a one-node graph's tensors, and the comparison of a kernel's float output with
 * the reference's, with a tolerance relative to the tensor's scale. */
#ifndef IPRO_TEST_TENSOR_CHECKS_H
#define IPRO_TEST_TENSOR_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"
#include "runtime/backend.h"

/* xorshift64*: a uniform float in [-1, 1), advancing *state. */
float ipro_test_random_uniform(uint64_t *state);

/* A linear congruential draw, uniform in [lo, hi) in steps of (hi - lo) / 65536. */
double ipro_test_lcg_uniform(unsigned *state, double lo, double hi);

size_t ipro_test_tensor_bytes(const ipro_tensor *tensor);

/* Channel c's mean and biased variance of x (batch, channels, size...) row-major, in double: the
 * batch statistics a training-mode BatchNormalization normalises with. */
void ipro_test_channel_moments(const float *x, int64_t batch, int64_t channels, int64_t size,
                               int64_t c, double *mean, double *variance);

/* Adds (or finds) tensor `name` and gives it dtype and shape; returns its index. */
int ipro_test_add_tensor(ipro_graph *graph, const char *name, ipro_dtype dtype, int rank,
                         const int64_t *dims);

/* How far got lies beyond absolute + relative·|expected| (≤ 0: within): 0 when both are NaN or
 * both the same infinity, +infinity when only one is NaN or only one is infinite (or they are
 * opposite infinities), so that no non-finite value passes by making the difference NaN. */
double ipro_test_excess(double got, double expected, double absolute, double relative);

/* Checks every element within `relative` of its own expected value (and 1e-30): for values that
 * no cancellation makes tiny and that differ in size by orders of magnitude within one tensor
 * (the BCE gradient, 1/(p(1 − p)) at clamped probabilities beside ≈ 1e-6 elsewhere), which a
 * tolerance to the tensor's scale would pass unchecked. */
void ipro_test_compare_each(const char *label, const char *what, const float *got,
                            const float *expected, int64_t count, double relative);

/* Checks every element within atol 1e-5 * scale + rtol 1e-4 * |expected|, scale = max(1, max
 * finite |expected|); NaN and infinities must be where the reference has them
 * (ipro_test_excess). Returns the largest |got - expected| / scale over finite pairs. */
double ipro_test_compare_scaled(const char *label, const char *what, const float *got,
                                const float *expected, int64_t count);

/* Checks gradient (a kernel's df/dx, computed beforehand) against central differences of f over
 * every element of xs: element i moves by ±step·(1 + |x_i|), as rounded to float, f is evaluated
 * by objective(context) at each side, and x_i is restored. The largest |gradient - estimate| must
 * stay within tolerance · scale, scale being the largest |gradient| or |estimate|, which must
 * exceed min_scale (a gradient that is 0 everywhere proves nothing). NaN anywhere fails. */
typedef double (*ipro_test_objective)(void *context);
void ipro_test_check_central_differences(const char *what, float *xs, int64_t count,
                                         const float *gradient, ipro_test_objective objective,
                                         void *context, double step, double tolerance,
                                         double min_scale);

/* Asks the backend whether it takes node, printing its reason when it declines, and checks the
 * answer against expect_supported. Returns the answer. */
bool ipro_test_expect_support(ipro_backend *backend, const ipro_graph *graph, const ipro_node *node,
                              const char *label, bool expect_supported);
/* Runs a prepared kernel once (step 0) with a workspace of its size from backend, filled with
 * 0xff bytes (NaNs as floats) first when poison, so that a kernel reading workspace it did not
 * write shows; each call is checked. The kernel stays the caller's. */
void ipro_test_run_kernel(ipro_backend *backend, ipro_kernel *kernel, void *const *inputs,
                          void *const *outputs, bool poison);

/* Whether a kernel the oneDNN backend prepared runs on the backend's own loops (its cpu_*.c
 * kernels), not on a oneDNN primitive: one step is a loop, and any others are reorders (of
 * inputs into the layout the loop reads, of its output out of the layout it writes). */
bool ipro_test_onednn_runs_loop(const ipro_kernel *kernel);

/* Copies every attribute of `from` (but tensors) onto `to`, as autodiff does for gradient nodes. */
void ipro_test_copy_attributes(ipro_node *to, const ipro_node *from);

/* Adds node `name`: ResizeGrad of the Resize node `forward` (its attributes copied) from tensor
 * dy to a new tensor dx_name, with input_shape (rank values) and forward_op set. Aborts when out
 * of memory. Returns the node's index. */
int ipro_test_add_resize_grad(ipro_graph *graph, const char *name, int forward, int dy,
                              const char *dx_name, int rank, const int64_t *input_shape);

/* A few nodes of a graph with one zero-initialised data buffer per tensor, filled from a seeded
 * generator (ipro_test_lcg_uniform). Allocation failures abort. */
#define IPRO_TEST_BENCH_TENSORS 32
typedef struct {
  ipro_graph *graph;
  void *data[IPRO_TEST_BENCH_TENSORS];
  unsigned random_state;
} ipro_test_bench;

ipro_test_bench ipro_test_bench_open(unsigned seed);
void ipro_test_bench_close(ipro_test_bench *bench);
/* Adds tensor `name` of dtype and shape with a zeroed buffer; returns its index. */
int ipro_test_bench_tensor(ipro_test_bench *bench, const char *name, ipro_dtype dtype, int rank,
                           const int64_t *dims);
int64_t ipro_test_bench_count(const ipro_test_bench *bench, int t);
/* Fills float tensor t with values uniform in [lo, hi). */
void ipro_test_bench_fill(ipro_test_bench *bench, int t, double lo, double hi);

#endif
