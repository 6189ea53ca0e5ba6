/* infopro's entry point: dispatches to the subcommands of commands.h. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ir/atomic_file.h"
#include "version.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"inspect", ipro_cli_inspect, "show a model's nodes, shapes, parameters, FLOPs and cut points"},
    {"plan", ipro_cli_plan, "choose the cuts into local modules and report their memory"},
    {"run", ipro_cli_run, "run a model's forward pass on TensorProto inputs"},
    {"eval", ipro_cli_eval, "accuracy and cross-entropy of a classifier on a dataset's test split"},
    {"train", ipro_cli_train, "train a classifier end to end or as InfoPro local modules"},
    {"compile", ipro_cli_compile, "write a standalone training program for a model and its split"},
    {"export", ipro_cli_export, "copy a model in inference form or with external data"},
};

static void print_usage(FILE *out) {
  fprintf(out, "usage: infopro <command> [arguments]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun 'infopro <command> --help' for a command's options, 'infopro --version' for\n"
               "the version, the commit built from and the libraries' versions.\n");
}

int main(int argc, char **argv) {
  ipro_atomic_file_remove_on_signals(); /* an interrupted run leaves no half-written temporaries */
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    print_usage(stdout);
    return ipro_cli_flush_stdout("infopro", 0);
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    ipro_cli_print_version(stdout);
    return ipro_cli_flush_stdout("infopro", 0);
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return ipro_cli_flush_stdout("infopro", commands[i].run(argc - 2, argv + 2));
  fprintf(stderr, "infopro: unknown command '%s'\n", argv[1]);
  print_usage(stderr);
  return 2;
}
