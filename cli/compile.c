/* `infopro compile MODEL.onnx --data SPEC --batch B [split, head and optimizer options] -o DIR`:
 * a standalone training program for exactly that model, split and batch (runtime/program_file.h).
 *
 * DIR receives
 *   train         the runner: `infopro train`'s training loop linked with the runtime only (no
 *                 LLVM, no planner's search, no MPI), copied from beside infopro;
 *   libinfopro_mpi.so  the MPI pipeline plugin (runtime/mpi/pipeline_plugin.h), which the runner
 *                 loads only when `mpirun -np K DIR/train ...` starts it: one module per rank,
 *                 as `mpirun -np K infopro train` trains;
 *   program.ipro  each module's lowered training program (runtime/program_module.h), the model,
 *                 its split and heads, the batch, the optimizer and the dataset shape;
 *   kernels.so    the generated kernels made ahead of time by LLVM for this machine's CPU and
 *                 linked by the system's C compiler (cc) into a shared object;
 *   kernels.ptx   for --device cuda: the same kernels as PTX, with libinfopro_cuda.so beside.
 * DIR can be copied anywhere with the same CPU features and libraries: its runner reads
 * nothing else. The data given at compile time fixes the image channels and classes the heads
 * are built for, as `infopro train` would have; the runner reads its own --data. */
#include <errno.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/kernel_cpu_levels.h"
#include "commands.h"
#include "data_source.h"
#include "evaluation.h"
#include "finite_number.h"
#include "finite_parameters.h"
#include "frontend/onnx_export.h"
#include "ir/atomic_file.h"
#include "ir/kernel_compiler.h"
#include "ir/kernel_library.h"
#include "ir/plugin_library.h"
#include "ir/printable.h"
#include "local_options.h"
#include "normalization_options.h"
#include "program_folder.h"
#include "runtime/framed_file.h"
#include "runtime/model_source.h"
#include "runtime/mpi/pipeline_plugin.h"
#include "runtime/precompiled_kernels.h"
#include "runtime/program_file.h"
#include "runtime/program_module.h"
#include "training_split.h"
#include "version.h"

extern char **environ;

#define RUNNER_FILE "infopro-train"
#define CUDA_PLUGIN_FILE "libinfopro_cuda.so"

static const char usage[] =
    "usage: infopro compile MODEL.onnx --data SPEC -o DIR [options]\n"
    "  -o DIR                  the folder to write the program into (created if missing)\n"
    "  --data SPEC             the data it will train on, as for train: its image channels,\n"
    "                          classes and normalisation shape the heads\n"
    "  --batch B               training batch size (default 128)\n"
    "  --device cpu|cuda       where the program trains (default cpu)\n"
    "  --cpu host|LEVEL        the CPU its kernels are made for: this machine's (host, the\n"
    "                          default) or an x86-64 level, x86-64-v2|v3|v4, for any CPU of it\n"
    "  --optimizer KIND        sgd or adamw (default sgd); --momentum M, --weight-decay WD and\n"
    "                          --no-nesterov set its defaults, which the program's options "
    "override\n"
    "  --strict, --mean, --std as for train\n"
    "DIR/train then takes train's options that do not change the program (--data --epochs --lr\n"
    "--schedule --warmup-epochs --seed --limit --augment --checkpoint --resume --out ...).\n";

typedef struct {
  const char *model, *data, *directory;
  const char *cpu; /* an x86-64 level, or NULL for this machine's CPU */
  int64_t batch;
  ipro_device device;
  ipro_optimizer_settings optimizer;
  bool strict;
  ipro_cli_local_options local;
  ipro_cli_normalization normalization;
} compile_options;

/* compile's options that take a value: one of them given last lacks it, any other is unknown. */
static const char *const value_options[] = {"-o",         "--data",         "--batch",
                                            "--device",   "--cpu",          "--optimizer",
                                            "--momentum", "--weight-decay", NULL};

static int parse_float(const char *flag, const char *text, float *out) {
  double value = 0;
  if (!ipro_cli_parse_finite(text, &value) || value < 0) {
    fprintf(
        stderr,
        "infopro compile: %s expects a non-negative number (finite, at most 3.4e38), got '%s'\n",
        flag, text);
    return 0;
  }
  *out = (float)value;
  return 1;
}

