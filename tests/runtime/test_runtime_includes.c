/* The thin runtime reads only the IR's data structures and the program format: no source file of
 * the runtime library (and of the CUDA and MPI plugins, which it loads) includes, directly or
 * through another header, a header of frontend/, codegen/ or partitioner/.
 *
 * The files are the build's own lists (tests/CMakeLists.txt hands each target's SOURCES in
 * IPRO_RUNTIME_SOURCE_LISTS, ':'-separated), so a file added to the library is checked without an
 * edit here. Every `#include "..."` is followed: a path with a folder from the source root, a bare
 * name beside the including file, as the compiler resolves them; system headers (<...>) and the
 * generated protobuf-c code are not ours and are not followed. The link-level twin of this check
 * is infopro_runtime_closure (CMakeLists.txt). */
#include <stdlib.h>
#include <string.h>

#include "support/check.h"

#define MAX_FILES 1024
#define PATH_SIZE 1024

static char seen[MAX_FILES][PATH_SIZE];
static int n_seen;

static bool forbidden(const char *relative) {
  return strncmp(relative, "frontend/", 9) == 0 || strncmp(relative, "codegen/", 8) == 0 ||
         strncmp(relative, "partitioner/", 12) == 0;
}

/* relative: the file's path from the source root. */
static void visit(const char *root, const char *relative, const char *from) {
  for (int i = 0; i < n_seen; i++)
    if (strcmp(seen[i], relative) == 0) return;
  CHECK_MSG(!forbidden(relative), "%s includes %s", from, relative);
  if (forbidden(relative) || n_seen == MAX_FILES) return;
  snprintf(seen[n_seen++], PATH_SIZE, "%s", relative);
  char path[2 * PATH_SIZE];
  snprintf(path, sizeof path, "%s/%s", root, relative);
  FILE *file = fopen(path, "r");
  if (!file) return; /* generated into the build tree (schemas/onnx.pb-c.h): not ours */
  char line[1024];
  while (fgets(line, sizeof line, file)) {
    const char *at = line;
    while (*at == ' ' || *at == '\t')
      at++;
    if (strncmp(at, "#include \"", 10) != 0) continue;
    at += 10;
    const char *end = strchr(at, '"');
    if (!end || end == at) continue;
    char name[PATH_SIZE];
    snprintf(name, sizeof name, "%.*s", (int)(end - at), at);
    char next[PATH_SIZE];
    const char *slash = strrchr(relative, '/');
    if (strchr(name, '/'))
      snprintf(next, sizeof next, "%s", name);
    else if (slash)
      snprintf(next, sizeof next, "%.*s/%s", (int)(slash - relative), relative, name);
    else
      snprintf(next, sizeof next, "%s", name);
    visit(root, next, relative);
  }
  fclose(file);
}

int main(void) {
  const char *root = ipro_test_source_dir();
  const char *lists = getenv("IPRO_RUNTIME_SOURCE_LISTS");
  if (!lists || !*lists) {
    CHECK_MSG(false, "IPRO_RUNTIME_SOURCE_LISTS is not set (tests/CMakeLists.txt sets it)");
    return ipro_test_finish();
  }
  size_t root_length = strlen(root);
  int sources = 0;
  for (const char *at = lists; *at;) {
    const char *end = strchr(at, ':');
    size_t length = end ? (size_t)(end - at) : strlen(at);
    char source[PATH_SIZE];
    snprintf(source, sizeof source, "%.*s", (int)length, at);
    /* absolute (globbed) or relative to the source root */
    const char *relative = source;
    if (strncmp(source, root, root_length) == 0 && source[root_length] == '/')
      relative = source + root_length + 1;
    if (strstr(relative, ".c") && relative[0] != '/') {
      visit(root, relative, "the build's list");
      sources++;
    }
    at += length + (end ? 1 : 0);
  }
  /* the library's sources alone are over sixty: a short list means the lists were not read */
  CHECK_MSG(sources > 60, "%d runtime sources read", sources);
  printf("%d sources, %d files followed\n", sources, n_seen);
  return ipro_test_finish();
}
