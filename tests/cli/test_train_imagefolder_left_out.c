/* What `infopro train` and `eval` say about the files of an image folder they do not train on,
 * through the binary, on a 10-class folder of black 28x28 PNGs for the MLP (one a class in train
 * and val, tests/support/user_data.c), to which this test adds:
 *   - train/k4/nested/1.png: an image in a folder inside a class folder, counted in the
 *     "decoded" line (11 train images);
 *   - train/k0/a.bmp, train/k3/b.webp and val/k1/c.tif: formats infopro does not read, reported
 *     once per split as one warning line with their count, extensions and the first one's path;
 *   - val/k2/gone.png, a dangling link: one "skipped" warning saying so, counted as skipped, and
 *     under --strict the error that ends the run (exit 1).
 * The runtime's side (order, labels, each kind of entry) is
 * runtime/test_dataset_imagefolder_tree.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"

static char directory[] = "/tmp/ipro_test_imagefolder_left_out_XXXXXX";

static void empty_file(const char *relative) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", directory, relative);
  FILE *file = fopen(path, "wb");
  CHECK_MSG(file && fclose(file) == 0, "cannot write %s", path);
}

/* How many lines of text are exactly line. */
static int lines_equal(const char *text, const char *line) {
  int count = 0;
  size_t length = strlen(line);
  for (const char *at = text; (at = strstr(at, line)); at += length)
    if ((at == text || at[-1] == '\n') && at[length] == '\n') count++;
  return count;
}

int main(void) {
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  char path[1024], target[1024], line[2048], arguments[2048];
  CHECK(ipro_test_write_tiny_image_folder(directory, 10));
  snprintf(path, sizeof path, "%s/train/k4/nested", directory);
  CHECK(mkdir(path, 0755) == 0);
  snprintf(path, sizeof path, "%s/train/k4/nested/1.png", directory);
  snprintf(target, sizeof target, "%s/train/k4/0.png", directory);
  CHECK(link(target, path) == 0);
  empty_file("train/k0/a.bmp");
  empty_file("train/k3/b.webp");
  empty_file("val/k1/c.tif");
  snprintf(path, sizeof path, "%s/val/k2/gone.png", directory);
  CHECK(symlink("nowhere.png", path) == 0);

  ipro_command_result r;
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data 'imagefolder:%s' --epochs 1 --batch 4", directory);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "%s: exit %d: %s", arguments, r.exit_status, r.err);
  snprintf(line, sizeof line,
           "infopro: warning: imagefolder: %s/train: ignored 2 files of formats infopro does not "
           "read (.bmp, .webp; e.g. %s/train/k0/a.bmp)",
           directory, directory);
  CHECK_MSG(lines_equal(r.err, line) == 1, "not once on stderr: %s\nstderr:\n%s", line, r.err);
  snprintf(line, sizeof line,
           "infopro: warning: imagefolder: %s/val: ignored 1 file of a format infopro does not "
           "read (.tif; e.g. %s/val/k1/c.tif)",
           directory, directory);
  CHECK_MSG(lines_equal(r.err, line) == 1, "not once on stderr: %s\nstderr:\n%s", line, r.err);
  snprintf(line, sizeof line,
           "infopro: warning: skipped %s/val/k2/gone.png: a dangling symbolic link (its target "
           "nowhere.png does not exist)",
           directory);
  CHECK_MSG(lines_equal(r.err, line) == 1, "not once on stderr: %s\nstderr:\n%s", line, r.err);
  CHECK_MSG(strstr(r.out, "decoded 11 train images (1 x 28 x 28)") &&
                strstr(r.out, "; 0 skipped\ndecoded 10 val images (1 x 28 x 28)") &&
                strstr(r.out, "; 1 skipped\n"),
            "decoding lines: %s", r.out);

  snprintf(arguments, sizeof arguments,
           "eval models/mlp_fmnist.onnx --data 'imagefolder:%s' --strict", directory);
  ipro_test_run_infopro(arguments, &r);
  snprintf(line, sizeof line,
           "infopro: %s/val/k2/gone.png: a dangling symbolic link (its target nowhere.png does "
           "not exist) (--strict: unreadable images are errors)",
           directory);
  CHECK_MSG(r.exit_status == 1 && lines_equal(r.err, line) == 1, "%s: exit %d, stderr:\n%s",
            arguments, r.exit_status, r.err);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
