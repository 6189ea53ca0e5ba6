/* Measuring a network's training programs node by node and fitting each op's time model
 * (step_calibration.h). */
#include "step_calibration.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/op_table.h"
#include "runtime/backend_settings.h"
#include "runtime/executor.h"

static double operand_bytes(const ipro_graph *graph, const ipro_node *node) {
  double bytes = 0;
  for (int i = 0; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0) bytes += (double)ipro_tensor_bytes(&graph->tensors[node->inputs[i]]);
  for (int o = 0; o < node->n_outputs; o++)
    if (node->outputs[o] >= 0)
      bytes += (double)ipro_tensor_bytes(&graph->tensors[node->outputs[o]]);
  return bytes;
}

void ipro_op_timing_add(ipro_op_timing *s, double t, double f, double b) {
  s->nodes++;
  s->t += t;
  s->ff += f * f, s->fb += f * b, s->bb += b * b;
  s->ft += f * t, s->bt += b * t;
}

void ipro_step_calibration_add(ipro_step_calibration *c, const ipro_graph *graph,
                               const double *node_seconds) {
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    double f = (double)ipro_op_info_of(node->op)->flops(graph, node);
    double b = operand_bytes(graph, node);
    ipro_op_timing_add(&c->ops[node->op], node_seconds[n], f, b);
    ipro_op_timing_add(&c->all, node_seconds[n], f, b);
    c->measured_seconds += node_seconds[n];
  }
}

/* The least-squares model with non-negative coefficients (step_calibration.h). */
void ipro_op_timing_fit(ipro_op_timing *s) {
  s->per_flop = s->per_byte = 0;
  if (s->nodes == 0) return;
  double det = s->ff * s->bb - s->fb * s->fb;
  if (det > 1e-9 * s->ff * s->bb) {
    double a = (s->ft * s->bb - s->bt * s->fb) / det, b = (s->bt * s->ff - s->ft * s->fb) / det;
    if (a >= 0 && b >= 0) {
      s->per_flop = a, s->per_byte = b;
      return;
    }
  }
  /* One term: the remaining squared error of each is Σt² - (xt)²/xx, so the larger (xt)²/xx
   * wins (Σt² is the same for both and is not kept). */
  double by_flops = s->ff > 0 && s->ft > 0 ? s->ft * s->ft / s->ff : -1;
  double by_bytes = s->bb > 0 && s->bt > 0 ? s->bt * s->bt / s->bb : -1;
  if (by_flops < 0 && by_bytes < 0) return;
  if (by_flops > by_bytes)
    s->per_flop = s->ft / s->ff;
  else
    s->per_byte = s->bt / s->bb;
}

void ipro_step_calibration_fit(ipro_step_calibration *c) {
  for (int op = 0; op < IPRO_OP_COUNT; op++)
    ipro_op_timing_fit(&c->ops[op]);
  ipro_op_timing_fit(&c->all);
}

/* The predicted seconds of one node. */
static double predicted_node_seconds(const ipro_step_calibration *c, const ipro_graph *graph,
                                     const ipro_node *node) {
  const ipro_op_timing *model = c->ops[node->op].nodes ? &c->ops[node->op] : &c->all;
  double f = (double)ipro_op_info_of(node->op)->flops(graph, node);
  return model->per_flop * f + model->per_byte * operand_bytes(graph, node);
}

double ipro_step_calibration_seconds(const ipro_step_calibration *c, const ipro_graph *graph) {
  double seconds = 0;
  for (int n = 0; n < graph->n_nodes; n++)
    seconds += predicted_node_seconds(c, graph, &graph->nodes[n]);
  return seconds;
}

/* Host data for every graph input of the executor's program: pixels and activations
 * pseudo-random in [0, 1], labels cycling over the classes. */
static ipro_status fill_inputs(const ipro_graph *graph, const ipro_forward_program *program,
                               int classes, void **inputs, ipro_error *err) {
  uint32_t state = 2463534242u;
  for (int i = 0; i < graph->n_inputs; i++) {
    const ipro_tensor *tensor = &graph->tensors[graph->inputs[i]];
    size_t bytes = program->slots[graph->inputs[i]].bytes;
    inputs[i] = calloc(1, bytes + 1);
    if (!inputs[i]) return ipro_error_set(err, "out of memory");
    if (tensor->dtype == IPRO_DTYPE_INT64) {
      int64_t *labels = inputs[i];
      for (size_t k = 0; k < bytes / sizeof *labels; k++)
        labels[k] = (int64_t)(k % (size_t)(classes > 0 ? classes : 1));
    } else if (tensor->dtype == IPRO_DTYPE_FLOAT) {
      float *values = inputs[i];
      for (size_t k = 0; k < bytes / sizeof *values; k++) {
        state ^= state << 13, state ^= state >> 17, state ^= state << 5; /* xorshift32 */
        values[k] = (float)(state >> 8) / 16777216.0f;
      }
    }
  }
  return IPRO_OK;
}

