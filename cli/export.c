/* `infopro export MODEL.onnx -o OUT.onnx [--inference] [--external-data]`: a copy of a model,
 * optionally in inference form (BatchNormalization on its running statistics, training-only
 * outputs and Dropout's training mode removed) and optionally with its weights in a side file
 * OUT.onnx.data. The work is frontend/onnx_export.h's; this file parses and reports. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "finite_parameters.h"
#include "frontend/onnx_export.h"

static const char usage[] =
    "usage: infopro export MODEL.onnx -o OUT.onnx [--inference] [--external-data]\n"
    "  -o OUT.onnx       the file to write (may be MODEL.onnx itself)\n"
    "  --inference       inference form: BatchNormalization in inference mode on the running\n"
    "                    statistics, its running-statistic outputs, Dropout's training_mode\n"
    "                    input and mask output, and graph outputs only training makes, removed\n"
    "  --external-data   weights of 1 KiB or more in OUT.onnx.data beside OUT.onnx (done anyway\n"
    "                    when MODEL.onnx keeps weights outside or OUT.onnx would pass 2 GB)\n";

int ipro_cli_export(int argc, char **argv) {
  ipro_export_request request = {0};
  bool wrote_side_file = false;
  request.wrote_side_file = &wrote_side_file;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--inference") == 0) {
      request.inference = true;
    } else if (strcmp(a, "--external-data") == 0) {
      request.external_data = true;
    } else if (strcmp(a, "-o") == 0 && i + 1 < argc) {
      request.destination = argv[++i];
    } else if (a[0] != '-' && !request.source_model) {
      request.source_model = a;
    } else {
      static const char *const value_options[] = {"-o", NULL};
      return ipro_cli_refuse_argument("infopro export", a, i + 1 == argc, value_options, usage);
    }
  }
  if (!request.source_model)
    return ipro_cli_missing_argument("infopro export", "MODEL.onnx", usage);
  if (!request.destination)
    return ipro_cli_missing_argument("infopro export", "-o OUT.onnx", usage);
  ipro_error err = {{0}};
  /* a copy would carry them to whatever reads it next, ONNX Runtime as much as infopro */
  if (ipro_cli_check_finite_model(request.source_model, "exported", &err) != IPRO_OK ||
      ipro_onnx_export(&request, &err) != IPRO_OK)
    return ipro_cli_fail(err.message);
  printf("wrote %s%s", request.destination, request.inference ? " (inference form)" : "");
  if (wrote_side_file) printf(" with its weights in %s.data", request.destination);
  printf("\n");
  return 0;
}
