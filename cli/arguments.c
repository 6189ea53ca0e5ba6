/* Argument parsing and error printing shared by the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ir/printable.h"

/* An integer of at least minimum (0 or 1), with a message that names the values allowed. */
static int parse_integer(const char *flag, const char *text, long long minimum, int64_t *out) {
  if (!text) {
    fprintf(stderr, "infopro: %s needs a value\n", flag);
    return 0;
  }
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno || end == text || *end != '\0' || value < minimum) {
    fprintf(stderr, "infopro: %s expects a %s integer, got '%s'\n", flag,
            minimum > 0 ? "positive" : "non-negative", text);
    return 0;
  }
  *out = value;
  return 1;
}

int ipro_cli_parse_positive(const char *flag, const char *text, int64_t *out) {
  return parse_integer(flag, text, 1, out);
}

int ipro_cli_parse_count(const char *flag, const char *text, int64_t *out) {
  return parse_integer(flag, text, 0, out);
}

int ipro_cli_refuse_argument(const char *command, const char *argument, bool last,
                             const char *const *value_options, const char *usage) {
  /* an option given last that takes a value lacks it; any other option is unknown (before, an
   * unknown option given last read "missing value after") */
  const char *problem = argument[0] == '-' ? "unknown option" : "unexpected argument";
  for (int k = 0; last && argument[0] == '-' && value_options[k]; k++)
    if (strcmp(argument, value_options[k]) == 0) problem = "missing value after";
  fprintf(stderr, "%s: %s '%s'\n", command, problem, argument);
  if (usage) fputs(usage, stderr);
  return 2;
}

int ipro_cli_missing_argument(const char *command, const char *what, const char *usage) {
  fprintf(stderr, "%s: missing %s\n", command, what);
  if (usage) fputs(usage, stderr);
  return 2;
}

int ipro_cli_parse_device(const char *text, ipro_device *out) {
  ipro_error err = {{0}};
  if (ipro_device_parse(text, out, &err) == IPRO_OK) return 1;
  fprintf(stderr, "infopro: --device: %s\n", err.message);
  return 0;
}

ipro_status ipro_cli_create_backend(ipro_device device, bool reference, ipro_backend **backend,
                                    ipro_backend **fallback, ipro_error *err) {
  if (ipro_backend_create_for(device, reference, backend, fallback, err) == IPRO_OK) return IPRO_OK;
  return ipro_error_prefix(err, "--device %s", ipro_device_name(device));
}

int ipro_cli_fail(const char *message) {
  fprintf(stderr, "infopro: %s\n", message);
  return 1;
}

void ipro_cli_warn_untested_opsets(const ipro_graph *graph, const char *model) {
  char untested[512], shown[IPRO_PRINTABLE_MAX];
  if (ipro_graph_untested_opsets(graph, untested, sizeof untested) == 0) return;
  fprintf(stderr,
          "infopro: warning: %s imports opset %s, which this build has not been tested with "
          "(tested: ai.onnx %d to %d)\n",
          model, ipro_printable(untested, shown, sizeof shown), IPRO_OPSET_OLDEST_TESTED,
          IPRO_OPSET_NEWEST_TESTED);
}

void ipro_cli_warn_folded_batch_norms(const ipro_graph *graph, const char *model) {
  if (!graph->folded_batch_norms) return;
  char shown[IPRO_PRINTABLE_MAX];
  fprintf(stderr,
          "infopro: warning: %s: its exporter folded %d BatchNormalization%s into the layers "
          "before them (the first: %s), so the network trained here has none and trains "
          "otherwise than yours in PyTorch; export with torch.onnx.export(..., optimize=False) "
          "to keep them\n",
          model, graph->folded_batch_norms, graph->folded_batch_norms == 1 ? "" : "s",
          ipro_printable(graph->folded_batch_norm, shown, sizeof shown));
}

int ipro_cli_flush_stdout(const char *program, int status) {
  int failure = fflush(stdout) == 0 ? 0 : errno;
  if (!failure && !ferror(stdout)) return status;
  fprintf(stderr, "%s: cannot write the standard output: %s\n", program,
          failure ? strerror(failure) : "a write failed");
  return status ? status : 1;
}
