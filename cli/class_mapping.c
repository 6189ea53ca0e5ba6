/* The class names a model was trained on, written and checked (see class_mapping.h). */
#include "class_mapping.h"

#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ir/printable.h"

char *ipro_cli_classes_metadata(const ipro_dataset *data) {
  if (!data->class_names) return NULL;
  char name[IPRO_PRINTABLE_MAX];
  size_t size = 1;
  for (int c = 0; c < data->num_classes; c++)
    size += strlen(ipro_printable(data->class_names[c], name, sizeof name)) + 1;
  char *text = malloc(size);
  if (!text) return NULL;
  size_t used = 0;
  for (int c = 0; c < data->num_classes; c++) {
    const char *shown = ipro_printable(data->class_names[c], name, sizeof name);
    size_t length = strlen(shown);
    if (c) text[used++] = '\n';
    memcpy(text + used, shown, length);
    used += length;
  }
  text[used] = '\0';
  return text;
}

/* The metadata's name at index, copied into name (empty when there are fewer). */
static void metadata_name(const char *names, int index, char *name, size_t size) {
  const char *at = names;
  for (int i = 0; i < index && at; i++) {
    at = strchr(at, '\n');
    if (at) at++;
  }
  size_t length = at ? strcspn(at, "\n") : 0;
  if (length >= size) length = size - 1;
  if (at) memcpy(name, at, length);
  name[length] = '\0';
}

static int metadata_count(const char *names) {
  int count = 1;
  for (const char *p = names; *p; p++)
    count += *p == '\n';
  return count;
}

ipro_status ipro_cli_check_model_classes(const char *model, const ipro_dataset *data,
                                         const char *spec, ipro_error *err) {
  if (!data->class_names) return IPRO_OK;
  ipro_graph *graph = NULL;
  if (ipro_graph_load(model, &graph, err) != IPRO_OK) return IPRO_ERROR;
  const char *names = ipro_graph_metadata(graph, IPRO_CLI_CLASSES_METADATA);
  ipro_status status = IPRO_OK;
  if (names && names[0]) {
    int trained = metadata_count(names);
    char expected[IPRO_PRINTABLE_MAX], found[IPRO_PRINTABLE_MAX];
    for (int c = 0; status == IPRO_OK && (c < trained || c < data->num_classes); c++) {
      metadata_name(names, c, expected, sizeof expected);
      const char *shown =
          c < data->num_classes ? ipro_printable(data->class_names[c], found, sizeof found) : "";
      if (c < trained && c < data->num_classes && !strcmp(expected, shown)) continue;
      if (c >= data->num_classes)
        status = ipro_error_set(err,
                                "%s has %d classes, but %s was trained on %d (its metadata %s): "
                                "class %d is '%s' in the model and missing from the data",
                                spec, data->num_classes, model, trained, IPRO_CLI_CLASSES_METADATA,
                                c, expected);
      else if (c >= trained)
        status = ipro_error_set(err,
                                "%s has %d classes, but %s was trained on %d (its metadata %s): "
                                "class %d is '%s' in the data and not in the model",
                                spec, data->num_classes, model, trained, IPRO_CLI_CLASSES_METADATA,
                                c, shown);
      else
        status = ipro_error_set(err,
                                "%s's classes differ from those %s was trained on (its metadata "
                                "%s): class %d is '%s' in the data but '%s' in the model",
                                spec, model, IPRO_CLI_CLASSES_METADATA, c, shown, expected);
    }
  }
  ipro_graph_free(graph);
  return status;
}
