/* `infopro run` follows the ONNX operator definitions where they differ from what a PyTorch
 * export needs: the ONNX node tests of Clip (min and max fed as graph inputs, read at run time)
 * and of BatchNormalization (training_mode = 1: batch statistics, and a running variance updated
 * with the biased batch variance) run through the binary, on oneDNN (BatchNormalization also
 * with --reference), and
 * every output_N.pb it writes must equal the ONNX project's expected file (the conformance
 * tolerance of tests/support/node_test_case.h).
 *
 * --inference runs BatchNormalization on its running statistics instead: then the running-mean
 * and running-variance outputs must be the input statistics unchanged (input_3.pb, input_4.pb),
 * and Y must differ from the training-mode expectation, so the two forms are told apart. Cases
 * that use a dtype infopro does not support (int8 Clip) are refused by the frontend and not run
 * here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"
#include "support/command.h"
#include "support/node_test_case.h"

static char directory[] = "/tmp/ipro_test_run_onnx_XXXXXX";

/* Runs the open case through `infopro run [flags]`; returns whether it exited 0. */
static bool run_case(ipro_node_case *c, const char *flags, const char *folder) {
  char arguments[8192];
  int used = snprintf(arguments, sizeof arguments, "run '%s/model.onnx' %s --output-dir '%s'",
                      c->dir, flags, folder);
  for (int i = 0; i < c->n_inputs && used < (int)sizeof arguments; i++)
    used += snprintf(arguments + used, sizeof arguments - (size_t)used,
                     " --input '%s/test_data_set_0/input_%d.pb'", c->dir, i);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "%s: infopro %s: exit status %d: %s", c->row.name, arguments,
            r.exit_status, r.err);
  return r.exit_status == 0;
}

/* Loads folder/output_<index>.pb into *out; false (with a failed check) when it cannot. */
static bool load_output(const ipro_node_case *c, const char *folder, int index, ipro_tensor *out) {
  char path[1200];
  snprintf(path, sizeof path, "%s/output_%d.pb", folder, index);
  ipro_error err = {{0}};
  bool ok = ipro_tensor_load_file(path, out, &err) == IPRO_OK;
  CHECK_MSG(ok, "%s: %s", c->row.name, err.message);
  return ok;
}

/* Every output the binary wrote against the case's expected files. */
static void check_as_defined(ipro_node_case *c, const char *flags, const char *folder) {
  if (!run_case(c, flags, folder)) return;
  for (int o = 0; o < c->n_outputs; o++) {
    ipro_tensor got = {0};
    if (!load_output(c, folder, o, &got)) continue;
    CHECK_MSG(ipro_node_case_check_output(c, o, &got), "%s (%s): output %d: %s", c->row.name, flags,
              o, c->message);
    ipro_tensor_release(&got);
  }
}

static bool same_bytes(const ipro_tensor *a, const ipro_tensor *b) {
  return a->data_bytes == b->data_bytes && memcmp(a->data, b->data, a->data_bytes) == 0;
}

/* --inference on a training-mode BatchNormalization case. */
static void check_inference_form(ipro_node_case *c, const char *folder) {
  if (!run_case(c, "--inference", folder)) return;
  ipro_tensor y = {0}, mean = {0}, variance = {0};
  if (load_output(c, folder, 0, &y) && load_output(c, folder, 1, &mean) &&
      load_output(c, folder, 2, &variance)) {
    CHECK_MSG(same_bytes(&mean, &c->inputs[3]) && same_bytes(&variance, &c->inputs[4]),
              "%s --inference: the running statistics are not the input ones", c->row.name);
    CHECK_MSG(!same_bytes(&y, &c->outputs[0]), "%s --inference: Y equals the training-mode output",
              c->row.name);
  }
  ipro_tensor_release(&y);
  ipro_tensor_release(&mean);
  ipro_tensor_release(&variance);
}

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  CHECK(mkdtemp(directory) != NULL);
  ipro_case_row *rows = NULL;
  int count = 0, run = 0, training_mode = 0;
  ipro_error err = {{0}};
  CHECK_OK(ipro_node_case_read_index(ipro_test_node_tests_dir(), &rows, &count, &err), &err);
  for (int i = 0; i < count; i++) {
    const ipro_case_row *row = &rows[i];
    if (strcmp(row->op, "Clip") != 0 && strcmp(row->op, "BatchNormalization") != 0) continue;
    ipro_node_case c;
    if (ipro_node_case_open(&c, row)) {
      char folder[1024];
      snprintf(folder, sizeof folder, "%s/%s", directory, row->name);
      check_as_defined(&c, "", folder);
      /* Clip's run-time bounds on the reference kernels are the conformance runners' concern. */
      if (strcmp(row->op, "BatchNormalization") == 0) check_as_defined(&c, "--reference", folder);
      if (strstr(row->name, "_training_mode")) {
        check_inference_form(&c, folder);
        training_mode++;
      }
      run++;
    } else {
      CHECK_MSG(c.result == IPRO_CASE_REJECTED, "%s: %s", row->name, c.message);
    }
    ipro_node_case_release(&c);
  }
  free(rows);
  /* The data holds 9 float Clip cases and 4 BatchNormalization cases, 2 in training mode. */
  CHECK_MSG(run >= 13 && training_mode >= 2, "%d cases run (%d in training mode)", run,
            training_mode);
  printf("%d Clip and BatchNormalization cases through infopro run, %d in training mode\n", run,
         training_mode);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
