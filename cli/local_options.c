/* Parsing the local-training options (local_options.h). */
#include "local_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite_number.h"

const char ipro_cli_local_usage[] =
    "  -K N                    cut into N modules with the smallest peak (default 1: end to end)\n"
    "  --budget BYTES          the fewest modules whose peak fits BYTES (e.g. 2GiB, 512MiB)\n"
    "  --cuts T1,T2,...        cut at these tensors (cut points, in network order)\n"
    "  --plan FILE             the cuts of a plan written by `infopro plan --json FILE`\n"
    "  --balance memory|time   with -K N: the cuts with the smallest peak (memory, the default)\n"
    "                          or those whose slowest module's step is the shortest (time: the\n"
    "                          pace of a pipeline of one module per process, mpirun -np N)\n"
    "  --calibrate             time each module's step by the network's kernels measured on this\n"
    "                          machine (a few training steps first) instead of by its FLOPs\n"
    "  --aux-head SHAPE        the InfoPro classifier head: auto (default: per cut, the most\n"
    "                          faithful of 1c2f and 0c2f with the paper's decoder, then with the\n"
    "                          reduced one, that keeps the cut profitable), or <n>c<m>f: n of\n"
    "                          0 to 3 convolutions, m of 1 to 3 fully connected layers (0c1f,\n"
    "                          0c2f, 1c1f, 1c2f, 2c2f, ...)\n"
    "  --decoder KIND          paper (upsample the cut to the image's size, then reconstruct) or\n"
    "                          reduced (reconstruct the image resized to the cut's resolution);\n"
    "                          default: paper, or chosen per cut with --aux-head auto\n"
    "  --local-loss KIND       contrast (supervised contrastive, default) or ce\n"
    "  --lambda R1,A1,R2,A2    reconstruction/auxiliary weights at the first local module and at\n"
    "                          the last one (default 5,1,0,1)\n"
    "  --freeze PATTERN        do not train the parameters PATTERN names (repeatable): a tensor\n"
    "                          name, a module's prefix (layer1 freezes layer1.0.conv1.weight) or\n"
    "                          a shell glob ('*.bias'); they get no gradient and are written\n"
    "                          back as loaded (BatchNormalization's running statistics still\n"
    "                          follow the batches)\n"
    "  --freeze-statistics PATTERN  the BatchNormalizations whose running statistics PATTERN\n"
    "                          names (as --freeze does) normalise with them and keep them as\n"
    "                          loaded, as PyTorch's bn.eval() does (repeatable)\n";

void ipro_cli_local_defaults(ipro_cli_local_options *o) {
  memset(o, 0, sizeof *o);
  ipro_local_settings_defaults(&o->local);
}

