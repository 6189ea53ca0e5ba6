/* Atomic file replacement (see atomic_file.h). */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkstemp creates files readable by the owner only; give the result the usual 0644 less umask. */
static int fchmod_default(const char *path) {
  mode_t mask = umask(0);
  umask(mask);
  return chmod(path, 0666 & ~mask);
}

ipro_status ipro_write_file_atomic(const char *path, const void *bytes, size_t size,
                                   ipro_error *err) {
  size_t length = strlen(path);
  char *temporary = malloc(length + 16);
  if (!temporary) return ipro_error_set(err, "out of memory writing '%s'", path);
  snprintf(temporary, length + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(temporary);
  if (fd < 0) {
    ipro_status s = ipro_error_set(err, "cannot write '%s': %s", path, strerror(errno));
    free(temporary);
    return s;
  }
  const unsigned char *cursor = bytes;
  size_t left = size;
  int failure = 0;
  while (left > 0 && !failure) {
    ssize_t written = write(fd, cursor, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      failure = errno ? errno : EIO;
      break;
    }
    cursor += written;
    left -= (size_t)written;
  }
  if (!failure && fsync(fd) != 0) failure = errno;
  if (close(fd) != 0 && !failure) failure = errno;
  if (!failure && fchmod_default(temporary) != 0) failure = errno;
  if (!failure && rename(temporary, path) != 0) failure = errno;
  if (failure) {
    unlink(temporary);
    free(temporary);
    return ipro_error_set(err, "cannot write '%s': %s", path, strerror(failure));
  }
  free(temporary);
  return IPRO_OK;
}

ipro_status ipro_check_writable(const char *path, ipro_error *err) {
  struct stat info;
  if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
    return ipro_error_set(err, "cannot write '%s': it is a directory", path);
  size_t length = strlen(path);
  char *temporary = malloc(length + 16);
  if (!temporary) return ipro_error_set(err, "out of memory checking '%s'", path);
  snprintf(temporary, length + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(temporary);
  ipro_status status = IPRO_OK;
  if (fd < 0) {
    status = ipro_error_set(err, "cannot write '%s': %s", path, strerror(errno));
  } else {
    close(fd);
    unlink(temporary);
  }
  free(temporary);
  return status;
}

ipro_status ipro_make_directories(const char *directory, ipro_error *err) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s", directory) >= (int)sizeof path)
    return ipro_error_set(err, "folder name too long: '%s'", directory);
  for (char *p = path + 1;; p++) {
    bool end = *p == '\0';
    if (*p != '/' && !end) continue;
    *p = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
      return ipro_error_set(err, "cannot create the folder '%s': %s", path, strerror(errno));
    if (end) break;
    *p = '/';
  }
  struct stat info;
  if (stat(directory, &info) != 0 || !S_ISDIR(info.st_mode))
    return ipro_error_set(err, "'%s' is not a folder", directory);
  return IPRO_OK;
}
