/* Formatting of ipro_error messages (see error.h). */
#include "ir/error.h"

#include <stdio.h>
#include <string.h>

#include "ir/printable.h"

/* Copies text into out (capacity bytes) with its control characters escaped (printable.h): a
 * message is one line, whatever the names and paths in it hold. */
static void copy_printable(char *out, size_t capacity, const char *text) {
  char escaped[sizeof((ipro_error *)0)->message];
  snprintf(out, capacity, "%s", ipro_printable(text, escaped, sizeof escaped));
}

ipro_status ipro_error_set(ipro_error *err, const char *format, ...) {
  if (err) {
    char message[sizeof err->message];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    copy_printable(err->message, sizeof err->message, message);
  }
  return IPRO_ERROR;
}

ipro_status ipro_error_prefix(ipro_error *err, const char *format, ...) {
  if (err) {
    char formatted[512], prefix[512];
    va_list args;
    va_start(args, format);
    vsnprintf(formatted, sizeof formatted, format, args);
    va_end(args);
    copy_printable(prefix, sizeof prefix, formatted);
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
