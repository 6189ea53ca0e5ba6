/* Finite numbers of float range from the command line (finite_number.h). */
#include "finite_number.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

bool ipro_cli_read_finite(const char *text, const char **end, double *out) {
  if (!text) return false;
  char *after = NULL;
  errno = 0;
  double value = strtod(text, &after);
  *end = after;
  /* errno on underflow alone is harmless: the value is the float it rounds to */
  bool overflow = errno == ERANGE && fabs(value) > 1.0;
  if (after == text || overflow || !isfinite(value) || fabs(value) > (double)FLT_MAX) return false;
  *out = value;
  return true;
}

bool ipro_cli_parse_finite(const char *text, double *out) {
  const char *end = NULL;
  double value = 0;
  if (!ipro_cli_read_finite(text, &end, &value) || *end != '\0') return false;
  *out = value;
  return true;
}
