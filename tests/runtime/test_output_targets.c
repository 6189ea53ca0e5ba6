/* What the atomic writer (ir/atomic_file.h) does to what an output path names, checked through
 * lstat, the bytes read back and the folder's listing:
 * - a regular file is replaced whole, and no temporary is left beside it;
 * - a symbolic link (and a chain of two) stays a link: the file it names gets the content (it
 *   was once replaced by a regular file, the linked file left as it was); a link to a file not
 *   yet there makes that file;
 * - a character device stays a device: a null device takes the bytes, and a full device's "no
 *   space" is an error naming the path (both were once replaced by a regular file, exit status 0:
 *   as root, `--json /dev/null` replaced the system's /dev/null). The devices are made in the
 *   test's folder (mknod, the null and full devices' numbers), never the system's, so that a
 *   writer that replaces them breaks nothing; where mknod is not allowed that part is said
 *   unchecked;
 * - a FIFO stays a FIFO and its reader gets the bytes;
 * - a loop of links is an error, as is a folder; ipro_check_writable agrees with each. */
#define _DEFAULT_SOURCE /* mknod, makedev */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir/atomic_file.h"
#include "support/check.h"

static char directory[] = "/tmp/ipro_test_output_targets_XXXXXX";

static void path_of(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", directory, name);
}

static bool holds(const char *path, const char *text) {
  char got[64] = {0};
  FILE *file = fopen(path, "rb");
  size_t length = file ? fread(got, 1, sizeof got - 1, file) : 0;
  if (file) fclose(file);
  return length == strlen(text) && memcmp(got, text, length) == 0;
}

static mode_t kind_of(const char *path) {
  struct stat info;
  return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0;
}

/* Entries of the folder besides . and .. */
static int entries(void) {
  DIR *folder = opendir(directory);
  int count = 0;
  for (struct dirent *e; folder && (e = readdir(folder));)
    count += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  if (folder) closedir(folder);
  return count;
}

static ipro_status write_text(const char *path, const char *text, ipro_error *err) {
  ipro_status writable = ipro_check_writable(path, err);
  ipro_status written = ipro_write_file_atomic(path, text, strlen(text), err);
  CHECK_MSG(writable == written || written != IPRO_OK,
            "%s: ipro_check_writable said %d, the write %d", path, (int)writable, (int)written);
  return written;
}

static void files_and_links(void) {
  ipro_error err = {{0}};
  char file[600], link[600], chain[600], dangling[600], later[600];
  path_of(file, sizeof file, "file.json");
  path_of(link, sizeof link, "link.json");
  path_of(chain, sizeof chain, "chain.json");
  path_of(dangling, sizeof dangling, "dangling.json");
  path_of(later, sizeof later, "later.json");
  CHECK_OK(write_text(file, "old", &err), &err);
  CHECK(symlink("file.json", link) == 0 && symlink(link, chain) == 0);
  CHECK_OK(write_text(chain, "new", &err), &err);
  CHECK_MSG(kind_of(link) == S_IFLNK && kind_of(chain) == S_IFLNK,
            "a written link is no longer a link");
  CHECK_MSG(holds(file, "new"), "the linked file did not get the content");
  CHECK(symlink("later.json", dangling) == 0);
  CHECK_OK(write_text(dangling, "made", &err), &err);
  CHECK_MSG(kind_of(dangling) == S_IFLNK && holds(later, "made"),
            "a link to a file not yet there: not followed");
  CHECK_MSG(entries() == 5, "%d entries: a temporary was left beside the files", entries());
  char loop_a[600], loop_b[600];
  path_of(loop_a, sizeof loop_a, "loop_a");
  path_of(loop_b, sizeof loop_b, "loop_b");
  CHECK(symlink("loop_b", loop_a) == 0 && symlink("loop_a", loop_b) == 0);
  CHECK_MSG(write_text(loop_a, "x", &err) != IPRO_OK && strstr(err.message, "symbolic links"),
            "a loop of links: %s", err.message);
  CHECK_MSG(ipro_write_file_atomic(directory, "x", 1, &err) != IPRO_OK, "a folder was written");
}

static void devices(void) {
  ipro_error err = {{0}};
  char null_device[600], full_device[600];
  path_of(null_device, sizeof null_device, "null");
  path_of(full_device, sizeof full_device, "full");
  if (mknod(null_device, S_IFCHR | 0600, makedev(1, 3)) != 0 ||
      mknod(full_device, S_IFCHR | 0600, makedev(1, 7)) != 0) {
    printf("not checked: devices (mknod is not allowed here)\n");
    return;
  }
  CHECK_OK(write_text(null_device, "bytes", &err), &err);
  CHECK_MSG(kind_of(null_device) == S_IFCHR, "the null device is no longer a device");
  CHECK_MSG(ipro_write_file_atomic(full_device, "bytes", 5, &err) != IPRO_OK &&
                strstr(err.message, full_device),
            "writing the full device succeeded: %s", err.message);
  CHECK_MSG(kind_of(full_device) == S_IFCHR, "the full device is no longer a device");
}

static void fifo(void) {
  char path[600];
  path_of(path, sizeof path, "pipe");
  CHECK(mkfifo(path, 0600) == 0);
  pid_t reader = fork();
  CHECK(reader >= 0);
  if (reader == 0) { /* given up after 10 s: a writer that replaced the FIFO never opens it */
    alarm(10);
    _exit(holds(path, "through the pipe") ? 0 : 1);
  }
  ipro_error err = {{0}};
  CHECK_OK(write_text(path, "through the pipe", &err), &err);
  int status = 0;
  CHECK(waitpid(reader, &status, 0) == reader);
  CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the FIFO's reader did not get it");
  CHECK_MSG(kind_of(path) == S_IFIFO, "the FIFO is no longer a FIFO");
}

int main(void) {
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  files_and_links();
  devices();
  fifo();
  char command[200];
  snprintf(command, sizeof command, "rm -rf '%s'", directory);
  CHECK(system(command) == 0);
  return ipro_test_finish();
}
