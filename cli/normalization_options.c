/* --mean / --std for `infopro eval` and `infopro train` (see normalization_options.h). */
#include "normalization_options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite_number.h"
#include "ir/graph.h"

/* Parses "a,b,c" into at most IPRO_DATASET_MAX_CHANNELS finite floats; false on a malformed list.
 */
static bool parse_floats(const char *text, float *out, int *count) {
  *count = 0;
  const char *p = text;
  for (;;) {
    const char *end = NULL;
    double value = 0;
    if (!ipro_cli_read_finite(p, &end, &value) || *count == IPRO_DATASET_MAX_CHANNELS ||
        (*end != ',' && *end != '\0'))
      return false;
    out[(*count)++] = (float)value;
    if (*end == '\0') return true;
    p = end + 1;
  }
}

void ipro_cli_normalization_text(const float *values, int count,
                                 char text[IPRO_CLI_NORMALIZATION_TEXT_BYTES]) {
  size_t used = 0;
  text[0] = '\0';
  for (int c = 0; c < count && c < IPRO_DATASET_MAX_CHANNELS; c++)
    used += (size_t)snprintf(text + used, IPRO_CLI_NORMALIZATION_TEXT_BYTES - used, "%s%.9g",
                             c ? "," : "", (double)values[c]);
}

bool ipro_cli_model_normalization(const char *model, ipro_cli_normalization *n) {
  n->n_mean = n->n_std = 0;
  ipro_graph *graph = NULL;
  ipro_error err = {{0}};
  if (ipro_graph_load(model, &graph, &err) != IPRO_OK) return false;
  const char *mean = ipro_graph_metadata(graph, IPRO_CLI_MEAN_METADATA);
  const char *std = ipro_graph_metadata(graph, IPRO_CLI_STD_METADATA);
  if (!mean || !std || !parse_floats(mean, n->mean, &n->n_mean) ||
      !parse_floats(std, n->std, &n->n_std) || n->n_mean != n->n_std)
    n->n_mean = n->n_std = 0;
  for (int c = 0; c < n->n_std; c++)
    if (!(n->std[c] > 0.0f)) n->n_mean = n->n_std = 0;
  ipro_graph_free(graph);
  return true;
}

int ipro_cli_normalization_option(const char *command, int argc, char **argv, int *i,
                                  ipro_cli_normalization *n) {
  const char *flag = argv[*i];
  bool mean = strcmp(flag, "--mean") == 0;
  if (!mean && strcmp(flag, "--std") != 0) return 0;
  const char *value = *i + 1 < argc ? argv[*i + 1] : NULL;
  if (!value || !parse_floats(value, mean ? n->mean : n->std, mean ? &n->n_mean : &n->n_std)) {
    fprintf(stderr,
            "infopro %s: %s expects up to %d comma-separated numbers (finite, at most 3.4e38), got "
            "'%s'\n",
            command, flag, IPRO_DATASET_MAX_CHANNELS, value ? value : "nothing");
    return 2;
  }
  (*i)++;
  return 1;
}

ipro_status ipro_cli_normalization_apply(const ipro_cli_normalization *n, const char *spec,
                                         ipro_dataset *data, ipro_error *err) {
  if (!n->n_mean && !n->n_std) return IPRO_OK;
  float mean[IPRO_DATASET_MAX_CHANNELS], std[IPRO_DATASET_MAX_CHANNELS];
  memcpy(mean, data->mean, sizeof mean);
  memcpy(std, data->std, sizeof std);
  int count = data->channels;
  const char *flag = n->n_mean && n->n_mean != count ? "--mean" : "--std";
  int given = n->n_mean && n->n_mean != count ? n->n_mean : n->n_std;
  if (given && given != count)
    return ipro_error_set(err, "%s has %d channel(s), but %s gives %d value(s)", spec, count, flag,
                          given);
  if (n->n_mean) memcpy(mean, n->mean, sizeof mean);
  if (n->n_std) memcpy(std, n->std, sizeof std);
  return ipro_dataset_set_normalization(data, mean, std, count, err);
}
