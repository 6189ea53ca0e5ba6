/* The CLI's subcommands. Each takes the arguments after its name and returns the process exit
 * status: 0 success, 1 a failure with a message already printed, 2 a usage error. Only cli/
 * prints and chooses exit codes. */
#ifndef IPRO_CLI_COMMANDS_H
#define IPRO_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"
#include "runtime/backend.h"
#include "runtime/program_file.h"

int ipro_cli_inspect(int argc, char **argv);
int ipro_cli_plan(int argc, char **argv);
int ipro_cli_run(int argc, char **argv);
int ipro_cli_eval(int argc, char **argv);
int ipro_cli_train(int argc, char **argv);
int ipro_cli_export(int argc, char **argv);
int ipro_cli_compile(int argc, char **argv);
/* A compiled program's runner (DIR/train): train's loop on the program's model (provided in
 * memory at model_path) and split, with train's options that do not change the program. */
int ipro_cli_train_compiled(int argc, char **argv, const ipro_program *program,
                            const char *model_path);

/* Shared argument helpers (arguments.c). */
/* Parses a positive integer; prints a usage message naming the flag and returns 0 on failure. */
int ipro_cli_parse_positive(const char *flag, const char *text, int64_t *out);
/* The same for a non-negative integer (a count where 0 is allowed, or a seed). */
int ipro_cli_parse_count(const char *flag, const char *text, int64_t *out);
/* An argument the command's parser did not take, named in one line ("COMMAND: missing value
 * after '--data'" for one of value_options, a NULL-terminated list of the options that take a
 * value, given last; "unknown option '--x'" for another option; "unexpected argument 'x'"
 * otherwise), then usage (when not NULL), to stderr; returns 2. */
int ipro_cli_refuse_argument(const char *command, const char *argument, bool last,
                             const char *const *value_options, const char *usage);
/* "COMMAND: missing WHAT", then usage (when not NULL), to stderr; returns 2. */
int ipro_cli_missing_argument(const char *command, const char *what, const char *usage);
/* The exit status once standard output is flushed: output that could not be written (a full
 * disk, /dev/full) is the command's failure too, said on stderr as "<program>: cannot write the
 * standard output: ...", not a 0 over lost output. */
int ipro_cli_flush_stdout(const char *program, int status);
/* Prints "infopro: <message>" to stderr and returns 1. */
int ipro_cli_fail(const char *message);
/* Prints one warning line naming the model's opset imports this build has not been tested with
 * (ipro_graph_untested_opsets); nothing when there are none. */
void ipro_cli_warn_untested_opsets(const ipro_graph *graph, const char *model);
/* Prints one warning line when the model's exporter folded BatchNormalizations into the layers
 * before them (ipro_graph's folded_batch_norms): training a model so exported trains another
 * network than the user's. Nothing otherwise. */
void ipro_cli_warn_folded_batch_norms(const ipro_graph *graph, const char *model);
/* Parses --device's value (cpu or cuda); prints a usage message and returns 0 on failure. */
int ipro_cli_parse_device(const char *text, ipro_device *out);
/* The backend of --device (and --reference) with its fallback; a failure names the flag
 * ("--device cuda: no CUDA device: ..."). */
ipro_status ipro_cli_create_backend(ipro_device device, bool reference, ipro_backend **backend,
                                    ipro_backend **fallback, ipro_error *err);

#endif
