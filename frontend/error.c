/* Formatting of ipro_error messages (see error.h). */
#include "error.h"

#include <stdio.h>
#include <string.h>

ipro_status ipro_error_set(ipro_error *err, const char *format, ...) {
  if (err) {
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
  }
  return IPRO_ERROR;
}

ipro_status ipro_error_prefix(ipro_error *err, const char *format, ...) {
  if (err) {
    char prefix[512];
    char previous[sizeof err->message];
    va_list args;
    va_start(args, format);
    vsnprintf(prefix, sizeof prefix, format, args);
    va_end(args);
    memcpy(previous, err->message, sizeof previous);
    snprintf(err->message, sizeof err->message, "%s: %s", prefix, previous);
  }
  return IPRO_ERROR;
}
