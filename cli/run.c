/* `infopro run MODEL.onnx --input FILE.pb ... [--output-dir DIR] [--reference] [--inference]`:
 * runs a model's forward pass on inputs given as serialized TensorProto files, in graph-input
 * order, and writes each graph output as DIR/output_N.pb. The batch size is taken from the inputs.
 *
 * Every node runs as the ONNX operator definitions say, so the ONNX node tests pass here as they
 * do in the conformance runners: BatchNormalization with training_mode = 1 normalises with the
 * batch's statistics and its running-variance output takes the biased batch variance (ONNX's
 * rule; only the trainer's own program asks for PyTorch's unbiased update, through the
 * unbiased_running_variance attribute, codegen/internal_ops.md), Dropout with training_mode = 1
 * drops, Clip's min and max may be inputs. PyTorch exports BatchNormalization with
 * training_mode = 1 when the model was exported in training mode; --inference runs such a model
 * as `infopro eval` does: BatchNormalization on its running statistics, Dropout off. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "ir/printable.h"
#include "runtime/executor.h"

static const char usage[] =
    "usage: infopro run MODEL.onnx --input FILE.pb [--input FILE.pb ...] [--output-dir DIR]\n"
    "                  [--reference] [--inference]\n"
    "  --input FILE.pb   a serialized ONNX TensorProto, one per graph input, in order\n"
    "  --output-dir DIR  where output_0.pb, output_1.pb, ... are written (default .)\n"
    "  --reference       run the plain C reference kernels instead of oneDNN\n"
    "  --inference       BatchNormalization on running statistics and Dropout off, whatever\n"
    "                    their training_mode (default: each node as the ONNX file defines it)\n";

#define MAX_INPUTS 16

typedef struct {
  const char *model, *output_dir;
  const char *inputs[MAX_INPUTS];
  int n_inputs;
  bool reference, inference;
} run_options;

static int parse(int argc, char **argv, run_options *o) {
  o->output_dir = ".";
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--reference") == 0) {
      o->reference = true;
    } else if (strcmp(a, "--inference") == 0) {
      o->inference = true;
    } else if ((strcmp(a, "--input") == 0 || strcmp(a, "--output-dir") == 0) && i + 1 < argc) {
      if (a[2] == 'o') {
        o->output_dir = argv[++i];
      } else if (o->n_inputs < MAX_INPUTS) {
        o->inputs[o->n_inputs++] = argv[++i];
      } else {
        fprintf(stderr, "infopro run: at most %d inputs\n", MAX_INPUTS);
        return 2;
      }
    } else if (a[0] != '-' && !o->model) {
      o->model = a;
    } else {
      static const char *const value_options[] = {"--input", "--output-dir", NULL};
      return ipro_cli_refuse_argument("infopro run", a, i + 1 == argc, value_options, usage);
    }
  }
  if (!o->model) return ipro_cli_missing_argument("infopro run", "MODEL.onnx", usage);
  return -1;
}

/* Loads the inputs, checks them against the graph, and infers shapes at their batch size. */
static ipro_status prepare_graph(const run_options *o, ipro_graph *graph, ipro_tensor *inputs,
                                 ipro_error *err) {
  if (o->n_inputs != graph->n_inputs)
    return ipro_error_set(err, "%s has %d graph input(s) but %d --input file(s) were given",
                          o->model, graph->n_inputs, o->n_inputs);
  for (int i = 0; i < o->n_inputs; i++)
    if (ipro_tensor_load_file(o->inputs[i], &inputs[i], err) != IPRO_OK) return IPRO_ERROR;
  int64_t batch = 0;
  if (graph->n_inputs == 0) return ipro_graph_infer_shapes(graph, 0, err);
  const ipro_tensor *first = &graph->tensors[graph->inputs[0]];
  if (first->declared_shape && first->declared_shape->rank > 0 &&
      first->declared_shape->dims[0] == IPRO_DIM_BATCH && inputs[0].shape.rank > 0)
    batch = inputs[0].shape.dims[0];
  if (ipro_graph_infer_shapes(graph, batch, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", o->model);
  for (int i = 0; i < o->n_inputs; i++) {
    const ipro_tensor *expected = &graph->tensors[graph->inputs[i]];
    char want[128], got[128];
    if (inputs[i].dtype != expected->dtype || !ipro_shape_equal(&inputs[i].shape, &expected->shape))
      return ipro_error_set(err, "%s is %s %s, but the model's input '%s' is %s %s", o->inputs[i],
                            ipro_dtype_name(inputs[i].dtype),
                            ipro_shape_format(&inputs[i].shape, got, sizeof got), expected->name,
                            ipro_dtype_name(expected->dtype),
                            ipro_shape_format(&expected->shape, want, sizeof want));
  }
  return IPRO_OK;
}

static ipro_status execute(const run_options *o, const ipro_graph *graph, const ipro_tensor *inputs,
                           ipro_error *err) {
  ipro_backend *backend = NULL, *fallback = NULL;
  ipro_executor *executor = NULL;
  ipro_status status = ipro_backend_create_reference(&fallback, err);
  if (status == IPRO_OK && !o->reference) status = ipro_backend_create_onednn(&backend, err);
  if (status == IPRO_OK && o->reference) {
    backend = fallback;
    fallback = NULL;
  }
  if (status == IPRO_OK) status = ipro_executor_create(graph, backend, fallback, &executor, err);
  ipro_tensor outputs[MAX_INPUTS];
  memset(outputs, 0, sizeof outputs);
  void *output_data[MAX_INPUTS] = {0};
  const void *input_data[MAX_INPUTS];
  for (int i = 0; i < graph->n_inputs; i++)
    input_data[i] = inputs[i].data;
  for (int i = 0; status == IPRO_OK && i < graph->n_outputs && i < MAX_INPUTS; i++) {
    outputs[i] = graph->tensors[graph->outputs[i]];
    outputs[i].data_bytes = (size_t)ipro_tensor_bytes(&outputs[i]);
    output_data[i] = malloc(outputs[i].data_bytes ? outputs[i].data_bytes : 1);
    outputs[i].data = output_data[i];
    if (!output_data[i]) status = ipro_error_set(err, "out of memory");
  }
  if (status == IPRO_OK) status = ipro_executor_run(executor, input_data, output_data, err);
  /* The output folder is made if missing (one level, as `mkdir` would). */
  if (status == IPRO_OK && mkdir(o->output_dir, 0777) != 0 && errno != EEXIST)
    status = ipro_error_set(err, "cannot make the output folder '%s': %s", o->output_dir,
                            strerror(errno));
  for (int i = 0; status == IPRO_OK && i < graph->n_outputs && i < MAX_INPUTS; i++) {
    char path[4096], shape[128], name[IPRO_PRINTABLE_MAX];
    snprintf(path, sizeof path, "%s/output_%d.pb", o->output_dir, i);
    status = ipro_tensor_save_file(path, &outputs[i], err);
    if (status == IPRO_OK)
      printf("wrote %s: %s %s %s\n", path, ipro_printable(outputs[i].name, name, sizeof name),
             ipro_dtype_name(outputs[i].dtype),
             ipro_shape_format(&outputs[i].shape, shape, sizeof shape));
  }
  if (status == IPRO_OK) {
    const ipro_forward_program *p = ipro_executor_program(executor);
    printf("backend %s (%d of %d steps; the rest on the reference kernels or views)\n",
           backend->name, ipro_executor_primary_steps(executor), p->n_steps);
    printf("arena %zu bytes planned (lower bound %zu), %zu bytes allocated in all "
           "(parameters %zu, inputs %zu)\n",
           p->arena_bytes, p->arena_lower_bound_bytes, backend->bytes_allocated, p->parameter_bytes,
           p->input_bytes);
  }
  for (int i = 0; i < MAX_INPUTS; i++)
    free(output_data[i]);
  ipro_executor_free(executor);
  if (backend) backend->destroy(backend);
  if (fallback) fallback->destroy(fallback);
  return status;
}

int ipro_cli_run(int argc, char **argv) {
  run_options o = {0};
  int parsed = parse(argc, argv, &o);
  if (parsed >= 0) return parsed;
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  ipro_tensor inputs[MAX_INPUTS];
  memset(inputs, 0, sizeof inputs);
  ipro_status status = ipro_graph_load(o.model, &graph, &err);
  if (status == IPRO_OK && (ipro_graph_normalize(graph, &err) != IPRO_OK ||
                            (o.inference && ipro_graph_set_inference_mode(graph, &err) != IPRO_OK)))
    status = ipro_error_prefix(&err, "%s", o.model);
  if (status == IPRO_OK) ipro_cli_warn_untested_opsets(graph, o.model);
  if (status == IPRO_OK && graph->n_outputs > MAX_INPUTS)
    status = ipro_error_set(&err, "%s has more than %d outputs", o.model, MAX_INPUTS);
  if (status == IPRO_OK) status = prepare_graph(&o, graph, inputs, &err);
  if (status == IPRO_OK) status = execute(&o, graph, inputs, &err);
  for (int i = 0; i < MAX_INPUTS; i++)
    ipro_tensor_release(&inputs[i]);
  ipro_graph_free(graph);
  return status == IPRO_OK ? 0 : ipro_cli_fail(err.message);
}
