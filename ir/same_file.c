/* Path identity (see same_file.h). realpath(3) is X/Open, beyond the POSIX level the build sets. */
#define _XOPEN_SOURCE 700
#include "same_file.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { NAME_BYTES = PATH_MAX * 2 };

/* Appends `component` to the absolute name in `name`: "." changes nothing, ".." drops the last
 * component (the folder it named did not exist, so no symlink can make it mean anything else). */
static bool append_component(char *name, const char *component, size_t length) {
  if (length == 0 || (length == 1 && component[0] == '.')) return true;
  if (length == 2 && component[0] == '.' && component[1] == '.') {
    char *slash = strrchr(name, '/');
    if (slash) *(slash == name ? slash + 1 : slash) = '\0';
    return true;
  }
  size_t used = strlen(name);
  bool root = used == 1 && name[0] == '/';
  if (used + length + 2 > NAME_BYTES) return false;
  if (!root) name[used++] = '/';
  memcpy(name + used, component, length);
  name[used + length] = '\0';
  return true;
}

/* The canonical name of path (same_file.h), or false when it cannot be made (too long, no
 * ancestor resolves). */
static bool canonical_name(const char *path, char *name) {
  char prefix[NAME_BYTES];
  if (snprintf(prefix, sizeof prefix, "%s%s", path[0] == '/' ? "" : "./", path) >=
      (int)sizeof prefix)
    return false;
  /* the longest prefix that realpath resolves, cut at a slash */
  size_t cut = strlen(prefix);
  char resolved[PATH_MAX];
  for (;;) {
    char saved = prefix[cut];
    prefix[cut] = '\0';
    bool found = realpath(cut ? prefix : "/", resolved) != NULL;
    prefix[cut] = saved;
    if (found) break;
    while (cut > 0 && prefix[cut - 1] != '/')
      cut--;
    if (cut == 0) return false;
    cut--; /* drop the slash itself */
  }
  snprintf(name, NAME_BYTES, "%s", resolved);
  for (const char *at = prefix + cut; *at;) {
    at += strspn(at, "/");
    size_t length = strcspn(at, "/");
    if (!append_component(name, at, length)) return false;
    at += length;
  }
  return true;
}

bool ipro_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  bool a_exists = stat(a, &sa) == 0, b_exists = stat(b, &sb) == 0;
  if (a_exists && b_exists) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (a_exists != b_exists) return false;
  char *names = malloc(2 * (size_t)NAME_BYTES);
  bool same = names && canonical_name(a, names) && canonical_name(b, names + NAME_BYTES) &&
              strcmp(names, names + NAME_BYTES) == 0;
  free(names);
  return same;
}
