/* Whether two paths name the same file, by identity rather than by spelling: "a/../a/x.onnx" and
 * "a/x.onnx", a path through a symlinked folder and the folder's own, two hard links. Used to
 * refuse outputs that would overwrite each other (or a file the run needs) before any work. */
#ifndef IPRO_SAME_FILE_H
#define IPRO_SAME_FILE_H

#include <stdbool.h>

/* Files that both exist: the same device and inode. Otherwise the same canonical name: the
 * longest existing ancestor folder resolved by realpath(3), the rest of the path appended with
 * "." and ".." applied to the name, so that files not yet written (in folders not yet made)
 * compare too. */
bool ipro_same_file(const char *a, const char *b);

#endif
