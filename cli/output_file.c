/* Output files written whole or not at all (output_file.h). */
#include "output_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ir/atomic_file.h"

ipro_status ipro_cli_write_output(const char *path, FILE *dash,
                                  void (*write)(const void *context, FILE *out),
                                  const void *context, ipro_error *err) {
  char *bytes = NULL;
  size_t size = 0;
  FILE *stream = open_memstream(&bytes, &size);
  if (!stream) return ipro_error_set(err, "%s: out of memory", path);
  write(context, stream);
  ipro_status status =
      fclose(stream) == 0 ? IPRO_OK : ipro_error_set(err, "%s: out of memory", path);
  if (status == IPRO_OK && strcmp(path, "-") == 0) {
    if (fwrite(bytes, 1, size, dash) != size || fflush(dash) != 0)
      status = ipro_error_set(err, "cannot write to stdout: %s", strerror(errno));
  } else if (status == IPRO_OK) {
    status = ipro_write_file_atomic(path, bytes, size, err);
  }
  free(bytes);
  return status;
}
