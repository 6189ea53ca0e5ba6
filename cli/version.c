/* infopro's version and what it was built with (version.h). */
#include "version.h"

#include <dnnl.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <zlib.h>

#include "partitioner/plan_file.h"
#include "runtime/checkpoint.h"
#include "runtime/program_file.h"

#include "build_commit.h" /* IPRO_GIT_COMMIT, written at every build (cmake/build_commit.cmake) */

#ifndef IPRO_VERSION /* set for this file by CMakeLists.txt */
#define IPRO_VERSION "unknown"
#define IPRO_BUILD_TYPE "unknown"
#endif

const char *ipro_cli_version(void) {
  return IPRO_VERSION " (git " IPRO_GIT_COMMIT ", " IPRO_BUILD_TYPE ")";
}

void ipro_cli_print_version(FILE *out) {
  const dnnl_version_t *dnnl = dnnl_version();
  fprintf(out, "infopro %s\n", ipro_cli_version());
  fprintf(out, "libraries: oneDNN %d.%d.%d, protobuf-c %s, zlib %s, jansson %s\n", dnnl->major,
          dnnl->minor, dnnl->patch, protobuf_c_version(), zlibVersion(), JANSSON_VERSION);
  fprintf(out, "formats written: program %d, checkpoint %d, plan %d\n", IPRO_PROGRAM_VERSION,
          IPRO_CHECKPOINT_VERSION, IPRO_PLAN_VERSION);
}
