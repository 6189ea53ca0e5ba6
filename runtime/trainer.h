/* One training step of a network, compiled once and run for every batch: end-to-end (one module),
 * or InfoPro local training with the network cut into K gradient-isolated modules, each with its
 * own training program (partitioner/module_program.h) on its own executor (oneDNN with reference
 * fallback, the reference kernels alone, or CUDA). The modules run one after another in ONE shared
 * block of memory: module k reads the activation module k-1 left at one end of the block, keeps
 * its arena in the middle and leaves its own output at the other end (a device-to-device copy of
 * its output, bound with ipro_executor_bind_output), so the block needs only
 * the largest module's (input + arena + output). Everything the trainer holds is allocated
 * through the backend and counted:
 *
 *   allocated = image batch + labels + Σ_k (parameters + training state of module k) + block
 *
 * which is exactly the planned peak (ipro_trainer_planned_bytes). The trainer owns its graphs,
 * so trained values can be read back by tensor name (checkpoints, export into the ONNX file). */
#ifndef IPRO_TRAINER_H
#define IPRO_TRAINER_H

#include <stdbool.h>

#include "ir/local_settings.h"
#include "ir/training_program.h"
#include "runtime/executor.h"
#include "runtime/split_record.h"

typedef struct {
  ipro_optimizer_kind kind;
  float momentum, weight_decay; /* SGD: PyTorch semantics, no dampening */
  bool nesterov;
  float beta1, beta2, epsilon; /* AdamW */
} ipro_optimizer_settings;

/* The paper's recipe: SGD, momentum 0.9, Nesterov, weight decay 1e-4. */
ipro_optimizer_settings ipro_optimizer_defaults(ipro_optimizer_kind kind);

typedef struct ipro_trainer ipro_trainer;

typedef struct {
  int64_t batch;
  ipro_optimizer_settings optimizer;
  bool reference;     /* run the reference kernels only */
  ipro_device device; /* CPU (default) or CUDA */
  /* Local training: the names of the K-1 cut tensors, in topological order (cut points of the
   * network); n_cuts == 0 trains end to end. local: heads, λ and seed (local.K is set here). */
  int n_cuts;
  const char *const *cuts;
  ipro_local_settings local;
  /* --freeze: the parameters these patterns name are not trained (codegen/frozen_parameters.h);
   * n_frozen 0 trains them all. The model source's business, like the cuts. */
  int n_frozen;
  const char *const *frozen;
  /* --freeze-statistics: these patterns' BatchNormalizations stay in inference form */
  int n_frozen_statistics;
  const char *const *frozen_statistics;
  /* A pipeline stage (runtime/mpi/pipeline.h): hold and train only modules first_module ..
   * first_module + module_count - 1 (0-based) of the K; module_count 0 holds all K. A stage that
   * does not start at module 1 reads its input activation, and one that does not end at module
   * K leaves its output, in memory bound with ipro_trainer_bind_handoff. The others are built
   * and planned too, not kept: their sizes set the room each held module's arena may take, as
   * in one process holding all K (trainer.c, build_modules), so the kernels are the same. */
  int first_module, module_count;
  /* Called once while the trainer is created, when every module's program is built (the model
   * read and its kernels compiled) and before the first of its blocks is allocated, so that the
   * caller's memory probe can tell that transient from the trainer's own peak (cli/train.c).
   * NULL: not called. */
  void (*programs_built)(void *context);
  void *programs_built_context;
} ipro_trainer_options;

/* Where a trainer's module programs come from: the partitioner, building them from a model file
 * (ipro_trainer_create, model_source.h), or a compiled program's file, which holds them
 * built (program_source.h). */
typedef struct {
  int K;              /* modules of the plan */
  size_t image_bytes; /* one batch of the network's input images */
  const char *name;   /* where the programs come from, for messages (the model file) */
  void *context;
  /* Module `module`'s (0-based) training program, for backend; the trainer then owns graph and
   * training. last: no module after this one will be asked for, so what only served to build
   * them may go. */
  ipro_status (*build)(void *context, int module, bool last, const ipro_backend *backend,
                       ipro_graph **graph, ipro_training_graph *training, ipro_error *err);
} ipro_module_source;

/* The trainer of source's programs. options' cuts and local settings are the model source's
 * business; the trainer reads its batch, optimizer, device and pipeline stage. */
ipro_status ipro_trainer_create_from(const ipro_module_source *source,
                                     const ipro_trainer_options *options, ipro_trainer **out,
                                     ipro_error *err);
/* The trainer of the float32 network in model_path with one input, cut at options' cuts: its
 * module programs built by the partitioner (partitioner/module_program.h) for the backend. */
ipro_status ipro_trainer_create(const char *model_path, const ipro_trainer_options *options,
                                ipro_trainer **out, ipro_error *err);
/* Copies images [batch, C, H, W] (normalised float) and labels [batch] into the trainer's image
 * and label blocks, after which the caller may reuse its buffers while the step runs (the batch
 * loader prepares the next batch in them). */
