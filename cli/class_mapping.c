/* The class names a model was trained on, written and checked (see class_mapping.h). */
#include "class_mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ir/printable.h"

/* names[0..count) shown and joined by newlines, the metadata's form. */
static char *joined_names(char *const *names, int count) {
  char name[IPRO_PRINTABLE_MAX];
  size_t size = 1;
  for (int c = 0; c < count; c++)
    size += strlen(ipro_printable(names[c], name, sizeof name)) + 1;
  char *text = malloc(size);
  if (!text) return NULL;
  size_t used = 0;
  for (int c = 0; c < count; c++) {
    const char *shown = ipro_printable(names[c], name, sizeof name);
    size_t length = strlen(shown);
    if (c) text[used++] = '\n';
    memcpy(text + used, shown, length);
    used += length;
  }
  text[used] = '\0';
  return text;
}

char *ipro_cli_classes_metadata(const ipro_dataset *data) {
  return data->class_names ? joined_names(data->class_names, data->num_classes) : NULL;
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

/* The one comparison of trained class names (joined as in the metadata) with data's, for a
 * model and a checkpoint alike. `trained` names what holds them, `held_in` where it holds them and
 * `holder` what the message calls it ("model", "checkpoint"). */
static ipro_status compare_classes(const char *names, const ipro_dataset *data, const char *spec,
                                   const char *trained, const char *held_in, const char *holder,
                                   ipro_error *err) {
  if (!data->class_names || !names || !names[0]) return IPRO_OK;
  int count = metadata_count(names);
  char expected[IPRO_PRINTABLE_MAX], found[IPRO_PRINTABLE_MAX];
  for (int c = 0; c < count || c < data->num_classes; c++) {
    metadata_name(names, c, expected, sizeof expected);
    const char *shown =
        c < data->num_classes ? ipro_printable(data->class_names[c], found, sizeof found) : "";
    if (c < count && c < data->num_classes && !strcmp(expected, shown)) continue;
    if (c >= data->num_classes)
      return ipro_error_set(err,
                            "%s has %d classes, but %s was trained on %d (%s): class %d is '%s' "
                            "in the %s and missing from the data",
                            spec, data->num_classes, trained, count, held_in, c, expected, holder);
    if (c >= count)
      return ipro_error_set(err,
                            "%s has %d classes, but %s was trained on %d (%s): class %d is '%s' "
                            "in the data and not in the %s",
                            spec, data->num_classes, trained, count, held_in, c, shown, holder);
    return ipro_error_set(err,
                          "%s's classes differ from those %s was trained on (%s): class %d is "
                          "'%s' in the data but '%s' in the %s",
                          spec, trained, held_in, c, shown, expected, holder);
  }
  return IPRO_OK;
}

ipro_status ipro_cli_check_model_classes(const char *model, const ipro_dataset *data,
                                         const char *spec, ipro_error *err) {
  if (!data->class_names) return IPRO_OK;
  ipro_graph *graph = NULL;
  if (ipro_graph_load(model, &graph, err) != IPRO_OK) return IPRO_ERROR;
  ipro_status status =
      compare_classes(ipro_graph_metadata(graph, IPRO_CLI_CLASSES_METADATA), data, spec, model,
                      "its metadata " IPRO_CLI_CLASSES_METADATA, "model", err);
  ipro_graph_free(graph);
  return status;
}

ipro_status ipro_cli_check_checkpoint_classes(char *const *names, int count, const char *path,
                                              const ipro_dataset *data, const char *spec,
                                              ipro_error *err) {
  if (!data->class_names || count == 0) return IPRO_OK;
  char *joined = joined_names(names, count);
  if (!joined) return ipro_error_set(err, "out of memory comparing class names");
  char trained[4200];
  snprintf(trained, sizeof trained, "the checkpoint %s", path);
  ipro_status status =
      compare_classes(joined, data, spec, trained, "the class names it holds", "checkpoint", err);
  free(joined);
  return status;
}
