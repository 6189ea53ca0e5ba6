/* Writing a file so that readers see either the old content or the whole new content, never a
 * half-written file: the bytes go to a temporary file beside the target, are flushed to disk,
 * and the temporary replaces the target with rename(2). Used for every file infopro writes
 * (outputs, checkpoints, trained models). A symbolic link is followed to the file it names, which
 * is replaced so (the link stays a link); a device, FIFO or socket (/dev/null, a pipe) is written
 * in place, where a rename would replace the device itself with a regular file, and its write
 * errors (/dev/full's ENOSPC) are reported as any other. */
#ifndef IPRO_ATOMIC_FILE_H
#define IPRO_ATOMIC_FILE_H

#include <stddef.h>

#include "ir/error.h"

ipro_status ipro_write_file_atomic(const char *path, const void *bytes, size_t size,
                                   ipro_error *err);

/* The same, written piece by piece (a serialiser that streams, so that the whole file is never
 * held in memory): open, write any number of times (a failure is kept and reported by commit),
 * then commit, which flushes and renames (or, after a failure, removes the temporary), or
 * abandon, which removes the temporary and leaves the target as it was; either frees the file. */
typedef struct ipro_atomic_file ipro_atomic_file;
ipro_status ipro_atomic_file_open(const char *path, ipro_atomic_file **out, ipro_error *err);
void ipro_atomic_file_write(ipro_atomic_file *file, const void *bytes, size_t size);
ipro_status ipro_atomic_file_commit(ipro_atomic_file *file, ipro_error *err);
void ipro_atomic_file_abandon(ipro_atomic_file *file);
/* Makes SIGINT, SIGTERM and SIGHUP remove the temporaries of the atomic files being written
 * before the signal ends the process as it would have (the exit status stays 128 + the signal):
 * otherwise an interrupted run leaves a PATH.tmp.XXXXXX beside each file it was writing, a
 * checkpoint's size each time (the targets themselves are intact either way). A signal the process
 * ignores (nohup) stays ignored. For the programs' main functions; a library that is only linked
 * installs nothing. */
void ipro_atomic_file_remove_on_signals(void);

/* Proves that ipro_write_file_atomic(path, ...) could write: creates and removes the temporary
 * file it would create, so that a read-only folder or a file system that takes no files (/proc)
 * is reported before hours of work rather than after. */
ipro_status ipro_check_writable(const char *path, ipro_error *err);

/* Creates the folder and any missing parents (mkdir -p); an error when it cannot, or when the
 * path exists and is not a folder. */
ipro_status ipro_make_directories(const char *path, ipro_error *err);
/* The same, noting in *first_created the length of the path's prefix that names the first folder
 * it created (0 when every one existed), for ipro_remove_created_directories. */
ipro_status ipro_make_directories_noting(const char *path, size_t *first_created, ipro_error *err);
/* Undoes ipro_make_directories_noting for a run that failed before writing anything there, so
 * that it leaves no empty folder behind: removes the folders it created, deepest first, stopping
 * at the first that is no longer empty (something was written into it) or was there before. */
void ipro_remove_created_directories(const char *path, size_t first_created);

#endif
