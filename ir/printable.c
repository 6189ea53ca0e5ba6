/* Control characters in shown text written as \xNN (see printable.h). */
#include "ir/printable.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

size_t ipro_control_length(const char *text) {
  const unsigned char *p = (const unsigned char *)text;
  if (*p == 0) return 0;
  if (*p < 0x20 || *p == 0x7f) return 1;
  if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return 2;
  return 0;
}

const char *ipro_printable(const char *text, char *buffer, size_t capacity) {
  const unsigned char *p = (const unsigned char *)text;
  bool clean = true;
  for (const unsigned char *q = p; *q && clean; q++)
    clean = ipro_control_length((const char *)q) == 0;
  if (clean) return text;
  static const char cut[] = "...";
  size_t used = 0, room = capacity - sizeof cut; /* leaves space for "..." and the NUL */
  while (*p) {
    size_t control = ipro_control_length((const char *)p), length = control ? 4 * control : 1;
    if (used + length > room) {
      memcpy(buffer + used, cut, sizeof cut);
      return buffer;
    }
    if (control)
      for (size_t i = 0; i < control; i++)
        snprintf(buffer + used + 4 * i, 5, "\\x%02x", p[i]);
    else
      buffer[used] = (char)*p;
    used += length;
    p += control ? control : 1;
  }
  buffer[used] = '\0';
  return buffer;
}
