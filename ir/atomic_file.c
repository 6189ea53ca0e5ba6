/* Atomic file replacement (see atomic_file.h). */
#include "ir/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
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

/* The temporaries being written, for the signal handler: lock-free atomic pointers, which a
 * handler may read. A file opened while all slots are taken is written as before, unlisted. */
#define LISTED_TEMPORARIES 16
static _Atomic(char *) listed_temporaries[LISTED_TEMPORARIES];

static void list_temporary(char *temporary) {
  for (int i = 0; i < LISTED_TEMPORARIES; i++) {
    char *none = NULL;
    if (atomic_compare_exchange_strong(&listed_temporaries[i], &none, temporary)) return;
  }
}

static void unlist_temporary(char *temporary) {
  for (int i = 0; i < LISTED_TEMPORARIES; i++) {
    char *listed = temporary;
    if (atomic_compare_exchange_strong(&listed_temporaries[i], &listed, NULL)) return;
  }
}

/* unlink and raise are async-signal-safe; SA_RESETHAND has restored the default action, which
 * the raised signal then takes */
static void remove_temporaries(int signal_number) {
  for (int i = 0; i < LISTED_TEMPORARIES; i++) {
    char *temporary = atomic_load(&listed_temporaries[i]);
    if (temporary) unlink(temporary);
  }
  raise(signal_number);
}

void ipro_atomic_file_remove_on_signals(void) {
  const int signals[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
    struct sigaction current, action = {.sa_handler = remove_temporaries, .sa_flags = SA_RESETHAND};
    sigemptyset(&action.sa_mask);
    if (sigaction(signals[i], NULL, &current) == 0 && current.sa_handler != SIG_IGN)
      sigaction(signals[i], &action, NULL);
  }
}

struct ipro_atomic_file {
  int fd;
  int failure;            /* the first errno of a write, 0 while none failed */
  char *path, *temporary; /* temporary NULL: a special file, written in place */
};

/* 1 or 2 when path leads (links followed by the kernel) to what this process's standard output
 * or error writes to, else 0. */
static int own_stream(const char *path) {
  struct stat info, stream;
  if (stat(path, &info) != 0) return 0;
  for (int fd = 1; fd <= 2; fd++)
    if (fstat(fd, &stream) == 0 && stream.st_dev == info.st_dev && stream.st_ino == info.st_ino)
      return fd;
  return 0;
}

/* The file a write to `path` lands in (malloc'd): the end of a chain of symbolic links, so that a
 * link stays a link to the new content rather than being replaced by a file; *special (and path
 * itself) when that is a device, a FIFO or a socket (/dev/null, /dev/stdout's terminal or pipe),
 * or the file this process's standard output or error writes to (/dev/stdout redirected to a
 * file), which is written in place: a rename would replace the device itself with a regular
 * file, or leave the stream writing to the replaced one, and atomicity means nothing there. NULL
 * when out of memory (errno ENOMEM), when the chain is a loop (ELOOP) or when a link's target is
 * too long to read whole (ENAMETOOLONG): a truncated one would name another file. */
static char *write_target(const char *path, bool *special) {
  /* Decided on the path itself, links followed by the kernel: /dev/stdout is a link into
   * /proc/self/fd whose text ("pipe:[N]") names no file, and when it leads to a regular file,
   * that file is this process's own standard output (or error), which a rename would detach from
   * it. Both are written in place, by the path given. */
  struct stat info;
  *special = own_stream(path) ||
             (stat(path, &info) == 0 && !S_ISDIR(info.st_mode) && !S_ISREG(info.st_mode));
  if (*special) {
    char *copy = strdup(path);
    if (!copy) errno = ENOMEM;
    return copy;
  }
  char *current = strdup(path);
  for (int hops = 0; current && hops < 40; hops++) {
    struct stat info;
    if (lstat(current, &info) != 0 || !S_ISLNK(info.st_mode)) return current;
    char link[4096];
    ssize_t length = readlink(current, link, sizeof link);
    if (length < 0) return current; /* let the write report it */
    if ((size_t)length == sizeof link) {
      free(current);
      errno = ENAMETOOLONG;
      return NULL;
    }
    link[length] = '\0';
    const char *slash = strrchr(current, '/');
    size_t folder = link[0] == '/' || !slash ? 0 : (size_t)(slash - current) + 1;
    char *next = malloc(folder + (size_t)length + 1);
    if (next)
      memcpy(next, current, folder), memcpy(next + folder, link, (size_t)length + 1);
    else
      errno = ENOMEM;
    free(current);
    current = next;
  }
  if (current) errno = ELOOP;
  free(current);
  return NULL;
}

