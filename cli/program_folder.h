/* The folder of a compiled training program (`infopro compile -o DIR`) as several processes see
 * it: compiles that write it, perhaps at once, and runners that read it.
 *
 * A compile makes everything in a staging folder of its own inside DIR (DIR/.infopro-compile-
 * XXXXXX), which it holds locked (flock) while it lives; a stage nobody holds is what a compile
 * that was killed left, and the next compile removes it. Replacing DIR's files (renames only)
 * happens under an exclusive lock on DIR itself, and a runner reads program.ipro and its kernels
 * under a shared one, so that neither a second compile nor a runner sees one compile's program
 * beside another's kernels (kernels.ptx, read later, is held to its digest). The model's side
 * files and the CUDA plugin, which the runner opens later, are not covered: a compile into the
 * folder while a runner trains from it can still change them under it. The locks are advisory
 * flock(2) locks, released when their descriptor is closed, also when the process dies. */
#ifndef IPRO_CLI_PROGRAM_FOLDER_H
#define IPRO_CLI_PROGRAM_FOLDER_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/error.h"

/* Waits for and takes a lock on the folder (exclusive: to replace its files; shared: to read
 * them); *lock is the descriptor to hand to ipro_program_folder_unlock. */
ipro_status ipro_program_folder_lock(const char *directory, bool exclusive, int *lock,
                                     ipro_error *err);
void ipro_program_folder_unlock(int lock);

/* Makes a staging folder in directory (into stage, `size` bytes) and holds it locked in *lock,
 * after removing the stages no living compile holds. */
ipro_status ipro_program_stage_make(const char *directory, char *stage, size_t size, int *lock,
                                    ipro_error *err);
/* The stage and everything in it removed (links are removed, not followed), and its lock let go. */
void ipro_program_stage_remove(const char *stage, int lock);

#endif