/* Returns -1 to go on, or the exit status. */
static int parse(int argc, char **argv, compile_options *o) {
  *o = (compile_options){.batch = 128, .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD)};
  ipro_cli_local_defaults(&o->local);
  bool momentum = false, weight_decay = false, no_nesterov = false;
  float momentum_value = 0, weight_decay_value = 0;
  for (int i = 0; i < argc; i++) {
    int shared = ipro_cli_training_option("compile", argc, argv, &i, &o->local, &o->normalization);
    if (shared == 2) return 2;
    if (shared == 1) continue;
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int ok = 1;
    if (strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      fputs("local training (InfoPro):\n", stdout);
      fputs(ipro_cli_local_usage, stdout);
      return 0;
    } else if (strcmp(a, "--strict") == 0) {
      o->strict = true;
    } else if (strcmp(a, "--no-nesterov") == 0) {
      no_nesterov = true;
    } else if (a[0] == '-' && !v) {
      return ipro_cli_refuse_argument("infopro compile", a, true, value_options, usage);
    } else if (strcmp(a, "-o") == 0) {
      o->directory = argv[++i];
    } else if (strcmp(a, "--data") == 0) {
      o->data = argv[++i];
    } else if (strcmp(a, "--batch") == 0) {
      ok = ipro_cli_parse_positive(a, argv[++i], &o->batch);
    } else if (strcmp(a, "--device") == 0) {
      ok = ipro_cli_parse_device(argv[++i], &o->device);
    } else if (strcmp(a, "--cpu") == 0) {
      const char *cpu = argv[++i];
      o->cpu = strcmp(cpu, "host") == 0 ? NULL : cpu;
      ok = !o->cpu || ipro_kernel_cpu_level_features(o->cpu);
      if (!ok)
        fprintf(stderr, "infopro compile: unknown --cpu '%s' (host, or one of %s)\n", cpu,
                ipro_kernel_cpu_level_names);
    } else if (strcmp(a, "--optimizer") == 0) {
      const char *kind = argv[++i];
      ok = strcmp(kind, "sgd") == 0 || strcmp(kind, "adamw") == 0;
      if (!ok) fprintf(stderr, "infopro compile: unknown optimizer '%s' (sgd or adamw)\n", kind);
      o->optimizer = ipro_optimizer_defaults(strcmp(kind, "adamw") == 0 ? IPRO_OPTIMIZER_ADAMW
                                                                        : IPRO_OPTIMIZER_SGD);
    } else if (strcmp(a, "--momentum") == 0) {
      ok = parse_float(a, argv[++i], &momentum_value), momentum = true;
    } else if (strcmp(a, "--weight-decay") == 0) {
      ok = parse_float(a, argv[++i], &weight_decay_value), weight_decay = true;
    } else if (a[0] != '-' && !o->model) {
      o->model = a;
    } else {
      return ipro_cli_refuse_argument("infopro compile", a, false, value_options, usage);
    }
    if (!ok) return 2;
  }
  const char *missing = !o->model       ? "MODEL.onnx"
                        : !o->data      ? "--data SPEC"
                        : !o->directory ? "-o DIR"
                                        : NULL;
  if (missing) return ipro_cli_missing_argument("infopro compile", missing, usage);
  /* SGD's constants given for an AdamW program had no effect, without a word: refused, as in
   * train */
  if ((momentum || no_nesterov) && o->optimizer.kind == IPRO_OPTIMIZER_ADAMW) {
    fprintf(stderr,
            "infopro compile: %s has no effect with --optimizer adamw: it sets SGD's momentum, "
            "and AdamW's moments use their own betas; leave it out or compile with --optimizer "
            "sgd\n",
            momentum ? "--momentum" : "--no-nesterov");
    return 2;
  }
  /* --optimizer sets its kind's defaults; the constants given win whatever the order */
  if (momentum) o->optimizer.momentum = momentum_value;
  if (weight_decay) o->optimizer.weight_decay = weight_decay_value;
  if (no_nesterov) o->optimizer.nesterov = false;
  if (o->optimizer.momentum >= 1) {
    fprintf(stderr, "infopro compile: --momentum must be below 1\n");
    return 2;
  }
  return ipro_cli_local_conflicts("compile", &o->local, false) ? 2 : -1;
}