ipro_status ipro_trainer_take_batch(ipro_trainer *trainer, const float *images,
                                    const int64_t *labels, ipro_error *err);
/* One step on images and labels (taken as ipro_trainer_take_batch does), or with images NULL on
 * the batch last taken; *loss is the mean cross-entropy of the network's output (the last
 * module) on the batch, before the update. */
ipro_status ipro_trainer_step(ipro_trainer *trainer, const float *images, const int64_t *labels,
                              float learning_rate, float *loss, ipro_error *err);
/* Steps already taken, for resuming from a checkpoint: AdamW's bias correction counts from it,
 * and the executor's step (Dropout masks) is set to it. */
/* The trainer's split as a checkpoint records it (K, cuts, heads' settings, each local module's
 * heads); out->K is 0 where it cannot be recorded. */
void ipro_trainer_split(const ipro_trainer *trainer, ipro_split_record *out);
void ipro_trainer_set_steps(ipro_trainer *trainer, uint64_t steps);
uint64_t ipro_trainer_steps(const ipro_trainer *trainer);
/* Every loss of the last step, module by module (local losses, then the last module's
 * cross-entropy), with a name for each ("module 1 reconstruction", ...); returns the count. */
int ipro_trainer_losses(const ipro_trainer *trainer, float *values, const char **names, int max);
/* A pipeline stage's handoff: where its first module reads the activation it receives and where
 * its last module leaves the one it sends on (NULL where the stage has none), and their sizes;
 * rebound before every step for double buffering. */
void ipro_trainer_bind_handoff(ipro_trainer *trainer, void *input, void *output);
size_t ipro_trainer_handoff_input_bytes(const ipro_trainer *trainer);
size_t ipro_trainer_handoff_output_bytes(const ipro_trainer *trainer);
/* The layouts those activations lie in (the backend's code, backend.h; 0 plain): the stages
 * agree on them as one trainer's modules do (trainer.c, create_executor). */
uint8_t ipro_trainer_handoff_input_layout(const ipro_trainer *trainer);
uint8_t ipro_trainer_handoff_output_layout(const ipro_trainer *trainer);
/* The modules this trainer holds (all K, or a pipeline stage's): their training graphs (tensor
 * names as in the model file; heads prefixed "infopro<k>/"), bookkeeping and executors. */
int ipro_trainer_module_count(const ipro_trainer *trainer);
const ipro_graph *ipro_trainer_module_graph(const ipro_trainer *trainer, int module);
const ipro_training_graph *ipro_trainer_module_training(const ipro_trainer *trainer, int module);
ipro_executor *ipro_trainer_module_executor(ipro_trainer *trainer, int module);
/* The backend the trainer's modules run on (the device their memory lives on). */
ipro_backend *ipro_trainer_backend(ipro_trainer *trainer);
/* Bytes the backend allocated for this trainer, and the bytes the plan says it needs: the same
 * formula (header comment) from the programs, before any allocation. */
size_t ipro_trainer_allocated_bytes(const ipro_trainer *trainer);
size_t ipro_trainer_planned_bytes(const ipro_trainer *trainer);
/* Device memory measured without the plan or the backend's counters: the most the driver
 * reported in use (cudaMemGetInfo) after the trainer was created and after each step, over its
 * figure when the trainer's backend had just been created. 0 on host memory (no such measure). */
uint64_t ipro_trainer_device_growth(const ipro_trainer *trainer);
/* The shared block: the largest module's input + arena + output. */
size_t ipro_trainer_block_bytes(const ipro_trainer *trainer);
/* The block itself (device memory, 64-byte aligned): nothing in it outlives a step, so other
 * work between steps (the test pass) may use it. */
void *ipro_trainer_block(ipro_trainer *trainer);
/* Reads a tensor living outside the arena (parameter, running statistic, gradient, moment) by
 * name into host memory of its size. */
ipro_status ipro_trainer_read(ipro_trainer *trainer, const char *name, void *host, size_t bytes,
                              ipro_error *err);
ipro_status ipro_trainer_write(ipro_trainer *trainer, const char *name, const void *host,
                               size_t bytes, ipro_error *err);
/* Reads bytes [offset, offset + bytes) of such a tensor (ipro_executor_read_tensor_part). */
ipro_status ipro_trainer_read_part(ipro_trainer *trainer, const char *name, size_t offset,
                                   void *host, size_t bytes, ipro_error *err);
/* Where such a tensor lives (device memory of `bytes`), for a test pass that reads it in place;
 * its contents change with every step. */
ipro_status ipro_trainer_tensor_memory(ipro_trainer *trainer, const char *name, size_t bytes,
                                       const void **device, ipro_error *err);
/* Gives back to the backend what only steps use, the shared block and every module's training
 * state (gradients, optimizer moments), for the work after the last step (writing the trained
 * model), which then is not added on top of them. The parameters and statistics stay readable
 * and writable; a step, or a transfer of training state, is then refused with a message. */
void ipro_trainer_release_step_memory(ipro_trainer *trainer);
void ipro_trainer_free(ipro_trainer *trainer);

#endif
