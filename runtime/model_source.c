/* The module programs of a model file (model_source.h), and ipro_trainer_create (trainer.h). */
#include "model_source.h"

#include <stdlib.h>

#include "codegen/frozen_parameters.h"
#include "codegen/training_graph.h"
#include "partitioner/module_program.h"
#include "runtime/backend_settings.h"

struct ipro_model_source {
  ipro_graph *network;
  const char *model_path;
  int cut_index[IPRO_MAX_MODULES + 1]; /* -1 at both ends */
  ipro_local_settings local;
};

static ipro_status build_module(void *context, int module, bool last, const ipro_backend *backend,
                                ipro_graph **graph, ipro_training_graph *training,
                                ipro_error *err) {
  ipro_model_source *s = context;
  ipro_local_settings local = s->local;
  ipro_local_settings_for_backend(&local, backend);
  ipro_status status =
      ipro_module_program_build(s->network, s->cut_index[module], s->cut_index[module + 1], module,
                                &local, graph, training, err);
  /* The last module built has copied what it needs of the network: it is released before that
   * module's blocks are laid out, its weights not kept twice through the upload. */
  if (last) {
    ipro_graph_free(s->network);
    s->network = NULL;
  }
  return status;
}

/* The trainer feeds float32 images and keeps float32 parameters, gradients and optimizer state
 * (the reference kernels also run float64 graphs, for the gradient checks, but training does
 * not): a network with another real type is refused by name rather than misread. */
static ipro_status check_float32(const ipro_graph *network, const char *model_path,
                                 ipro_error *err) {
  for (int i = 0; i < network->n_tensors; i++) {
    const ipro_tensor *tensor = &network->tensors[i];
    bool image = i == network->inputs[0];
    if ((image || ipro_tensor_is_trainable(network, i)) && tensor->dtype != IPRO_DTYPE_FLOAT)
      return ipro_error_set(err, "%s: training supports float32 networks; %s '%s' is %s",
                            model_path, image ? "the input" : "the parameter", tensor->name,
                            ipro_dtype_name(tensor->dtype));
  }
  return IPRO_OK;
}

static ipro_status open_network(ipro_model_source *s, const ipro_trainer_options *options,
                                ipro_error *err) {
  const char *path = s->model_path;
  if (ipro_graph_load(path, &s->network, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_graph_normalize(s->network, err) != IPRO_OK ||
      ipro_graph_infer_shapes(s->network, options->batch, err) != IPRO_OK)
    return ipro_error_prefix(err, "%s", path);
  if (s->network->n_inputs != 1)
    return ipro_error_set(err, "%s: training supports networks with one input; this one has %d",
                          path, s->network->n_inputs);
  if (ipro_graph_freeze(s->network, options->n_frozen, options->frozen, path, NULL, err) !=
          IPRO_OK ||
      ipro_graph_freeze_statistics(s->network, options->n_frozen_statistics,
                                   options->frozen_statistics, path, NULL, err) != IPRO_OK ||
      check_float32(s->network, path, err) != IPRO_OK)
    return IPRO_ERROR;
  int K = options->n_cuts + 1;
  if (K > IPRO_MAX_MODULES)
    return ipro_error_set(err, "at most %d modules are supported", IPRO_MAX_MODULES);
  s->cut_index[0] = -1;
  for (int c = 0; c < options->n_cuts; c++) {
    s->cut_index[c + 1] = ipro_graph_find_tensor(s->network, options->cuts[c]);
    if (s->cut_index[c + 1] < 0)
      return ipro_error_set(err, "%s: the network has no tensor '%s' to cut at", path,
                            options->cuts[c]);
  }
  s->cut_index[K] = -1;
  s->local = options->local;
  if (options->n_cuts == 0 && s->local.K == 0) ipro_local_settings_defaults(&s->local);
  s->local.K = K;
  s->local.batch = options->batch;
  s->local.optimizer = options->optimizer.kind;
  return IPRO_OK;
}

ipro_status ipro_model_source_open(const char *model_path, const ipro_trainer_options *options,
                                   ipro_model_source **out, ipro_module_source *source,
                                   ipro_error *err) {
  *out = calloc(1, sizeof **out);
  if (!*out) return ipro_error_set(err, "out of memory");
  ipro_model_source *s = *out;
  s->model_path = model_path;
  if (open_network(s, options, err) != IPRO_OK) return IPRO_ERROR;
  *source = (ipro_module_source){
      .K = s->local.K,
      .image_bytes = (size_t)ipro_tensor_bytes(&s->network->tensors[s->network->inputs[0]]),
      .name = model_path,
      .context = s,
      .build = build_module};
  return IPRO_OK;
}

void ipro_model_source_close(ipro_model_source *s) {
  if (!s) return;
  ipro_graph_free(s->network);
  free(s);
}

ipro_status ipro_trainer_create(const char *model_path, const ipro_trainer_options *options,
                                ipro_trainer **out, ipro_error *err) {
  *out = NULL;
  ipro_model_source *s = NULL;
  ipro_module_source source;
  ipro_status status = ipro_model_source_open(model_path, options, &s, &source, err);
  if (status == IPRO_OK) status = ipro_trainer_create_from(&source, options, out, err);
  ipro_model_source_close(s);
  return status;
}