ipro_split_request ipro_cli_split_request(const ipro_cli_local_options *o, const char **names) {
  for (int k = 0; k < o->n_cuts; k++)
    names[k] = o->cuts[k];
  return (ipro_split_request){.K = o->K,
                              .budget_bytes = o->budget_bytes,
                              .plan_path = o->plan_path,
                              .n_cut_names = o->n_cuts,
                              .cut_names = names};
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

/* Every flag ipro_cli_local_option takes: the parser below takes no other. */
static const char *const local_flags[] = {
    "-K",        "--budget",     "--cuts",   "--plan",      "--balance", "--aux-head",
    "--decoder", "--local-loss", "--lambda", "--calibrate", "--freeze",  "--freeze-statistics"};

bool ipro_cli_is_local_option(const char *flag) {
  for (size_t f = 0; f < sizeof local_flags / sizeof local_flags[0]; f++)
    if (strcmp(flag, local_flags[f]) == 0) return true;
  return false;
}

int ipro_cli_local_option(int argc, char **argv, int *i, ipro_cli_local_options *o) {
  const char *flag = argv[*i];
  if (!ipro_cli_is_local_option(flag)) return 0;
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
    o->n_cuts = 0;
    for (const char *p = value;; p++) { /* each name up to a comma or the end */
      size_t n = strcspn(p, ",");
      if (n == 0) return usage_error(flag, value, "tensor names separated by commas, none empty");
      char expected[64];
      if (o->n_cuts == IPRO_MAX_MODULES - 1) {
        snprintf(expected, sizeof expected, "at most %d tensor names (%d modules)",
                 IPRO_MAX_MODULES - 1, IPRO_MAX_MODULES);
        return usage_error(flag, value, expected);
      }
      if (n >= sizeof o->cuts[0]) {
        snprintf(expected, sizeof expected, "tensor names of fewer than %zu bytes",
                 sizeof o->cuts[0]);
        return usage_error(flag, value, expected);
      }
      snprintf(o->cuts[o->n_cuts++], sizeof o->cuts[0], "%.*s", (int)n, p);
      p += n;
      if (!*p) break;
    }
  } else if (strcmp(flag, "--plan") == 0) {
    if (!value) return usage_error(flag, value, "a plan JSON file");
    o->plan_path = value;
  } else if (strcmp(flag, "--freeze") == 0 || strcmp(flag, "--freeze-statistics") == 0) {
    bool statistics = strcmp(flag, "--freeze-statistics") == 0;
    int *n = statistics ? &o->n_frozen_statistics : &o->n_frozen;
    const char **patterns = statistics ? o->frozen_statistics : o->frozen;
    if (!value || !*value) return usage_error(flag, value, "a tensor name or pattern");
    char expected[64];
    snprintf(expected, sizeof expected, "at most %d patterns in one run", IPRO_MAX_FROZEN_PATTERNS);
    if (*n == IPRO_MAX_FROZEN_PATTERNS) return usage_error(flag, value, expected);
    patterns[(*n)++] = value;
  } else if (strcmp(flag, "--calibrate") == 0) {
    o->calibrate = true;
    return 1; /* no value */
  } else if (strcmp(flag, "--balance") == 0) {
    if (!value || (strcmp(value, "time") != 0 && strcmp(value, "memory") != 0))
      return usage_error(flag, value, "memory or time");
    o->balance_time = strcmp(value, "time") == 0;
  } else if (strcmp(flag, "--aux-head") == 0) {
    _Static_assert(IPRO_HEAD_MAX_CONVS == 3 && IPRO_HEAD_MAX_FCS == 3,
                   "--aux-head's help and message state the head's limits");
    ipro_error err;
    o->local.choose_heads = value && strcmp(value, "auto") == 0;
    if (!o->local.choose_heads && ipro_head_parse(value, &o->local.heads, &err) != IPRO_OK)
      return usage_error(flag, value,
                         "auto or <n>c<m>f with n of 0 to 3 convolutions and m of 1 to 3 fully "
                         "connected layers, e.g. 1c2f");
  } else if (strcmp(flag, "--decoder") == 0) {
    ipro_error err;
    if (ipro_decoder_parse(value, &o->local.heads.decoder, &err) != IPRO_OK)
      return usage_error(flag, value, "paper or reduced");
    o->local.decoder_fixed = true;
  } else if (strcmp(flag, "--local-loss") == 0) {
    if (value && strcmp(value, "contrast") == 0)
      o->local.heads.aux_loss = IPRO_AUX_LOSS_CONTRAST;
    else if (value && strcmp(value, "ce") == 0)
      o->local.heads.aux_loss = IPRO_AUX_LOSS_CROSS_ENTROPY;
    else
      return usage_error(flag, value, "contrast or ce");
  } else if (strcmp(flag, "--lambda") == 0) {
    double l[4];
    const char *at = value;
    bool ok = true;
    for (int w = 0; w < 4 && ok; w++, at++)
      ok = ipro_cli_read_finite(at, &at, &l[w]) && l[w] >= 0 && *at == (w < 3 ? ',' : '\0');
    if (!ok)
      return usage_error(flag, value,
                         "four non-negative weights R1,A1,R2,A2, each finite and at most 3.4e38");
    o->local.lambda_first[0] = (float)l[0];
    o->local.lambda_first[1] = (float)l[1];
    o->local.lambda_last[0] = (float)l[2];
    o->local.lambda_last[1] = (float)l[3];
    o->lambda_given = true;
  } else {
    return 0;
  }
  if (!o->head_option && (strcmp(flag, "--aux-head") == 0 || strcmp(flag, "--decoder") == 0 ||
                          strcmp(flag, "--local-loss") == 0 || strcmp(flag, "--lambda") == 0))
    o->head_option = flag;
  (*i)++;
  return 1;
}

int ipro_cli_local_conflicts(const char *command, const ipro_cli_local_options *o,
                             bool budget_checks) {
  const char *given[4];
  int n = 0;
  if (o->K) given[n++] = "-K";
  if (o->n_cuts) given[n++] = "--cuts";
  if (o->plan_path) given[n++] = "--plan";
  /* With budget_checks, --budget beside another choice only checks it. */
  if (o->budget_bytes && !(budget_checks && n == 1)) given[n++] = "--budget";
  if (o->calibrate && !o->balance_time && !budget_checks) {
    fprintf(stderr, "infopro %s: --calibrate times the modules for --balance time; give both\n",
            command);
    return 2;
  }
  if (o->balance_time && (!o->K || n > 1)) {
    fprintf(stderr, "infopro %s: --balance time chooses the cuts of -K N; it needs -K alone\n",
            command);
    return 2;
  }
  /* End-to-end training builds no head: a head option there was silently ignored. --budget may
   * end at K = 1, but what it chooses is not known yet, nor is a --plan's. */
  bool split = o->K > 1 || o->n_cuts || o->plan_path || o->budget_bytes;
  if (o->head_option && !split) {
    fprintf(stderr,
            "infopro %s: %s has no effect without a split: it shapes the local modules' heads, "
            "and %s has none; give a split (-K N, --budget, --cuts or --plan) or leave it "
            "out\n",
            command, o->head_option,
            o->K == 1 ? "-K 1 (end-to-end training)"
                      : "end-to-end training (no -K, --budget, --cuts or --plan)");
    return 2;
  }
  if (n < 2) return 0;
  fprintf(stderr,
          "infopro %s: %s and %s both choose the split; give one of -K, --budget, --cuts, "
          "--plan%s\n",
          command, given[0], given[1],
          budget_checks ? " (--budget beside one of the others only checks its peak)" : "");
  return 2;
}

int ipro_cli_training_option(const char *command, int argc, char **argv, int *i,
                             ipro_cli_local_options *local, ipro_cli_normalization *normalization) {
  int consumed = ipro_cli_local_option(argc, argv, i, local);
  if (consumed) return consumed;
  return ipro_cli_normalization_option(command, argc, argv, i, normalization);
}
