/* Reading a plan back: the JSON that `infopro plan --json FILE` writes (schemas/plan.schema.json),
 * parsed with jansson (Debian's libjansson) and checked against the schema's rules that a reader
 * relies on: the format name and version, every required property present with its type, no
 * property the schema does not define, K within 1..16 and exactly K-1 cut names. A malformed file
 * is refused with one message naming the file and, for a syntax error, its line and column.
 *
 * The cuts are names; turning them into a split of a network (checking each is a cut point, in
 * order) is the caller's, which holds the network. */
#ifndef IPRO_PLAN_FILE_H
#define IPRO_PLAN_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/error.h"
#include "partitioner/split_choice.h"

#define IPRO_PLAN_NAME_BYTES 512
/* the plan file's format version, which `infopro plan --json` writes and --plan reads */
#define IPRO_PLAN_VERSION 1

typedef struct {
  char model[IPRO_PLAN_NAME_BYTES]; /* the model it was made for, as `infopro plan` was given it */
  int K;
  int64_t batch;
  uint64_t peak_bytes;
  char cuts[IPRO_MAX_MODULES][IPRO_PLAN_NAME_BYTES]; /* K-1 tensor names, in network order */
  /* The transient limit its heads were chosen under (head_limit_bytes), UINT64_MAX when it has
   * none: with --aux-head auto, the heads of `--plan FILE` are chosen under it again, so that
   * training takes the heads the plan showed. */
  uint64_t head_limit_bytes;
  /* Each module's calibrated_step_seconds (`infopro plan --calibrate`: the step predicted from
   * kernels timed on the planning machine), in order; all 0 when the file has none. */
  double module_seconds[IPRO_MAX_MODULES];
} ipro_plan_file;

/* The longest calibrated step a plan file may give (a million seconds: far beyond any step, and
 * small enough to count in nanoseconds as an integer). */
#define IPRO_PLAN_MAX_STEP_SECONDS 1e6

ipro_status ipro_plan_read(const char *path, ipro_plan_file *out, ipro_error *err);

/* The index-th top-level property the reader knows and whether it is required; NULL past the
 * last. What the tests compare with the schema file. */
const char *ipro_plan_file_property(int index, bool *required);

#endif
