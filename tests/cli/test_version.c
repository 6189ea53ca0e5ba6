/* `infopro --version` (and `infopro version`) through the binary, against what names each fact
 * without infopro's help:
 *   - the commit: `git describe --always --dirty --abbrev=12` run here in the source tree (the
 *     build runs the same at every build, cmake/build_commit.cmake); outside a git checkout the
 *     line must say "unknown", which is then all that is checked of it;
 *   - the libraries: the versions oneDNN, protobuf-c and zlib report to this test process
 *     (dnnl_version, protobuf_c_version, zlibVersion), and jansson's header;
 *   - the formats: the version a plan file written by `plan --json` carries, and the program's
 *     and checkpoint's version constants (as their readers know them);
 *   - a plan file names the infopro that wrote it with the same words.
 * The usage text points at --version. */
#include <dnnl.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "runtime/checkpoint.h"
#include "runtime/program_file.h"
#include "support/check.h"
#include "support/command.h"

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  ipro_command_result r, again;
  ipro_test_run_infopro("--version", &r);
  ipro_test_run_infopro("version", &again);
  CHECK_MSG(r.exit_status == 0 && again.exit_status == 0 && strcmp(r.out, again.out) == 0,
            "--version (%d) and version (%d) differ: %s / %s", r.exit_status, again.exit_status,
            r.out, again.out);

  char command[1200], commit[128] = "unknown";
  snprintf(command, sizeof command, "git -C '%s' describe --always --dirty --abbrev=12 2>/dev/null",
           ipro_test_source_dir());
  ipro_command_result git;
  ipro_test_run_command(command, &git);
  if (git.exit_status == 0 && git.out[0])
    snprintf(commit, sizeof commit, "%.*s", (int)strcspn(git.out, "\n"), git.out);
  else
    printf("not a git checkout here: the commit must read 'unknown'\n");
  char expected[256];
  snprintf(expected, sizeof expected, "(git %s, ", commit);
  CHECK_MSG(strncmp(r.out, "infopro ", 8) == 0 && strstr(r.out, expected),
            "--version does not name the commit '%s' (a binary not built since the last change "
            "names the older one): %s",
            commit, r.out);

  const dnnl_version_t *dnnl = dnnl_version();
  snprintf(expected, sizeof expected,
           "libraries: oneDNN %d.%d.%d, protobuf-c %s, zlib %s, jansson %s\n", dnnl->major,
           dnnl->minor, dnnl->patch, protobuf_c_version(), zlibVersion(), JANSSON_VERSION);
  CHECK_MSG(strstr(r.out, expected), "--version: expected '%s' in: %s", expected, r.out);
  /* what made a plan: the version line's words, in the plan file; and the plan format's version
   * as the file written carries it (the program's and checkpoint's are the readers' constants) */
  char line[256];
  snprintf(line, sizeof line, "%.*s", (int)strcspn(r.out + 8, "\n"), r.out + 8);
  ipro_command_result plan;
  ipro_test_run_infopro("plan models/resnet8_fmnist.onnx --batch 8 -K 2 --json -", &plan);
  json_error_t error;
  json_t *written = plan.exit_status == 0 ? json_loads(plan.out, 0, &error) : NULL;
  const char *made_by = json_string_value(json_object_get(written, "infopro"));
  CHECK_MSG(made_by && strcmp(made_by, line) == 0,
            "plan --json says it was made by '%s', --version says '%s'", made_by ? made_by : "",
            line);
  snprintf(expected, sizeof expected, "formats written: program %d, checkpoint %d, plan %lld\n",
           IPRO_PROGRAM_VERSION, IPRO_CHECKPOINT_VERSION,
           (long long)json_integer_value(json_object_get(written, "version")));
  CHECK_MSG(written && strstr(r.out, expected), "--version: expected '%s' in: %s", expected, r.out);
  json_decref(written);

  ipro_test_run_infopro("--help", &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "'infopro --version'"),
            "--help does not point at --version: %s", r.out);
  return ipro_test_finish();
}
