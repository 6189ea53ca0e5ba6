/* Reading the numbers of the command line's real-valued options (--lambda, --lr, --mean, ...).
 * Every one of them ends up in float arithmetic, where a NaN, an infinity or a value beyond
 * float's range (1e39) turns the weights into NaN without any loss saying so; they are refused
 * here, where the option can still be named. */
#ifndef IPRO_CLI_FINITE_NUMBER_H
#define IPRO_CLI_FINITE_NUMBER_H

#include <stdbool.h>

/* Reads the number at the start of text (strtod's syntax) into *out and points *end just past
 * it. False, with *out untouched, when there is no number there, or it is NaN, infinite or
 * larger in magnitude than the largest float; a value too small for a float reads as the float
 * it rounds to. */
bool ipro_cli_read_finite(const char *text, const char **end, double *out);

/* The whole of text as one such number: false when it is not one, or anything follows it. */
bool ipro_cli_parse_finite(const char *text, double *out);

#endif
