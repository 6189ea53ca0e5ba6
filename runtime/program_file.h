/* A compiled training program (`infopro compile`): everything DIR/train needs to train exactly
 * one model, split and batch without the model file, the partitioner's search or LLVM. The file
 * DIR/program.ipro is a framed file (framed_file.h; byte layout: schemas/program.md) holding
 *   - what it was compiled from: the model's file name and SHA-256, the infopro that compiled
 *     it (from version 4), the device, the host CPU and its features the kernels were made for,
 *     and the kernel files' sizes and CRC-32s (from version 5);
 *   - the training settings that shape the programs: batch, optimizer and its constants, the
 *     local-training settings (heads, losses, λ), K and the cut tensors with each local module's
 *     head, and the plan's figures (planned and end-to-end peak bytes);
 *   - the dataset shape it was compiled for (image channels, classes);
 *   - each module's work per step (FLOPs, or measured time), for grouping modules into stages;
 *   - each module's training program, lowered (program_module.h): the runner's trainer is built
 *     from these (program_source.h), with no ONNX import, heads or autodiff;
 *   - the ONNX model itself, which the runner provides in memory (frontend/model_in_memory.h) for
 *     the test pass and the trained model it writes.
 * The kernels made ahead of time lie beside it (DIR/kernels.so for the CPU, DIR/kernels.ptx for
 * CUDA; runtime/precompiled_kernels.h).
 *
 * Reading checks the frame (magic, version, size, CRC-32) and every field's range before
 * anything is used; each failure is one message naming the file. */
#ifndef IPRO_PROGRAM_FILE_H
#define IPRO_PROGRAM_FILE_H

#include <stdint.h>

#include "ir/local_settings.h"
#include "runtime/backend.h"
#include "runtime/precompiled_kernels.h"
#include "runtime/trainer.h"

#define IPRO_PROGRAM_FILE "program.ipro"
#define IPRO_PROGRAM_VERSION 5
/* the oldest version read: version 2 lacks the modules' work (read as unknown), versions 2 and 3
 * the compiler's name (read as empty), versions 2 to 4 the kernel files' digests (read as not
 * recorded: not checked) */
#define IPRO_PROGRAM_OLDEST_VERSION 2
#define IPRO_PROGRAM_NAME_BYTES 512
#define IPRO_PROGRAM_COMPILER_BYTES 128

typedef struct {
  char model_name[IPRO_PROGRAM_NAME_BYTES]; /* the model file's name, without its folder */
  char model_sha256[65];                    /* hex */
  /* the infopro that compiled it, as `infopro --version` names itself ("0.29.0 (git 4704f05abcde,
   * Release)"); empty where not recorded (versions 2 and 3) */
  char compiler[IPRO_PROGRAM_COMPILER_BYTES];
  ipro_device device;
  char cpu[64], cpu_features[4096]; /* the host the CPU kernels were made for */
  /* kernels.so and kernels.ptx as compile made them (from version 5; bytes 0: not recorded, and
   * for kernels.ptx none, a CPU program); the runner refuses files that differ */
  ipro_kernel_file_digest host_kernels, ptx_kernels;
  int64_t batch;
  ipro_optimizer_settings optimizer;
  ipro_local_settings local; /* K, heads (λ, losses, chosen head per module), classes, channels */
  char cuts[IPRO_MAX_MODULES][IPRO_PROGRAM_NAME_BYTES]; /* K-1 tensor names */
  uint64_t planned_peak, e2e_peak;
  /* The K module programs, lowered (program_module.h) for a backend that runs the fused ReLUs
   * or not (local.fuse_relu) and carries layouts or not (local.copy_output), one after another
   * in `modules`: module k's encoding is module_size[k] bytes at module_at[k]. */
  size_t image_bytes; /* one batch of the network's input images */
  /* What each module's training step costs, by which an MPI pipeline of fewer processes than
   * modules groups them into stages: the plan's measured step time in nanoseconds (work_is_time:
   * a --plan made with --calibrate) or its FLOPs per step; all 0 where unknown (version 2). */
  uint64_t module_work[IPRO_MAX_MODULES];
  bool work_is_time;
  uint8_t *modules;
  size_t module_at[IPRO_MAX_MODULES], module_size[IPRO_MAX_MODULES];
  uint8_t *model; /* the ONNX file's bytes: the test pass and the trained model are made from it */
  size_t model_bytes;
} ipro_program;

/* DIR/program.ipro into path. */
void ipro_program_path(const char *directory, char *path, size_t size);

/* The files `infopro compile` writes into DIR beside the model's side files, the program file
 * last (compile makes them in a staging folder in this order): the runner, its plugins, the
 * kernels and program.ipro. A name of the model's side files must not be one of them (compile
 * refuses it), nor may the runner write an output over one (it runs from them). */
extern const char *const ipro_program_folder_files[];
#define IPRO_PROGRAM_FOLDER_FILE_COUNT 6

ipro_status ipro_program_encode(const ipro_program *program, uint8_t **bytes, size_t *size,
                                ipro_error *err);
ipro_status ipro_program_decode(const uint8_t *bytes, size_t size, const char *path,
                                ipro_program *out, ipro_error *err);
/* Atomic write (a temporary renamed over path) and whole-file read. */
ipro_status ipro_program_write(const char *path, const ipro_program *program, ipro_error *err);
ipro_status ipro_program_read(const char *path, ipro_program *out, ipro_error *err);
void ipro_program_release(ipro_program *program);

#endif
