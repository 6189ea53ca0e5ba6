/* The module source of a compiled program (program_source.h). */
#include "program_source.h"

#include "runtime/program_module.h"

static ipro_status build_module(void *context, int module, bool last, const ipro_backend *backend,
                                ipro_graph **graph, ipro_training_graph *training,
                                ipro_error *err) {
  ipro_program_source *s = context;
  const ipro_program *p = s->program;
  if (p->local.fuse_relu && !backend->runs_fused_relu)
    return ipro_error_set(err,
                          "%s: the program's modules use fused ReLU kernels, which the %s backend "
                          "does not run",
                          s->path, backend->name);
  ipro_byte_reader r = {.at = p->modules + p->module_at[module],
                        .end = p->modules + p->module_at[module] + p->module_size[module]};
  if (!s->network && s->open_network(s->path, p->batch, &s->network, err) != IPRO_OK)
    return IPRO_ERROR;
  if (ipro_program_module_get(&r, graph, training, err) != IPRO_OK) return IPRO_ERROR;
  const ipro_head_options *run = &s->run;
  ipro_status status = ipro_program_module_take_network_values(*graph, s->network, err);
  if (last) ipro_program_source_release(s);
  if (status == IPRO_OK)
    status = ipro_start_values_apply(*graph, &training->start, run->seed, run->mean, run->std,
                                     run->image_channels, err);
  if (status == IPRO_OK) return IPRO_OK;
  ipro_graph_free(*graph);
  *graph = NULL;
  ipro_training_graph_release(training);
  return ipro_error_prefix(err, "%s", s->path);
}

ipro_module_source ipro_program_module_source(ipro_program_source *source) {
  return (ipro_module_source){.K = source->program->local.K,
                              .image_bytes = source->program->image_bytes,
                              .name = source->path,
                              .context = source,
                              .build = build_module};
}

void ipro_program_source_release(ipro_program_source *source) {
  ipro_graph_free(source->network);
  source->network = NULL;
}
