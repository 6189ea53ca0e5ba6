/* The walk over the bundled models and their test settings (bundled_models.h). */
#include "bundled_models.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frontend/cost.h"
#include "partitioner/infopro_heads.h"

int ipro_test_for_each_model(const char *filter, ipro_test_model_visit visit, void *context) {
  char directory[1024];
  ipro_test_path(directory, sizeof directory, "models");
  DIR *dir = opendir(directory);
  CHECK_MSG(dir != NULL, "cannot open %s", directory);
  int visited = 0;
  struct dirent *entry;
  while (dir && (entry = readdir(dir))) {
    size_t n = strlen(entry->d_name);
    if (n < 5 || strcmp(entry->d_name + n - 5, ".onnx") != 0) continue;
    char path[2048], name[256];
    snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
    snprintf(name, sizeof name, "%.*s", (int)(n - 5), entry->d_name);
    if (filter && !strstr(name, filter)) continue;
    visit(path, name, context);
    visited++;
  }
  if (dir) closedir(dir);
  return visited;
}

ipro_local_settings ipro_test_local_settings(const ipro_graph *network, int64_t batch) {
  ipro_local_settings s;
  ipro_local_settings_defaults(&s);
  s.batch = batch;
  const ipro_tensor *input = &network->tensors[network->inputs[0]];
  s.heads.image_channels = (int)input->shape.dims[1];
  for (int c = 0; c < s.heads.image_channels; c++)
    s.heads.mean[c] = 0.5f, s.heads.std[c] = 0.25f;
  s.heads.classes = (int)network->tensors[network->outputs[0]].shape.dims[1];
  return s;
}

ipro_graph *ipro_test_training_program(const char *name, int64_t batch, bool fuse_relu) {
  char path[1024], relative[256];
  snprintf(relative, sizeof relative, "models/%s.onnx", name);
  ipro_test_path(path, sizeof path, relative);
  ipro_error err = {{0}};
  ipro_graph *network = NULL, *program = NULL;
  CHECK_OK(ipro_graph_open(path, batch, &network, &err), &err);
  if (!network) return NULL;
  ipro_local_settings settings = ipro_test_local_settings(network, batch);
  settings.K = 1;
  settings.fuse_relu = fuse_relu;
  ipro_training_graph training;
  CHECK_OK(ipro_module_program_build(network, -1, -1, 0, &settings, &program, &training, &err),
           &err);
  if (program) ipro_training_graph_release(&training);
  ipro_graph_free(network);
  return program;
}

bool ipro_test_open_model(const char *path, int64_t batch, ipro_test_costed_model *out) {
  memset(out, 0, sizeof *out);
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_open(path, batch, &out->network, &err), &err);
  if (!out->network) return false;
  out->cut_points = malloc(sizeof(int) * (size_t)(out->network->n_nodes + 1));
  CHECK_MSG(out->cut_points != NULL, "out of memory");
  if (out->cut_points) {
    out->n_cuts = ipro_heads_attachable_cuts(
        out->network, out->cut_points, ipro_graph_find_cut_points(out->network, out->cut_points));
    return true;
  }
  ipro_test_costed_model_free(out);
  return false;
}

bool ipro_test_cost_model(const char *path, int64_t batch, int min_cuts, int max_cuts,
                          ipro_test_costed_model *out) {
  if (!ipro_test_open_model(path, batch, out)) return false;
  ipro_error err = {{0}};
  if (out->n_cuts >= min_cuts && out->n_cuts <= max_cuts) {
    ipro_local_settings settings = ipro_test_local_settings(out->network, batch);
    CHECK_OK(ipro_module_costing_create(out->network, out->cut_points, out->n_cuts, &settings,
                                        false, &out->costing, &err),
             &err);
  }
  if (out->costing) return true;
  ipro_test_costed_model_free(out);
  return false;
}

void ipro_test_costed_model_free(ipro_test_costed_model *m) {
  ipro_module_costing_free(m->costing);
  free(m->cut_points);
  ipro_graph_free(m->network);
  memset(m, 0, sizeof *m);
}

ipro_graph *ipro_test_open_inference_graph(const char *path, int64_t batch) {
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  ipro_status status = ipro_graph_load(path, &graph, &err);
  if (status == IPRO_OK) status = ipro_graph_normalize(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_set_inference_mode(graph, &err);
  if (status == IPRO_OK) status = ipro_graph_infer_shapes(graph, batch, &err);
  CHECK_OK(status, &err);
  if (status == IPRO_OK) return graph;
  ipro_graph_free(graph);
  return NULL;
}

int ipro_test_batch_norm_nodes(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/models/%s.onnx", ipro_test_source_dir(), name);
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  CHECK_OK(ipro_graph_load(path, &graph, &err), &err);
  if (!graph) return -1;
  int nodes = 0;
  for (int n = 0; n < graph->n_nodes; n++)
    nodes += graph->nodes[n].op == IPRO_OP_BATCH_NORMALIZATION;
  ipro_graph_free(graph);
  return nodes;
}

void ipro_test_folded_warning(char *text, size_t size) {
  snprintf(text, size,
           "infopro: warning: models/cnn_dynamo_fmnist.onnx: its exporter folded %d "
           "BatchNormalizations",
           ipro_test_batch_norm_nodes("cnn_dynamo_bn_fmnist"));
}
