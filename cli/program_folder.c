/* The compiled program's folder: its locks and staging folders (program_folder.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "program_folder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGE_PREFIX ".infopro-compile-"

ipro_status ipro_program_folder_lock(const char *directory, bool exclusive, int *lock,
                                     ipro_error *err) {
  *lock = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*lock < 0)
    return ipro_error_set(err, "cannot open the program's folder %s: %s", directory,
                          strerror(errno));
  int status;
  do
    status = flock(*lock, exclusive ? LOCK_EX : LOCK_SH);
  while (status != 0 && errno == EINTR);
  if (status != 0) {
    int error = errno;
    close(*lock);
    *lock = -1;
    return ipro_error_set(err, "cannot lock the program's folder %s: %s", directory,
                          strerror(error));
  }
  return IPRO_OK;
}

void ipro_program_folder_unlock(int lock) {
  if (lock >= 0) close(lock);
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *at) {
  (void)info, (void)at;
  if (type == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0; /* what cannot be removed stays; the rest still goes */
}

void ipro_program_stage_remove(const char *stage, int lock) {
  nftw(stage, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (lock >= 0) close(lock);
}

/* The stages in directory that no compile holds: left by one that was killed (SIGKILL, a power
 * cut) before it could remove its own. */
static void remove_abandoned_stages(const char *directory) {
  DIR *folder = opendir(directory);
  if (!folder) return;
  struct dirent *entry;
  while ((entry = readdir(folder))) {
    if (strncmp(entry->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) != 0 ||
        strlen(entry->d_name) != strlen(STAGE_PREFIX) + 6)
      continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
    struct stat info;
    if (lstat(path, &info) != 0 || !S_ISDIR(info.st_mode)) continue;
    int lock = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (lock < 0) continue;
    if (flock(lock, LOCK_EX | LOCK_NB) == 0)
      ipro_program_stage_remove(path, lock);
    else
      close(lock); /* a living compile's */
  }
  closedir(folder);
}

ipro_status ipro_program_stage_make(const char *directory, char *stage, size_t size, int *lock,
                                    ipro_error *err) {
  *lock = -1;
  /* under the folder's exclusive lock, so that no other compile finds this stage made and not
   * yet locked, and takes it for an abandoned one */
  int folder_lock = -1;
  if (ipro_program_folder_lock(directory, true, &folder_lock, err) != IPRO_OK) return IPRO_ERROR;
  remove_abandoned_stages(directory);
  ipro_status status = IPRO_OK;
  snprintf(stage, size, "%s/" STAGE_PREFIX "XXXXXX", directory);
  if (!mkdtemp(stage)) {
    status = ipro_error_set(err, "cannot make a folder in %s: %s", directory, strerror(errno));
    stage[0] = '\0';
  } else {
    *lock = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*lock < 0 || flock(*lock, LOCK_EX | LOCK_NB) != 0) {
      status = ipro_error_set(err, "cannot lock the staging folder %s: %s", stage, strerror(errno));
      ipro_program_stage_remove(stage, *lock);
      *lock = -1;
      stage[0] = '\0';
    }
  }
  ipro_program_folder_unlock(folder_lock);
  return status;
}
