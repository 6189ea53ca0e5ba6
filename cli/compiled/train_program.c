/* DIR/train, the runner of a compiled training program (`infopro compile`): reads
 * program.ipro from its own folder, serves the generated kernels from the folder's kernels.so
 * (runtime/precompiled_kernels.h), provides the embedded model to the loader in memory
 * (frontend/model_in_memory.h), and runs `infopro train`'s training loop with the program's
 * split and batch, its trainer built from the program's lowered modules
 * (runtime/program_source.h). It links the runtime and the training loop only: no LLVM, no MPI, no
 * planner's search (CMakeLists.txt, target infopro-train). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/program_folder.h"
#include "frontend/model_in_memory.h"
#include "ir/atomic_file.h"
#include "ir/plugin_library.h"
#include "runtime/precompiled_kernels.h"
#include "runtime/program_file.h"

int main(int argc, char **argv) {
  ipro_atomic_file_remove_on_signals(); /* an interrupted run leaves no half-written temporaries */
  char directory[4096], path[4200];
  ipro_executable_directory(directory, sizeof directory);
  if (!directory[0]) {
    fprintf(stderr, "train: cannot find the folder this program lies in (/proc/self/exe)\n");
    return 1;
  }
  ipro_program_path(directory, path, sizeof path);
  ipro_program program = {0};
  ipro_error err = {{0}};
  /* read under the folder's shared lock: a compile replacing the folder's files now is waited
   * for, so the program and its kernels come from one compile (a folder that cannot be opened
   * for reading, only searched, is read without it) */
  int lock = -1;
  if (ipro_program_folder_lock(directory, false, &lock, &err) != IPRO_OK) lock = -1;
  ipro_status status = ipro_program_read(path, &program, &err);
  /* --help and --version describe the program and run nothing: they need no kernels, so a
   * damaged kernels.so does not hide what the program is */
  bool describe_only = false;
  for (int i = 1; i < argc; i++)
    describe_only |= strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "--version") == 0;
  if (status == IPRO_OK && !describe_only)
    status = ipro_precompiled_kernels_use(directory, program.cpu, program.cpu_features,
                                          program.host_kernels, program.ptx_kernels, &err);
  ipro_program_folder_unlock(lock);
  if (status != IPRO_OK) {
    fprintf(stderr, "train: %s\n", err.message);
    ipro_program_release(&program);
    return 1;
  }
  /* The model lies in memory as if it sat beside the runner, where a model with external data
   * finds its side files (compile copies them there). */
  char model_path[4200 + IPRO_PROGRAM_NAME_BYTES];
  snprintf(model_path, sizeof model_path, "%s/%s", directory, program.model_name);
  ipro_model_provide_in_memory(model_path, program.model, program.model_bytes);
  int exit_status = ipro_cli_train_compiled(argc - 1, argv + 1, &program, model_path);
  ipro_program_release(&program);
  return ipro_cli_flush_stdout("train", exit_status);
}
