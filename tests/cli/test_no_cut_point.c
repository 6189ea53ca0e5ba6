/* A network with no cut point (models/twin_linear_fmnist.onnx: two linear classifiers on the
 * same pixels, summed, so the input stays alive until both branches have read it) cannot be split
 * into gradient-isolated modules. Asked for K = 2, `infopro plan` and `infopro train` say why and
 * train end to end instead of failing; `inspect` lists no cut point. */
#include <string.h>

#include "runtime/dataset.h"
#include "support/check.h"
#include "support/command.h"

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  ipro_command_result r;
  ipro_test_run_infopro("inspect models/twin_linear_fmnist.onnx", &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "cut points  0:"), "inspect: %s%s", r.out, r.err);

  ipro_test_run_infopro("plan models/twin_linear_fmnist.onnx --batch 32 -K 2", &r);
  CHECK_MSG(r.exit_status == 0, "plan: exit status %d: %s", r.exit_status, r.err);
  /* plan prints the table on stdout and the reason as a note on stderr */
  CHECK_MSG(strstr(r.err, "no cut point") && strstr(r.out, "cuts: none (end to end)"), "plan: %s%s",
            r.out, r.err);

  const char *unavailable = ipro_test_training_unavailable();
  if (unavailable) {
    printf("skipped: training without a cut point (%s)\n", unavailable);
    return ipro_test_finish();
  }
  ipro_test_run_infopro("train models/twin_linear_fmnist.onnx --data fashion-mnist -K 2 "
                        "--epochs 1 --limit 256 --batch 64 --test-limit 256",
                        &r);
  CHECK_MSG(r.exit_status == 0, "train: exit status %d: %s", r.exit_status, r.err);
  CHECK_MSG(strstr(r.out, "no cut point") && strstr(r.out, "trained 1 epochs"), "train: %s", r.out);
  CHECK_MSG(!strstr(r.out, "InfoPro local training"), "train: claims local training: %s", r.out);
  return ipro_test_finish();
}