ipro_status ipro_atomic_file_open(const char *path, ipro_atomic_file **out, ipro_error *err) {
  *out = NULL;
  bool special = false;
  ipro_atomic_file *f = calloc(1, sizeof *f);
  if (f) f->path = write_target(path, &special);
  if (f && !f->path && errno != ENOMEM) {
    int failure = errno;
    free(f);
    return ipro_error_set(err, "cannot write '%s': %s", path, strerror(failure));
  }
  size_t length = f && f->path ? strlen(f->path) : 0;
  if (f && f->path && !special) f->temporary = malloc(length + 16);
  if (!f || !f->path || (!special && !f->temporary)) {
    if (f) free(f->temporary), free(f->path);
    free(f);
    return ipro_error_set(err, "out of memory writing '%s'", path);
  }
  int stream = special ? own_stream(f->path) : 0;
  if (stream) {
    /* this process's own output: written through it, after what it already holds, as `-` is */
    fflush(stream == 1 ? stdout : stderr);
    f->fd = fcntl(stream, F_DUPFD_CLOEXEC, 0);
  } else if (special) {
    f->fd = open(f->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  } else {
    snprintf(f->temporary, length + 16, "%s.tmp.XXXXXX", f->path);
    f->fd = mkstemp(f->temporary);
  }
  if (f->fd < 0) {
    ipro_status s = ipro_error_set(err, "cannot write '%s': %s", path, strerror(errno));
    free(f->temporary);
    free(f->path);
    free(f);
    return s;
  }
  if (f->temporary) list_temporary(f->temporary);
  *out = f;
  return IPRO_OK;
}

void ipro_atomic_file_write(ipro_atomic_file *f, const void *bytes, size_t size) {
  const unsigned char *cursor = bytes;
  while (size > 0 && !f->failure) {
    ssize_t written = write(f->fd, cursor, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      f->failure = written < 0 && errno ? errno : EIO;
      break;
    }
    cursor += written;
    size -= (size_t)written;
  }
}

static void release(ipro_atomic_file *f) {
  if (f->temporary) unlist_temporary(f->temporary); /* renamed or removed by now */
  free(f->temporary);
  free(f->path);
  free(f);
}

ipro_status ipro_atomic_file_commit(ipro_atomic_file *f, ipro_error *err) {
  int failure = f->failure;
  if (!f->temporary) { /* a special file: written in place, nothing to flush or rename */
    if (close(f->fd) != 0 && !failure) failure = errno;
    ipro_status status =
        failure ? ipro_error_set(err, "cannot write '%s': %s", f->path, strerror(failure))
                : IPRO_OK;
    release(f);
    return status;
  }
  if (!failure && fsync(f->fd) != 0) failure = errno;
  if (close(f->fd) != 0 && !failure) failure = errno;
  if (!failure && fchmod_default(f->temporary) != 0) failure = errno;
  if (!failure && rename(f->temporary, f->path) != 0) failure = errno;
  ipro_status status = IPRO_OK;
  if (failure) {
    unlink(f->temporary);
    status = ipro_error_set(err, "cannot write '%s': %s", f->path, strerror(failure));
  }
  release(f);
  return status;
}

void ipro_atomic_file_abandon(ipro_atomic_file *f) {
  close(f->fd);
  if (f->temporary) unlink(f->temporary);
  release(f);
}

ipro_status ipro_write_file_atomic(const char *path, const void *bytes, size_t size,
                                   ipro_error *err) {
  ipro_atomic_file *file;
  if (ipro_atomic_file_open(path, &file, err) != IPRO_OK) return IPRO_ERROR;
  ipro_atomic_file_write(file, bytes, size);
  return ipro_atomic_file_commit(file, err);
}

ipro_status ipro_check_writable(const char *path, ipro_error *err) {
  struct stat info;
  if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
    return ipro_error_set(err, "cannot write '%s': it is a directory", path);
  bool special = false;
  char *target = write_target(path, &special);
  if (!target && errno != ENOMEM)
    return ipro_error_set(err, "cannot write '%s': %s", path, strerror(errno));
  if (!target) return ipro_error_set(err, "out of memory checking '%s'", path);
  if (special) { /* written in place: opened then, not now (a FIFO would wait for its reader) */
    ipro_status status = access(target, W_OK) == 0
                             ? IPRO_OK
                             : ipro_error_set(err, "cannot write '%s': %s", path, strerror(errno));
    free(target);
    return status;
  }
  size_t length = strlen(target);
  char *temporary = malloc(length + 16);
  if (!temporary) {
    free(target);
    return ipro_error_set(err, "out of memory checking '%s'", path);
  }
  snprintf(temporary, length + 16, "%s.tmp.XXXXXX", target);
  free(target);
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
  return ipro_make_directories_noting(directory, NULL, err);
}

ipro_status ipro_make_directories_noting(const char *directory, size_t *first_created,
                                         ipro_error *err) {
  if (first_created) *first_created = 0;
  char path[4096];
  if (snprintf(path, sizeof path, "%s", directory) >= (int)sizeof path)
    return ipro_error_set(err, "folder name too long: '%s'", directory);
  for (char *p = path + 1;; p++) {
    bool end = *p == '\0';
    if (*p != '/' && !end) continue;
    *p = '\0';
    if (mkdir(path, 0777) == 0) {
      if (first_created && !*first_created) *first_created = strlen(path);
    } else if (errno != EEXIST) {
      return ipro_error_set(err, "cannot create the folder '%s': %s", path, strerror(errno));
    }
    if (end) break;
    *p = '/';
  }
  struct stat info;
  if (stat(directory, &info) != 0 || !S_ISDIR(info.st_mode))
    return ipro_error_set(err, "'%s' is not a folder", directory);
  return IPRO_OK;
}

void ipro_remove_created_directories(const char *directory, size_t first_created) {
  char path[4096];
  if (!first_created || snprintf(path, sizeof path, "%s", directory) >= (int)sizeof path) return;
  /* deepest first; rmdir removes only an empty folder, so whatever was written since stays */
  for (;;) {
    if (rmdir(path) != 0 || strlen(path) <= first_created) return;
    char *slash = strrchr(path, '/');
    if (!slash) return;
    *slash = '\0';
    if (strlen(path) < first_created) return;
  }
}
