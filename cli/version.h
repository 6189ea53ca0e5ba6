/* What a build of infopro is: its version, the commit it was built from (git describe at every
 * build, cmake/build_commit.cmake: "-dirty" with uncommitted changes, "unknown" outside a
 * checkout),
 * its build type, the versions of the libraries it runs on as they report themselves at run time
 * (oneDNN, protobuf-c, zlib; jansson's as compiled in), and the file formats it writes. For
 * `infopro --version`, and the "infopro" field of the --json outputs, so that a result names
 * what made it. */
#ifndef IPRO_CLI_VERSION_H
#define IPRO_CLI_VERSION_H

#include <stdio.h>

/* "0.28.0 (git 2554d18abcd1, Release)" */
const char *ipro_cli_version(void);
/* The version line, then the libraries' and the formats' lines. */
void ipro_cli_print_version(FILE *out);

#endif
