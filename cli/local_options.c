/* Parsing the local-training options and choosing the split they ask for (local_options.h). */
#include "local_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ipro_cli_local_usage[] =
    "  -K N                    cut into N modules with the smallest peak (default 1: end to end)\n"
    "  --budget BYTES          the fewest modules whose peak fits BYTES (e.g. 2GiB, 512MiB)\n"
    "  --cuts T1,T2,...        cut at these tensors (cut points, in network order)\n"
    "  --plan FILE             the cuts of a plan written by `infopro plan --json FILE`\n"
    "  --aux-head SHAPE        the InfoPro classifier head: 0c1f, 0c2f, 1c1f, 1c2f (default), "
    "2c2f\n"
    "  --local-loss KIND       contrast (supervised contrastive, default) or ce\n"
    "  --lambda R1,A1,R2,A2    reconstruction/auxiliary weights at the first local module and at\n"
    "                          the last one (default 5,1,0,1)\n";

void ipro_cli_local_defaults(ipro_cli_local_options *o) {
  memset(o, 0, sizeof *o);
  ipro_local_settings_defaults(&o->local);
}

uint64_t ipro_cli_parse_bytes(const char *text) {
  if (!text) return 0;
  char *end = NULL;
  errno = 0;
  double value = strtod(text, &end);
  if (errno || end == text || value <= 0) return 0;
  static const struct {
    const char *suffix;
    double factor;
  } units[] = {{"", 1},
               {"B", 1},
               {"KiB", 1024.0},
               {"MiB", 1048576.0},
               {"GiB", 1073741824.0},
               {"TiB", 1099511627776.0},
               {"KB", 1e3},
               {"MB", 1e6},
               {"GB", 1e9},
               {"TB", 1e12},
               {"k", 1e3},
               {"K", 1024.0}};
  for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
    if (strcmp(end, units[u].suffix) == 0) {
      double bytes = value * units[u].factor;
      return bytes >= 1 && bytes < 1.8e19 ? (uint64_t)bytes : 0;
    }
  return 0;
}

static int usage_error(const char *flag, const char *value, const char *expected) {
  fprintf(stderr, "infopro: %s expects %s, got '%s'\n", flag, expected, value ? value : "");
  return 2;
}

int ipro_cli_local_option(int argc, char **argv, int *i, ipro_cli_local_options *o) {
  const char *flag = argv[*i];
  const char *value = *i + 1 < argc ? argv[*i + 1] : NULL;
  if (strcmp(flag, "-K") == 0) {
    char *end = NULL;
    long k = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || k < 1 || k > IPRO_MAX_MODULES)
      return usage_error(flag, value, "a number of modules from 1 to 16");
    o->K = (int)k;
  } else if (strcmp(flag, "--budget") == 0) {
    o->budget_bytes = ipro_cli_parse_bytes(value);
    if (!o->budget_bytes) return usage_error(flag, value, "a size such as 2GiB or 500000000");
  } else if (strcmp(flag, "--cuts") == 0) {
    if (!value || !*value) return usage_error(flag, value, "tensor names separated by commas");
    o->cuts_text = value;
  } else if (strcmp(flag, "--plan") == 0) {
    if (!value) return usage_error(flag, value, "a plan JSON file");
    o->plan_path = value;
  } else if (strcmp(flag, "--aux-head") == 0) {
    ipro_error err;
    if (ipro_head_parse(value, &o->local.heads, &err) != IPRO_OK)
      return usage_error(flag, value, "<n>c<m>f, e.g. 1c2f");
  } else if (strcmp(flag, "--local-loss") == 0) {
    if (value && strcmp(value, "contrast") == 0)
      o->local.heads.aux_loss = IPRO_AUX_LOSS_CONTRAST;
    else if (value && strcmp(value, "ce") == 0)
      o->local.heads.aux_loss = IPRO_AUX_LOSS_CROSS_ENTROPY;
    else
      return usage_error(flag, value, "contrast or ce");
  } else if (strcmp(flag, "--lambda") == 0) {
    float l[4];
    char tail;
    if (!value || sscanf(value, "%f,%f,%f,%f%c", &l[0], &l[1], &l[2], &l[3], &tail) != 4 ||
        l[0] < 0 || l[1] < 0 || l[2] < 0 || l[3] < 0)
      return usage_error(flag, value, "four non-negative weights R1,A1,R2,A2");
    o->local.lambda_first[0] = l[0];
    o->local.lambda_first[1] = l[1];
    o->local.lambda_last[0] = l[2];
    o->local.lambda_last[1] = l[3];
    o->lambda_given = true;
  } else {
    return 0;
  }
  (*i)++;
  return 1;
}

int ipro_cli_local_conflicts(const char *command, const ipro_cli_local_options *o,
                             bool budget_checks) {
  const char *given[4];
  int n = 0;
  if (o->K) given[n++] = "-K";
  if (o->cuts_text) given[n++] = "--cuts";
  if (o->plan_path) given[n++] = "--plan";
  /* With budget_checks, --budget beside another choice only checks it. */
  if (o->budget_bytes && !(budget_checks && n == 1)) given[n++] = "--budget";
  if (n < 2) return 0;
  fprintf(stderr,
          "infopro %s: %s and %s both choose the split; give one of -K, --budget, --cuts, "
          "--plan%s\n",
          command, given[0], given[1],
          budget_checks ? " (--budget beside one of the others only checks its peak)" : "");
  return 2;
}

ipro_status ipro_cli_choose_split(const ipro_graph *network, const ipro_cli_local_options *o,
                                  ipro_module_costing *costing, const int *cut_points,
                                  int n_cut_points, ipro_cli_split *out, const char **why,
                                  ipro_error *err) {
  ipro_split_request request = {.K = o->K,
                                .budget_bytes = o->budget_bytes,
                                .cuts_text = o->cuts_text,
                                .plan_path = o->plan_path};
  return ipro_split_choose(network, &request, cut_points, n_cut_points,
                           ipro_module_costing_fixed_bytes(costing), ipro_module_costing_cost,
                           costing, out, why, err);
}
