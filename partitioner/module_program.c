/* Building one module's training program (see module_program.h). */
#include "module_program.h"

#include <stdio.h>
#include <string.h>

#include "codegen/fusion.h"
#include "frontend/op_table.h"
#include "partitioner/module_graph.h"

/* The module's output 0 written by a copy (ipro_local_settings' copy_output) after its backward
 * pass, just before the optimizer's updates, which stay the program's last steps
 * (runtime/mpi/replicas.c averages the gradients there). */
static ipro_status copy_output(ipro_graph *m, ipro_error *err) {
  int h = m->outputs[0];
  if (m->tensors[h].producer < 0) return IPRO_OK; /* an input handed straight on */
  /* backends carry only feature maps (rank 3 to 5) in layouts of their own: a feature vector
   * (a cut inside an MLP) is handed on as it is */
  if (m->tensors[h].shape.rank < 3 || m->tensors[h].shape.rank > 5) return IPRO_OK;
  char name[600];
  snprintf(name, sizeof name, "%.500s:handed_on", m->tensors[h].name);
  /* a network's own tensor of that name (or a long name cut to the same 500 characters) keeps
   * it: the output is then handed on as it is */
  if (ipro_graph_find_tensor(m, name) >= 0) return IPRO_OK;
  int n = ipro_graph_add_node(m, name, ipro_op_name(IPRO_OP_IDENTITY), 1, 1);
  int y = n >= 0 ? ipro_graph_tensor(m, name) : -1;
  if (y < 0) return ipro_error_set(err, "out of memory");
  ipro_tensor *copy = &m->tensors[y], *original = &m->tensors[h];
  copy->kind = IPRO_TENSOR_ACTIVATION;
  copy->dtype = original->dtype;
  copy->shape = original->shape;
  copy->producer = n;
  copy->is_graph_output = true;
  original->is_graph_output = false;
  m->nodes[n].op = IPRO_OP_IDENTITY;
  m->nodes[n].inputs[0] = h;
  m->nodes[n].outputs[0] = y;
  m->outputs[0] = y;
  for (int at = 0; at < n; at++)
    if (m->nodes[at].op == IPRO_OP_SGD_UPDATE || m->nodes[at].op == IPRO_OP_ADAM_UPDATE) {
      ipro_graph_move_last_node(m, at);
      break;
    }
  return IPRO_OK;
}

ipro_status ipro_module_program_build(const ipro_graph *network, int first_cut, int last_cut,
                                      int module, const ipro_local_settings *settings,
                                      ipro_graph **graph, ipro_training_graph *training,
                                      ipro_error *err) {
  *graph = NULL;
  memset(training, 0, sizeof *training);
  ipro_graph *m = NULL;
  /* a program that is planned and never run (the costing's) copies no weights */
  if (ipro_module_graph_extract(network, first_cut, last_cut, settings->plan_only, &m, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  ipro_status status = ipro_graph_infer_shapes(m, settings->batch, err);
  /* SiLU as one activation before autodiff differentiates it (codegen/fusion.h), where the
   * backend runs fused activations */
  if (status == IPRO_OK && settings->fuse_relu) status = ipro_fuse_silu(m, err);
  if (status == IPRO_OK && settings->fuse_relu) status = ipro_fuse_gelu(m, NULL, err);
  /* a linear layer's weight read through strides, not transposed each step (codegen/fusion.h) */
  if (status == IPRO_OK && settings->fuse_relu) status = ipro_fuse_transposed_weights(m, NULL, err);
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
    heads.undrawn = settings->plan_only;
    heads.channels_last = ipro_heads_cut_is_channels_last(network, last_cut);
    const ipro_tensor *image = &network->tensors[network->inputs[0]];
    ipro_loss_term terms[2];
    int n_terms = 0;
    char prefix[32];
    snprintf(prefix, sizeof prefix, IPRO_HEAD_PREFIX "%d", module + 1);
    int image_in_module = first_cut < 0 ? m->inputs[0] : -1;
    ipro_start_values start;
    status = ipro_heads_append(m, image_in_module, &image->shape, &heads, prefix, terms, &n_terms,
                               &start, err);
    start.seed_offset = heads.seed - settings->heads.seed;
    if (status == IPRO_OK && n_terms == 0)
      status = ipro_error_set(err, "module %d has no local loss (both λ are zero)", module + 1);
    if (status == IPRO_OK)
      status = ipro_training_graph_build_objective(m, settings->optimizer, terms, n_terms, true,
                                                   training, err);
    if (status == IPRO_OK)
      training->start = start;
    else
      ipro_start_values_release(&start);
  }
  if (status == IPRO_OK && settings->fuse_relu) {
    ipro_fused_counts fused;
    status = ipro_fuse_relu(m, &fused, err);
    if (status == IPRO_OK &&
        fused.batch_norm_relu + fused.add_relu + fused.sum_relu_grad + fused.batch_norm_add_relu >
            0)
      status = ipro_graph_infer_shapes(m, settings->batch, err);
  }
  if (status == IPRO_OK && settings->copy_output && !last) {
    status = copy_output(m, err);
    if (status == IPRO_OK) status = ipro_graph_infer_shapes(m, settings->batch, err);
  }
  if (status != IPRO_OK) {
    ipro_training_graph_release(training);
    ipro_graph_free(m);
    return status;
  }
  ipro_graph_shrink_to_fit(m);
  *graph = m;
  return IPRO_OK;
}