/* Runs one module's training program 1 + steps times and adds its timed steps. */
static ipro_status measure_module(const ipro_graph *network, int first, int last, int module,
                                  const ipro_local_settings *settings, ipro_backend *backend,
                                  ipro_backend *fallback, int steps, ipro_step_calibration *c,
                                  ipro_error *err) {
  ipro_graph *graph = NULL;
  ipro_training_graph training;
  if (ipro_module_program_build(network, first, last, module, settings, &graph, &training, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  ipro_executor *executor = NULL;
  void **inputs = calloc((size_t)graph->n_inputs + 1, sizeof(void *));
  void **outputs = calloc((size_t)graph->n_outputs + 1, sizeof(void *));
  double *seconds = calloc((size_t)graph->n_nodes + 1, sizeof(double));
  ipro_status status =
      inputs && outputs && seconds ? IPRO_OK : ipro_error_set(err, "out of memory");
  if (status == IPRO_OK) status = ipro_executor_create(graph, backend, fallback, &executor, err);
  const ipro_forward_program *program = executor ? ipro_executor_program(executor) : NULL;
  if (status == IPRO_OK) status = fill_inputs(graph, program, settings->heads.classes, inputs, err);
  for (int o = 0; status == IPRO_OK && o < graph->n_outputs; o++)
    if (!(outputs[o] = malloc(program->slots[graph->outputs[o]].bytes + 1)))
      status = ipro_error_set(err, "out of memory");
  struct timespec started = {0}, ended = {0};
  for (int s = 0; status == IPRO_OK && s <= steps; s++) {
    if (s == 1) {
      ipro_executor_time_nodes(executor, seconds);
      clock_gettime(CLOCK_MONOTONIC, &started);
    }
    status = ipro_executor_run(executor, (const void *const *)inputs, outputs, err);
  }
  clock_gettime(CLOCK_MONOTONIC, &ended);
  if (status == IPRO_OK) {
    c->run_seconds += ((double)(ended.tv_sec - started.tv_sec) +
                       1e-9 * (double)(ended.tv_nsec - started.tv_nsec)) /
                      steps;
    for (int n = 0; n < graph->n_nodes; n++)
      seconds[n] /= steps;
    ipro_step_calibration_add(c, graph, seconds);
  }
  for (int i = 0; inputs && i < graph->n_inputs; i++)
    free(inputs[i]);
  for (int o = 0; outputs && o < graph->n_outputs; o++)
    free(outputs[o]);
  free(inputs), free(outputs), free(seconds);
  ipro_executor_free(executor);
  ipro_training_graph_release(&training);
  ipro_graph_free(graph);
  return status;
}

ipro_status ipro_step_calibration_measure(const ipro_graph *network, const int *cut_points,
                                          int n_cuts, const ipro_local_settings *settings,
                                          ipro_device device, bool reference, int steps,
                                          ipro_step_calibration *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  if (device != IPRO_DEVICE_CPU)
    return ipro_error_set(err, "--calibrate measures on the CPU only (a CUDA kernel returns "
                               "before it finishes); on the GPU leave it out (infopro plan "
                               "--gflops sets the rate its times are estimated at)");
  if (steps < 1) return ipro_error_set(err, "--calibrate needs at least one step");
  ipro_backend *backend = NULL, *fallback = NULL;
  if (ipro_backend_create_for(device, reference, &backend, &fallback, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_local_settings local = *settings;
  ipro_local_settings_for_backend(&local, backend);
  local.n_module_heads = 0;
  local.choose_heads = false;
  local.K = n_cuts > 0 ? 2 : 1;
  int cut = n_cuts > 0 ? cut_points[(n_cuts - 1) / 2] : -1;
  ipro_status status = IPRO_OK;
  for (int module = 0; module < local.K && status == IPRO_OK; module++)
    status = measure_module(network, module == 0 ? -1 : cut, module == 0 ? cut : -1, module, &local,
                            backend, fallback, steps, out, err);
  if (fallback) fallback->destroy(fallback);
  backend->destroy(backend);
  if (status != IPRO_OK) return ipro_error_prefix(err, "--calibrate");
  out->steps = steps;
  out->modules = local.K;
  ipro_step_calibration_fit(out);
  return IPRO_OK;
}
