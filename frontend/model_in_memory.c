/* The one model held in memory (model_in_memory.h). */
#include "model_in_memory.h"

#include <string.h>

static const char *provided_name;
static const uint8_t *provided_bytes;
static size_t provided_size;

void ipro_model_provide_in_memory(const char *name, const uint8_t *bytes, size_t size) {
  provided_name = name;
  provided_bytes = bytes;
  provided_size = size;
}

const uint8_t *ipro_model_in_memory(const char *path, size_t *size) {
  if (!provided_name || !path || strcmp(path, provided_name) != 0) return NULL;
  *size = provided_size;
  return provided_bytes;
}