/* ---- the folder's files ---- */

static ipro_status sha256_hex(const uint8_t *bytes, size_t size, char hex[65], ipro_error *err) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!EVP_Digest(bytes, size, digest, &length, EVP_sha256(), NULL) || length != 32)
    return ipro_error_set(err, "OpenSSL could not compute a SHA-256");
  for (unsigned int i = 0; i < length; i++)
    snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return IPRO_OK;
}

/* Runs argv[0] (found on PATH) and waits for it; its own messages go to stderr. */
static ipro_status run_tool(char *const argv[], ipro_error *err) {
  pid_t pid;
  int code = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
  if (code != 0) return ipro_error_set(err, "cannot run %s: %s", argv[0], strerror(code));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0)
    return ipro_error_set(err, "waiting for %s: %s", argv[0], strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return ipro_error_set(err, "%s failed (status %d)", argv[0],
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return IPRO_OK;
}

/* The whole kernel library for cpu (NULL: this machine's): one object from LLVM, linked by cc into
 * kernels.so. */
static ipro_status write_host_kernels(const char *directory, const char *cpu, ipro_error *err) {
  ipro_kernel_desc descs[IPRO_GENERATED_COUNT];
  ipro_kernel_library_describe_all(descs);
  void *object = NULL;
  size_t size = 0;
  if (ipro_kernel_emit_host_object(descs, IPRO_GENERATED_COUNT, cpu, &object, &size, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  char object_path[4200], library_path[4200];
  snprintf(object_path, sizeof object_path, "%s/kernels.o", directory);
  snprintf(library_path, sizeof library_path, "%s/%s", directory, IPRO_PRECOMPILED_HOST_FILE);
  ipro_status status = ipro_write_file_atomic(object_path, object, size, err);
  free(object);
  char *link[] = {"cc", "-shared", "-o", library_path, object_path, NULL};
  if (status == IPRO_OK && run_tool(link, err) != IPRO_OK)
    status = ipro_error_prefix(err, "linking the kernels (infopro compile needs a C compiler, "
                                    "cc, to link them)");
  unlink(object_path);
  return status;
}

static ipro_status write_ptx_kernels(const char *directory, ipro_error *err) {
  ipro_kernel_desc descs[IPRO_GENERATED_COUNT];
  ipro_kernel_library_describe_all(descs);
  char *ptx = NULL;
  size_t size = 0;
  if (ipro_kernel_emit_ptx(descs, IPRO_GENERATED_COUNT, &ptx, &size, err) != IPRO_OK)
    return IPRO_ERROR;
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", directory, IPRO_PRECOMPILED_PTX_FILE);
  ipro_status status = ipro_write_file_atomic(path, ptx, size, err);
  free(ptx);
  return status;
}

/* source copied to destination (atomically) with the given permissions. */
static ipro_status copy_file(const char *source, const char *destination, mode_t mode,
                             ipro_error *err) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_read_whole_file(source, "file", &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  ipro_status status = ipro_write_file_atomic(destination, bytes, size, err);
  free(bytes);
  if (status == IPRO_OK && chmod(destination, mode) != 0)
    status =
        ipro_error_set(err, "cannot set the permissions of %s: %s", destination, strerror(errno));
  return status;
}

/* The files of this build a program carries (its runner and plugins), found before anything is
 * written, so that a missing one leaves DIR as it was. */
typedef struct {
  char runner[4200], mpi_plugin[4200], cuda_plugin[4200];
} built_files;

static ipro_status find_built_files(ipro_device device, built_files *found, ipro_error *err) {
  found->cuda_plugin[0] = '\0';
  if (ipro_plugin_find(RUNNER_FILE, "IPRO_RUNNER", found->runner, sizeof found->runner, err) ||
      ipro_plugin_find(IPRO_PIPELINE_PLUGIN_FILE, "IPRO_MPI_PLUGIN", found->mpi_plugin,
                       sizeof found->mpi_plugin, err))
    return IPRO_ERROR;
  if (device == IPRO_DEVICE_CUDA)
    return ipro_plugin_find(CUDA_PLUGIN_FILE, "IPRO_CUDA_PLUGIN", found->cuda_plugin,
                            sizeof found->cuda_plugin, err);
  return IPRO_OK;
}

/* A file built beside infopro (the runner, a plugin) copied into the folder. */
static ipro_status copy_built_file(const char *source, const char *directory, const char *name,
                                   ipro_error *err) {
  char destination[4200];
  snprintf(destination, sizeof destination, "%s/%s", directory, name);
  return copy_file(source, destination, 0755, err);
}

/* A model with external data: its side files (the distinct "location" entries, relative to the
 * model's folder), which go beside the program, where the runner reads the model from (it
 * provides the model in memory as DIR/MODEL_NAME). */
typedef struct {
  char (*locations)[512];
  int count;
} side_files;

static ipro_status list_side_files(const char *model, side_files *files, ipro_error *err) {
  files->count = 0;
  files->locations = malloc(sizeof(char[512]) * IPRO_ONNX_MAX_SIDE_FILES);
  if (!files->locations) return ipro_error_set(err, "out of memory");
  return ipro_onnx_side_files(model, files->locations, IPRO_ONNX_MAX_SIDE_FILES, &files->count,
                              err);
}

/* Where side file i lies in `folder`, and that path's folder made. */
static ipro_status side_file_path(const side_files *files, int i, const char *folder, char *path,
                                  size_t size, ipro_error *err) {
  snprintf(path, size, "%s/%s", folder, files->locations[i]);
  char parent[4700];
  snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(path, '/') - path), path);
  return ipro_make_directories(parent, err);
}

/* The model's side files copied into the staging folder. */
static ipro_status stage_side_files(const char *model, const side_files *files, const char *stage,
                                    ipro_error *err) {
  const char *slash = strrchr(model, '/');
  ipro_status status = IPRO_OK;
  for (int i = 0; i < files->count && status == IPRO_OK; i++) {
    char source[4700], destination[4700];
    snprintf(source, sizeof source, "%.*s%s", slash ? (int)(slash - model + 1) : 0, model,
             files->locations[i]);
    status = side_file_path(files, i, stage, destination, sizeof destination, err);
    if (status == IPRO_OK) status = copy_file(source, destination, 0644, err);
  }
  return status;
}

/* A side file named like one of the program's own files (or the kernels' object file made in the
 * stage), or inside a folder of such a name, would be overwritten by it, or overwrite it, in the
 * staging folder: the program would then read its weights from the runner binary. Refused. */
static ipro_status check_side_file_names(const char *model, const side_files *files,
                                         ipro_error *err) {
  for (int i = 0; i < files->count; i++) {
    const char *location = files->locations[i];
    size_t first = strcspn(location, "/");
    for (int s = 0; s <= IPRO_PROGRAM_FOLDER_FILE_COUNT; s++) {
      const char *own =
          s < IPRO_PROGRAM_FOLDER_FILE_COUNT ? ipro_program_folder_files[s] : "kernels.o";
      if (strlen(own) == first && strncmp(location, own, first) == 0)
        return ipro_error_set(err,
                              "%s: its external data file '%s' has the name of one of the "
                              "compiled program's own files (%s); rename the file and its "
                              "\"location\" in the model, or re-save the model with `infopro "
                              "export --external-data`",
                              model, location, own);
    }
  }
  return IPRO_OK;
}

/* Moves what the staging folder holds into DIR, by renames only (everything was made in the
 * stage, the side files too): the earlier program file goes first, the new one comes last, so
 * that a failure in between leaves no program (the runner refuses the folder with one message)
 * rather than an old program beside new kernels or side files. */
static ipro_status commit_staged(const char *stage, const char *directory, const side_files *files,
                                 ipro_error *err) {
  char from[4700], to[4700];
  snprintf(to, sizeof to, "%s/%s", directory, IPRO_PROGRAM_FILE);
  if (unlink(to) != 0 && errno != ENOENT)
    return ipro_error_set(err, "%s: cannot remove the earlier program: %s", to, strerror(errno));
  for (int i = 0; i < files->count; i++) {
    snprintf(from, sizeof from, "%s/%s", stage, files->locations[i]);
    if (side_file_path(files, i, directory, to, sizeof to, err) != IPRO_OK) return IPRO_ERROR;
    if (rename(from, to) != 0)
      return ipro_error_set(err, "cannot move %s to %s: %s", from, to, strerror(errno));
  }
  for (int i = 0; i < IPRO_PROGRAM_FOLDER_FILE_COUNT; i++) {
    snprintf(from, sizeof from, "%s/%s", stage, ipro_program_folder_files[i]);
    snprintf(to, sizeof to, "%s/%s", directory, ipro_program_folder_files[i]);
    if (access(from, F_OK) == 0 && rename(from, to) != 0)
      return ipro_error_set(err, "cannot move %s to %s: %s", from, to, strerror(errno));
  }
  return IPRO_OK;
}

/* ---- the module programs ---- */

/* What the device the program trains on runs, as its backend will say at run time: CUDA runs no
 * fused ReLU kernels and carries no layouts; oneDNN runs them, and carries its blocked layouts
 * on a CPU with AVX-512 (this machine's, for kernels made for it or for x86-64-v4). */
static ipro_status target_traits(const compile_options *o, ipro_backend *traits, ipro_error *err) {
  *traits = (ipro_backend){.name = ipro_device_name(o->device)};
  if (o->device == IPRO_DEVICE_CUDA) return IPRO_OK;
  ipro_backend *cpu = NULL;
  if (ipro_backend_create_onednn(&cpu, err) != IPRO_OK) return IPRO_ERROR;
  traits->runs_fused_relu = cpu->runs_fused_relu;
  traits->carries_layouts = cpu->carries_layouts && (!o->cpu || strcmp(o->cpu, "x86-64-v4") == 0);
  cpu->destroy(cpu);
  return IPRO_OK;
}

/* Lowers the program's K module programs as its runner's trainer will run them, the cut tensors
 * and heads as chosen, into program->modules (program_module.h). */
static ipro_status lower_modules(const compile_options *o, ipro_program *program, ipro_error *err) {
  ipro_backend traits;
  if (target_traits(o, &traits, err) != IPRO_OK) return IPRO_ERROR;
  const char *cuts[IPRO_MAX_MODULES];
  for (int k = 0; k + 1 < program->local.K; k++)
    cuts[k] = program->cuts[k];
  ipro_trainer_options options = {.n_frozen = o->local.n_frozen,
                                  .frozen = o->local.frozen,
                                  .n_frozen_statistics = o->local.n_frozen_statistics,
                                  .frozen_statistics = o->local.frozen_statistics,
                                  .batch = program->batch,
                                  .optimizer = program->optimizer,
                                  .device = program->device,
                                  .n_cuts = program->local.K - 1,
                                  .cuts = cuts,
                                  .local = program->local};
  ipro_model_source *model = NULL;
  ipro_module_source source;
  /* the network as the runner will open it from the embedded model, whose weights the modules
   * then need not repeat */
  ipro_graph *network = NULL;
  ipro_status status = ipro_graph_open(o->model, program->batch, &network, err);
  if (status == IPRO_OK) ipro_cli_warn_folded_batch_norms(network, o->model);
  if (status == IPRO_OK) status = ipro_model_source_open(o->model, &options, &model, &source, err);
  ipro_byte_writer w = {0};
  for (int k = 0; status == IPRO_OK && k < source.K; k++) {
    ipro_graph *graph = NULL;
    ipro_training_graph training;
    status = source.build(source.context, k, k + 1 == source.K, &traits, &graph, &training, err);
    if (status != IPRO_OK) break;
    program->module_at[k] = w.size;
    ipro_program_module_put(&w, graph, &training, network);
    program->module_size[k] = w.size - program->module_at[k];
    ipro_graph_free(graph);
    ipro_training_graph_release(&training);
  }
  if (status == IPRO_OK) {
    program->image_bytes = source.image_bytes;
    program->local.fuse_relu &= traits.runs_fused_relu;
    program->local.copy_output &= traits.carries_layouts;
  }
  ipro_model_source_close(model);
  ipro_graph_free(network);
  if (status == IPRO_OK && w.failed) status = ipro_error_set(err, "out of memory lowering modules");
  if (status == IPRO_OK)
    program->modules = w.bytes;
  else
    free(w.bytes);
  return status;
}

/* ---- the command ---- */

static ipro_status compile(const compile_options *o, ipro_error *err) {
  ipro_program program = {.device = o->device, .batch = o->batch, .optimizer = o->optimizer};
  const char *slash = strrchr(o->model, '/');
  snprintf(program.model_name, sizeof program.model_name, "%s", slash ? slash + 1 : o->model);
  snprintf(program.compiler, sizeof program.compiler, "%s", ipro_cli_version());
  ipro_dataset data = {0};
  /* the program embeds the model, and its runner would train on those weights */
  ipro_status status = ipro_cli_check_finite_model(o->model, "compiled", err);
  if (status == IPRO_OK)
    status =
        ipro_cli_open_dataset(o->model, o->data, o->strict, false, IPRO_SPLIT_TRAIN, &data, err);
  if (status == IPRO_OK)
    status = ipro_cli_normalization_apply(&o->normalization, o->data, &data, err);
  /* `infopro train`'s early check of the data against the model, before anything is built: a
   * model that cannot take the images, or gives another number of logits than the data has
   * classes, would otherwise fail inside a head's loss at -K 2 or, end to end, compile a
   * program that could never train on this data */
  if (status == IPRO_OK) status = ipro_cli_evaluator_check(o->model, &data, err);
  /* the heads' settings as `infopro train` makes them for this data */
  ipro_local_settings *settings = &program.local;
  *settings = o->local.local;
  settings->batch = o->batch;
  settings->optimizer = o->optimizer.kind;
  settings->heads.image_channels = data.channels;
  for (int c = 0; c < data.channels && c < 4; c++) {
    settings->heads.mean[c] = data.mean[c];
    settings->heads.std[c] = data.std[c];
  }
  settings->heads.classes = data.num_classes;
  settings->heads.seed = 1;
  ipro_cli_training_split split;
  if (status == IPRO_OK)
    status =
        ipro_cli_split_for_training(o->model, &o->local, settings, o->device, false, &split, err);
  ipro_dataset_free(&data);
  if (status != IPRO_OK) return IPRO_ERROR;
  settings->K = split.K;
  settings->n_module_heads = split.K - 1;
  memcpy(settings->module_heads, split.heads, sizeof split.heads);
  memcpy(program.cuts, split.cut_names, sizeof program.cuts);
  program.planned_peak = split.planned_peak;
  program.e2e_peak = split.e2e_peak;
  memcpy(program.module_work, split.module_work, sizeof program.module_work);
  program.work_is_time = split.work_is_time;
  if (lower_modules(o, &program, err) != IPRO_OK) {
    ipro_program_release(&program);
    return IPRO_ERROR;
  }

  if (ipro_read_whole_file(o->model, "model", &program.model, &program.model_bytes, err) !=
      IPRO_OK) {
    ipro_program_release(&program);
    return IPRO_ERROR;
  }
  status = sha256_hex(program.model, program.model_bytes, program.model_sha256, err);
  if (status == IPRO_OK && o->cpu) {
    snprintf(program.cpu, sizeof program.cpu, "%s", o->cpu);
    snprintf(program.cpu_features, sizeof program.cpu_features, "%s",
             ipro_kernel_cpu_level_features(o->cpu));
  } else if (status == IPRO_OK) {
    status = ipro_kernel_describe_host(program.cpu, sizeof program.cpu, program.cpu_features,
                                       sizeof program.cpu_features, err);
  }
  /* Everything the folder will hold is found first, then made in a staging folder inside DIR;
   * only when all of it is made does it replace an earlier compile's files (commit_staged), so
   * that a compile that fails (a missing plugin, no C compiler, a full disk) leaves an earlier
   * program as it was. */
  built_files found;
  char path[4200], stage[4200] = "";
  ipro_program_path(o->directory, path, sizeof path);
  side_files files = {0};
  if (status == IPRO_OK) status = find_built_files(o->device, &found, err);
  if (status == IPRO_OK) status = list_side_files(o->model, &files, err);
  if (status == IPRO_OK) status = check_side_file_names(o->model, &files, err);
  if (status == IPRO_OK) status = ipro_make_directories(o->directory, err);
  int stage_lock = -1;
  if (status == IPRO_OK)
    status = ipro_program_stage_make(o->directory, stage, sizeof stage, &stage_lock, err);
  if (status == IPRO_OK) status = stage_side_files(o->model, &files, stage, err);
  if (status == IPRO_OK) status = write_host_kernels(stage, o->cpu, err);
  if (status == IPRO_OK && o->device == IPRO_DEVICE_CUDA) status = write_ptx_kernels(stage, err);
  /* what the runner checks the kernel files against before it loads them */
  char kernel_path[4300];
  snprintf(kernel_path, sizeof kernel_path, "%s/%s", stage, IPRO_PRECOMPILED_HOST_FILE);
  if (status == IPRO_OK)
    status = ipro_kernel_file_digest_read(kernel_path, &program.host_kernels, err);
  snprintf(kernel_path, sizeof kernel_path, "%s/%s", stage, IPRO_PRECOMPILED_PTX_FILE);
  if (status == IPRO_OK && o->device == IPRO_DEVICE_CUDA)
    status = ipro_kernel_file_digest_read(kernel_path, &program.ptx_kernels, err);
  if (status == IPRO_OK && o->device == IPRO_DEVICE_CUDA)
    status = copy_built_file(found.cuda_plugin, stage, CUDA_PLUGIN_FILE, err);
  if (status == IPRO_OK)
    status = copy_built_file(found.mpi_plugin, stage, IPRO_PIPELINE_PLUGIN_FILE, err);
  if (status == IPRO_OK) status = copy_built_file(found.runner, stage, "train", err);
  char staged_program[4300];
  snprintf(staged_program, sizeof staged_program, "%s/%s", stage, IPRO_PROGRAM_FILE);
  if (status == IPRO_OK) status = ipro_program_write(staged_program, &program, err);
  /* under the folder's exclusive lock: another compile's files never mix with these, and a
   * runner starting now reads the earlier program or this one, whole */
  int folder_lock = -1;
  if (status == IPRO_OK) status = ipro_program_folder_lock(o->directory, true, &folder_lock, err);
  if (status == IPRO_OK) status = commit_staged(stage, o->directory, &files, err);
  ipro_program_folder_unlock(folder_lock);
  if (stage[0]) ipro_program_stage_remove(stage, stage_lock);
  if (status == IPRO_OK) {
    char name[IPRO_PRINTABLE_MAX];
    printf("compiled %s (SHA-256 %.16s...) for batch %lld on %s, ",
           ipro_printable(program.model_name, name, sizeof name), program.model_sha256,
           (long long)program.batch, ipro_device_name(program.device));
    if (split.K == 1)
      printf("end to end");
    else
      printf("K = %d (planned peak %llu bytes, end-to-end %llu)", split.K,
             (unsigned long long)split.planned_peak, (unsigned long long)split.e2e_peak);
    printf("; kernels for a %s CPU\nwrote %s/train, %s, %s/%s, %s/" IPRO_PIPELINE_PLUGIN_FILE
           "%s\n",
           program.cpu, o->directory, path, o->directory, IPRO_PRECOMPILED_HOST_FILE, o->directory,
           o->device == IPRO_DEVICE_CUDA ? ", kernels.ptx and " CUDA_PLUGIN_FILE : "");
    for (int i = 0; i < files.count; i++) /* what the runner reads the model's weights from */
      printf("%s %s/%s%s", i ? "," : "and the model's external data:", o->directory,
             ipro_printable(files.locations[i], name, sizeof name),
             i + 1 == files.count ? "\n" : "");
  }
  free(files.locations);
  ipro_program_release(&program);
  return status;
}

int ipro_cli_compile(int argc, char **argv) {
  compile_options o;
  int parsed = parse(argc, argv, &o);
  if (parsed >= 0) return parsed;
  ipro_error err = {{0}};
  return compile(&o, &err) == IPRO_OK ? 0 : ipro_cli_fail(err.message);
}
