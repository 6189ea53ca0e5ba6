/* `--json -`: the JSON object alone on stdout, so that it can be piped into a JSON reader. The
 * human-readable lines, which the CLI prints to stdout, go to stderr for the rest of the run. */
#ifndef IPRO_CLI_JSON_STDOUT_H
#define IPRO_CLI_JSON_STDOUT_H

#include <stdio.h>

/* Makes the process's standard output a copy of its standard error (so that everything printed
 * to stdout from here on, by any code, lands on stderr) and returns a stream on the original
 * standard output, for the JSON; NULL, with errno set, when the descriptors cannot be copied
 * (nothing is changed then). */
FILE *ipro_cli_json_stdout_begin(void);

#endif
