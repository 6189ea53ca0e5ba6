/* Helpers the runtime tests share (see tensor_checks.h). */
#include "tests/support/tensor_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "runtime/onednn/onednn_internal.h"

#include "tests/support/check.h"

float ipro_test_random_uniform(uint64_t *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  uint64_t bits = *state * UINT64_C(2685821657736338717);
  return (float)(bits >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

double ipro_test_lcg_uniform(unsigned *state, double lo, double hi) {
  *state = *state * 1103515245u + 12345u;
  return lo + (hi - lo) * (double)((*state >> 8) & 0xFFFF) / 65536.0;
}

size_t ipro_test_tensor_bytes(const ipro_tensor *tensor) {
  return (size_t)ipro_shape_elements(&tensor->shape) * ipro_dtype_size(tensor->dtype);
}

void ipro_test_channel_moments(const float *x, int64_t batch, int64_t channels, int64_t size,
                               int64_t c, double *mean, double *variance) {
  double sum = 0, squares = 0, count = (double)(batch * size);
  for (int64_t n = 0; n < batch; n++)
    for (int64_t i = 0; i < size; i++)
      sum += x[(n * channels + c) * size + i];
  *mean = sum / count;
  for (int64_t n = 0; n < batch; n++)
    for (int64_t i = 0; i < size; i++) {
      double d = x[(n * channels + c) * size + i] - *mean;
      squares += d * d;
    }
  *variance = squares / count;
}

int ipro_test_add_tensor(ipro_graph *graph, const char *name, ipro_dtype dtype, int rank,
                         const int64_t *dims) {
  int t = ipro_graph_tensor(graph, name);
  graph->tensors[t].dtype = dtype;
  graph->tensors[t].shape.rank = rank;
  for (int d = 0; d < rank; d++)
    graph->tensors[t].shape.dims[d] = dims[d];
  return t;
}

double ipro_test_excess(double got, double expected, double absolute, double relative) {
  if (isnan(got) || isnan(expected)) return isnan(got) && isnan(expected) ? 0.0 : INFINITY;
  if (isinf(got) || isinf(expected)) return got == expected ? 0.0 : INFINITY;
  return fabs(got - expected) - (absolute + relative * fabs(expected));
}

void ipro_test_compare_each(const char *label, const char *what, const float *got,
                            const float *expected, int64_t count, double relative) {
  int64_t bad = 0, worst = 0;
  double worst_excess = 0.0;
  for (int64_t k = 0; k < count; k++) {
    double excess = ipro_test_excess(got[k], expected[k], 1e-30, relative);
    if (excess > 0) bad++;
    if (excess > worst_excess) worst_excess = excess, worst = k;
  }
  CHECK_MSG(bad == 0,
            "%s: %s: %lld of %lld beyond %g of their own value, worst [%lld]: %.9g vs "
            "reference %.9g",
            label, what, (long long)bad, (long long)count, relative, (long long)worst, got[worst],
            expected[worst]);
}

double ipro_test_compare_scaled(const char *label, const char *what, const float *got,
                                const float *expected, int64_t count) {
  double scale = 1.0;
  for (int64_t k = 0; k < count; k++)
    if (isfinite(expected[k]) && fabs(expected[k]) > scale) scale = fabs(expected[k]);
  int64_t bad = 0, worst = 0;
  double worst_excess = -INFINITY, largest = 0.0;
  for (int64_t k = 0; k < count; k++) {
    double g = got[k], e = expected[k];
    if (isfinite(g) && isfinite(e) && fabs(g - e) / scale > largest) largest = fabs(g - e) / scale;
    double excess = ipro_test_excess(g, e, 1e-5 * scale, 1e-4);
    if (excess > 0) bad++;
    if (excess > worst_excess) worst_excess = excess, worst = k;
  }
  CHECK_MSG(bad == 0, "%s: %s: %lld of %lld differ, worst [%lld]: %.9g vs reference %.9g", label,
            what, (long long)bad, (long long)count, (long long)worst, got[worst], expected[worst]);
  return largest;
}

bool ipro_test_expect_support(ipro_backend *backend, const ipro_graph *graph, const ipro_node *node,
                              const char *label, bool expect_supported) {
  bool supported = backend->supports_forward(backend, graph, node);
  if (!supported) {
    ipro_error err = {{0}};
    ipro_kernel *kernel = NULL;
    backend->prepare_forward(backend, graph, node, &kernel, &err);
    printf("%s: declined: %s\n", label, err.message);
  }
  CHECK_MSG(supported == expect_supported, "%s: supports_forward is %d, expected %d", label,
            supported, expect_supported);
  return supported;
}

void ipro_test_copy_attributes(ipro_node *to, const ipro_node *from) {
  for (int a = 0; a < from->n_attrs; a++) {
    const ipro_attr *attr = &from->attrs[a];
    switch (attr->kind) {
    case IPRO_ATTR_FLOAT: ipro_node_set_float(to, attr->name, attr->f); break;
    case IPRO_ATTR_INT: ipro_node_set_int(to, attr->name, attr->i); break;
    case IPRO_ATTR_STRING: ipro_node_set_string(to, attr->name, attr->s); break;
    case IPRO_ATTR_FLOATS: ipro_node_set_floats(to, attr->name, attr->floats, attr->count); break;
    case IPRO_ATTR_INTS: ipro_node_set_ints(to, attr->name, attr->ints, attr->count); break;
    case IPRO_ATTR_TENSOR: break;
    }
  }
}

int ipro_test_add_resize_grad(ipro_graph *graph, const char *name, int forward, int dy,
                              const char *dx_name, int rank, const int64_t *input_shape) {
  int n = ipro_graph_add_node(graph, name, ipro_op_name(IPRO_OP_RESIZE_GRAD), 1, 1);
  if (n < 0) abort();
  ipro_node *grad = &graph->nodes[n];
  grad->op = IPRO_OP_RESIZE_GRAD;
  grad->inputs[0] = dy;
  grad->outputs[0] = ipro_graph_tensor(graph, dx_name);
  graph->tensors[grad->outputs[0]].producer = n;
  ipro_test_copy_attributes(grad, &graph->nodes[forward]);
  ipro_node_set_ints(grad, "input_shape", input_shape, rank);
  ipro_node_set_int(grad, "forward_op", IPRO_OP_RESIZE);
  return n;
}

ipro_test_bench ipro_test_bench_open(unsigned seed) {
  ipro_test_bench bench = {.graph = ipro_graph_create(), .random_state = seed};
  if (!bench.graph) abort();
  return bench;
}

void ipro_test_bench_close(ipro_test_bench *bench) {
  for (int t = 0; t < IPRO_TEST_BENCH_TENSORS; t++)
    free(bench->data[t]);
  ipro_graph_free(bench->graph);
}

int ipro_test_bench_tensor(ipro_test_bench *bench, const char *name, ipro_dtype dtype, int rank,
                           const int64_t *dims) {
  int t = ipro_graph_tensor(bench->graph, name);
  if (t < 0 || t >= IPRO_TEST_BENCH_TENSORS) abort();
  ipro_test_add_tensor(bench->graph, name, dtype, rank, dims);
  int64_t count = ipro_shape_elements(&bench->graph->tensors[t].shape);
  bench->data[t] = calloc((size_t)(count > 0 ? count : 1), ipro_dtype_size(dtype));
  if (!bench->data[t]) abort();
  return t;
}

int64_t ipro_test_bench_count(const ipro_test_bench *bench, int t) {
  return ipro_shape_elements(&bench->graph->tensors[t].shape);
}

void ipro_test_bench_fill(ipro_test_bench *bench, int t, double lo, double hi) {
  float *values = bench->data[t];
  for (int64_t i = 0; i < ipro_test_bench_count(bench, t); i++)
    values[i] = (float)ipro_test_lcg_uniform(&bench->random_state, lo, hi);
}

void ipro_test_check_central_differences(const char *what, float *xs, int64_t count,
                                         const float *gradient, ipro_test_objective objective,
                                         void *context, double step, double tolerance,
                                         double min_scale) {
  double *estimate = malloc((size_t)(count > 0 ? count : 1) * sizeof *estimate);
  if (!estimate) abort();
  double scale = 0.0;
  for (int64_t i = 0; i < count; i++) {
    float original = xs[i];
    double h = step * (1.0 + fabs(original));
    xs[i] = (float)(original + h);
    double up = xs[i], f_up = objective(context);
    xs[i] = (float)(original - h);
    double down = xs[i], f_down = objective(context);
    xs[i] = original;
    estimate[i] = (f_up - f_down) / (up - down);
    scale = fmax(scale, fmax(fabs(estimate[i]), fabs((double)gradient[i])));
  }
  double worst = 0.0;
  int64_t worst_at = 0;
  for (int64_t i = 0; i < count; i++) {
    double difference = fabs((double)gradient[i] - estimate[i]);
    if (isnan(difference) || isnan(worst)) {
      if (!isnan(worst)) worst = NAN, worst_at = i;
    } else if (difference > worst) {
      worst = difference, worst_at = i;
    }
  }
  CHECK_MSG(scale > min_scale, "%s: the gradient is 0 everywhere, so the check proves nothing",
            what);
  CHECK_MSG(worst <= tolerance * scale,
            "%s: element %lld: kernel %.6g, finite differences %.6g (largest gradient %.3g)", what,
            (long long)worst_at, (double)gradient[worst_at], estimate[worst_at], scale);
  free(estimate);
}

void ipro_test_run_kernel(ipro_backend *backend, ipro_kernel *kernel, void *const *inputs,
                          void *const *outputs, bool poison) {
  ipro_error err = {{0}};
  void *workspace = NULL;
  if (kernel->workspace_bytes > 0)
    CHECK_OK(backend->allocate(backend, kernel->workspace_bytes, &workspace, &err), &err);
  if (poison && workspace) memset(workspace, 0xff, kernel->workspace_bytes);
  CHECK_OK(kernel->run(kernel, inputs, outputs, workspace, 0, &err), &err);
  backend->release(backend, workspace, kernel->workspace_bytes);
}

bool ipro_test_onednn_runs_loop(const ipro_kernel *kernel) {
  const ipro_onednn_kernel *k = (const ipro_onednn_kernel *)kernel;
  int loops = 0;
  for (int s = 0; s < k->n_steps; s++) {
    const_dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
    if (k->steps[s].loop)
      loops++;
    else if (dnnl_primitive_get_primitive_desc(k->steps[s].primitive, &pd) ||
             dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &kind) ||
             kind != dnnl_reorder)
      return false;
  }
  return loops == 1;
}
