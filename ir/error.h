/* Status codes and error messages shared by every library layer.
 *
 * Library code never prints and never exits: a failing function returns IPRO_ERROR and writes one
 * readable sentence into an ipro_error that names the file, node or tensor concerned. Only cli/
 * prints it and chooses the exit code. */
#ifndef IPRO_ERROR_H
#define IPRO_ERROR_H

#include <stdarg.h>

typedef enum { IPRO_OK = 0, IPRO_ERROR = 1 } ipro_status;

typedef struct {
  char message[1024];
} ipro_error;

/* Formats the message (printf-style) and returns IPRO_ERROR so callers can write
 * `return ipro_error_set(err, "...")`. A NULL err is allowed and ignored. */
ipro_status ipro_error_set(ipro_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to an existing message, for adding context (the file name) on the way up. */
ipro_status ipro_error_prefix(ipro_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
