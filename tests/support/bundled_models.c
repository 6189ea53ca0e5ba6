/* The walk over the bundled models and their test settings (bundled_models.h). */
#include "bundled_models.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

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
