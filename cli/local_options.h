/* The options of local training that `infopro plan` and `infopro train` share, which the
 * partitioner's plan (partitioner/plan.h) turns into a split of the network: -K N
 * (smallest peak), --budget BYTES (fewest modules that fit), --cuts T1,T2,... (the user's own,
 * checked to be cut points), --plan FILE (a plan JSON written by `infopro plan`), --balance
 * memory|time (with -K: the smallest peak, or the slowest module's least work), plus the
 * heads: --aux-head, --decoder, --local-loss, --lambda, and the parameters left untrained:
 * --freeze PATTERN and --freeze-statistics PATTERN (codegen/frozen_parameters.h). */
#ifndef IPRO_CLI_LOCAL_OPTIONS_H
#define IPRO_CLI_LOCAL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/normalization_options.h"
#include "codegen/frozen_parameters.h"
#include "partitioner/module_program.h"
#include "partitioner/plan_file.h"
#include "partitioner/split_choice.h"
#include "partitioner/split_policy.h"

typedef struct {
  int K;                 /* 0: not given */
  uint64_t budget_bytes; /* 0: not given */
  const char *plan_path; /* NULL: not given */
  /* --cuts T1,T2,..., its names whole (on train --resume without a split, the checkpoint's,
   * which may hold a comma that --cuts text cannot); 0: none given */
  int n_cuts;
  char cuts[IPRO_MAX_MODULES - 1][IPRO_PLAN_NAME_BYTES];
  bool balance_time; /* --balance time: with -K, the cuts whose slowest module is quickest */
  bool calibrate;    /* --calibrate: module times from kernels measured on this machine */
  ipro_local_settings local;
  bool lambda_given;
  /* The first head option given (--aux-head, --decoder, --local-loss or --lambda), named when
   * there is no split for it to shape; NULL: none. */
  const char *head_option;
  int n_frozen; /* --freeze's patterns, pointing into argv */
  const char *frozen[IPRO_MAX_FROZEN_PATTERNS];
  int n_frozen_statistics; /* --freeze-statistics' */
  const char *frozen_statistics[IPRO_MAX_FROZEN_PATTERNS];
} ipro_cli_local_options;

/* The training steps --calibrate times (after one it does not). */
#define IPRO_CLI_CALIBRATION_STEPS 3

void ipro_cli_local_defaults(ipro_cli_local_options *options);
/* The split these options ask for (K, budget, plan file, cuts), its cut names pointing into
 * options and kept in names (IPRO_MAX_MODULES pointers): valid while options is. */
ipro_split_request ipro_cli_split_request(const ipro_cli_local_options *options,
                                          const char **names);
/* Whether flag is one of the shared options below (the split and the heads), each of which
 * changes the training program a compile makes. */
bool ipro_cli_is_local_option(const char *flag);
/* Consumes argv[*i] (and its value) when it is one of the shared options: returns 1 when
 * consumed, 0 when it is not ours, 2 after printing a usage error. */
int ipro_cli_local_option(int argc, char **argv, int *i, ipro_cli_local_options *options);
/* The options `train` and `compile` share beyond these: the split and heads (above) and the
 * normalisation (normalization_options.h). Same return values as ipro_cli_local_option. */
int ipro_cli_training_option(const char *command, int argc, char **argv, int *i,
                             ipro_cli_local_options *local, ipro_cli_normalization *normalization);
/* Options that choose the split in two ways, --balance time without -K, or a head option without
 * a split (no -K above 1, --budget, --cuts or --plan: the heads would not exist) are a usage
 * error: prints it naming the options and returns 2; 0 when they agree. -K, --cuts, --plan and
 * --budget are alternatives; with budget_checks (`infopro plan`) --budget may accompany one of
 * the others, whose peak it then checks. */
int ipro_cli_local_conflicts(const char *command, const ipro_cli_local_options *options,
                             bool budget_checks);
/* The help lines of these options. */
extern const char ipro_cli_local_usage[];
/* Parses "2GiB", "512MiB", "1.5GB", "1000000" into bytes; 0 on a malformed value. */
uint64_t ipro_cli_parse_bytes(const char *text);

/* The split a training run (`train`, `compile`) uses: K, the cut tensors' names (the network's)
 * and the heads of the local modules, with the plan's figures. */
typedef struct {
  int K;
  char cut_names[IPRO_MAX_MODULES][512];
  ipro_head_choice heads[IPRO_MAX_MODULES]; /* of the K-1 local modules */
  uint64_t planned_peak, e2e_peak;          /* 0 for K = 1 */
  /* what each module's training step costs, the work an MPI pipeline's stages are balanced by:
   * with --plan FILE made with --calibrate, the step FILE predicted from kernels timed on the
   * planning machine, in nanoseconds (work_is_time); otherwise its FLOPs per step (forward,
   * heads, backward, update) by the plan's cost model. All 0 where unknown (a compiled
   * program's split). */
  uint64_t module_work[IPRO_MAX_MODULES];
  bool work_is_time;
} ipro_cli_training_split;

#endif
