/* Argument parsing and error printing shared by the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"

int ipro_cli_parse_positive(const char *flag, const char *text, int64_t *out) {
  if (!text) {
    fprintf(stderr, "infopro: %s needs a value\n", flag);
    return 0;
  }
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno || end == text || *end != '\0' || value <= 0) {
    fprintf(stderr, "infopro: %s expects a positive integer, got '%s'\n", flag, text);
    return 0;
  }
  *out = value;
  return 1;
}

int ipro_cli_fail(const char *message) {
  fprintf(stderr, "infopro: %s\n", message);
  return 1;
}
