/* Building one module's training program (see module_program.h). */
#include "module_program.h"

#include <stdio.h>
#include <string.h>

#include "codegen/fusion.h"
#include "partitioner/module_graph.h"

void ipro_local_settings_defaults(ipro_local_settings *s) {
  memset(s, 0, sizeof *s);
  s->optimizer = IPRO_OPTIMIZER_SGD;
  s->heads.convs = 1;
  s->heads.fcs = 2;
  s->heads.aux_loss = IPRO_AUX_LOSS_CONTRAST;
  s->heads.classes = 10;
  s->heads.image_channels = 1;
  s->heads.std[0] = 1;
  s->heads.seed = 1;
  s->lambda_first[0] = 5;
  s->lambda_first[1] = 1;
  s->lambda_last[0] = 0;
  s->lambda_last[1] = 1;
  s->K = 2;
  s->choose_heads = true;
  s->fuse_relu = true;
}

void ipro_local_lambdas(const ipro_local_settings *s, int module, float *reconstruction,
                        float *aux) {
  float t = s->K > 2 ? (float)module / (float)(s->K - 2) : 0.0f;
  *reconstruction = s->lambda_first[0] + t * (s->lambda_last[0] - s->lambda_first[0]);
  *aux = s->lambda_first[1] + t * (s->lambda_last[1] - s->lambda_first[1]);
}

ipro_status ipro_module_program_build(const ipro_graph *network, int first_cut, int last_cut,
                                      int module, const ipro_local_settings *settings,
                                      ipro_graph **graph, ipro_training_graph *training,
                                      ipro_error *err) {
  *graph = NULL;
  memset(training, 0, sizeof *training);
  ipro_graph *m = NULL;
  if (ipro_module_graph_extract(network, first_cut, last_cut, &m, err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_status status = ipro_graph_infer_shapes(m, settings->batch, err);
  bool last = last_cut < 0;
  if (status == IPRO_OK && last) {
    status = ipro_training_graph_build(m, settings->optimizer, training, err);
  } else if (status == IPRO_OK) {
    ipro_head_options heads = settings->heads;
    ipro_local_lambdas(settings, module, &heads.reconstruction_weight, &heads.aux_weight);
    if (module < settings->n_module_heads) {
      heads.convs = settings->module_heads[module].convs;
      heads.fcs = settings->module_heads[module].fcs;
      heads.decoder = settings->module_heads[module].decoder;
    }
    heads.seed = settings->heads.seed + (uint64_t)module * 1000003u;
    const ipro_tensor *image = &network->tensors[network->inputs[0]];
    ipro_loss_term terms[2];
    int n_terms = 0;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "infopro%d", module + 1);
    int image_in_module = first_cut < 0 ? m->inputs[0] : -1;
    status =
        ipro_heads_append(m, image_in_module, &image->shape, &heads, prefix, terms, &n_terms, err);
    if (status == IPRO_OK && n_terms == 0)
      status = ipro_error_set(err, "module %d has no local loss (both λ are zero)", module + 1);
    if (status == IPRO_OK)
      status = ipro_training_graph_build_objective(m, settings->optimizer, terms, n_terms, true,
                                                   training, err);
  }
  if (status == IPRO_OK && settings->fuse_relu) {
    ipro_fused_counts fused;
    status = ipro_fuse_relu(m, &fused, err);
    if (status == IPRO_OK && fused.batch_norm_relu + fused.add_relu + fused.sum_relu_grad > 0)
      status = ipro_graph_infer_shapes(m, settings->batch, err);
  }
  if (status != IPRO_OK) {
    ipro_training_graph_release(training);
    ipro_graph_free(m);
    return status;
  }
  *graph = m;
  return IPRO_OK;
}
