/* Formatting of ipro_error messages (see error.h). */
#include "ir/error.h"

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
    va_list args;
    va_start(args, format);
    vsnprintf(prefix, sizeof prefix, format, args);
    va_end(args);
    size_t capacity = sizeof err->message;
    size_t prefix_length = strnlen(prefix, sizeof prefix - 1) + 2; /* with ": " */
    if (prefix_length >= capacity) prefix_length = capacity - 1;
    size_t kept = strnlen(err->message, capacity - 1);
    if (kept > capacity - 1 - prefix_length) kept = capacity - 1 - prefix_length;
    memmove(err->message + prefix_length, err->message, kept);
    err->message[prefix_length + kept] = '\0';
    memcpy(err->message, prefix, prefix_length - 2);
    err->message[prefix_length - 2] = ':';
    err->message[prefix_length - 1] = ' ';
  }
  return IPRO_ERROR;
}
