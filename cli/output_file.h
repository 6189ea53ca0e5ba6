/* An output file of the CLI (--json, --html) written so that it is either the whole new content
 * or untouched (ir/atomic_file.h): what the writer prints goes to memory first, then to a
 * temporary beside the file, which replaces it. "-" writes to a stream instead (stdout, or the
 * one json_stdout.h set aside for the JSON). */
#ifndef IPRO_CLI_OUTPUT_FILE_H
#define IPRO_CLI_OUTPUT_FILE_H

#include <stdio.h>

#include "ir/error.h"

ipro_status ipro_cli_write_output(const char *path, FILE *dash,
                                  void (*write)(const void *context, FILE *out),
                                  const void *context, ipro_error *err);

#endif
