/* The MPI pipeline (pipeline.h) as a plugin: runtime/mpi/ is built into libinfopro_mpi.so
 * (CMakeLists.txt), which links Open MPI, and the programs that can train across processes
 * (infopro, and a compiled program's runner, DIR/train) load it with dlopen only when an MPI
 * launcher started them (runtime/mpi_plugin/pipeline_loader.c). So a process outside mpirun maps
 * no MPI library, and `ldd DIR/train` shows none. The plugin holds the pipeline's own code only:
 * the runtime functions it calls (the trainer, checkpoints, errors) are the program's, exported
 * by it (-Wl,--export-dynamic-symbol=ipro_*), so both sides work on one trainer with one copy of
 * its code. Its own functions are hidden, but for the entry that hands out this table. */
#ifndef IPRO_PIPELINE_PLUGIN_H
#define IPRO_PIPELINE_PLUGIN_H

#include "runtime/mpi/pipeline.h"

#define IPRO_PIPELINE_PLUGIN_FILE "libinfopro_mpi.so"
#define IPRO_PIPELINE_PLUGIN_ENTRY "ipro_pipeline_plugin_api"

/* pipeline.h's functions, but ipro_pipeline_launched (the loader's own: it reads the
 * launcher's environment). */
typedef struct {
  ipro_status (*open)(ipro_pipeline **out, ipro_error *err);
  int (*rank)(const ipro_pipeline *pipeline);
  int (*size)(const ipro_pipeline *pipeline);
  ipro_status (*arrange)(ipro_pipeline *pipeline, int K, const ipro_pipeline_stages *stages,
                         int64_t batch, ipro_error *err);
  int (*stage)(const ipro_pipeline *pipeline);
  int (*replicas)(const ipro_pipeline *pipeline);
  int (*replica)(const ipro_pipeline *pipeline);
  int (*first_failure)(ipro_pipeline *pipeline, bool ok);
  ipro_status (*broadcast)(ipro_pipeline *pipeline, void *data, size_t bytes, ipro_error *err);
  ipro_status (*attach)(ipro_pipeline *pipeline, ipro_trainer *trainer, size_t image_bytes,
                        size_t labels_bytes, ipro_error *err);
  ipro_status (*train)(ipro_pipeline *pipeline, int64_t steps, const ipro_pipeline_feed *feed,
                       ipro_error *err);
  ipro_status (*gather_state)(ipro_pipeline *pipeline, const ipro_training_position *position,
                              ipro_checkpoint *out, ipro_error *err);
  ipro_status (*restore)(ipro_trainer *trainer, const ipro_checkpoint *checkpoint, const char *path,
                         ipro_error *err);
  ipro_status (*gather_values)(ipro_pipeline *pipeline, const double *values,
                               const char *const *names, int count, double *all_values,
                               const char **all_names, char (*storage)[IPRO_PIPELINE_NAME_BYTES],
                               int *all_count, ipro_error *err);
  ipro_pipeline_timing (*timing_of)(const ipro_pipeline *pipeline);
  void (*abort)(ipro_pipeline *pipeline, int status);
  void (*detach)(ipro_pipeline *pipeline);
  void (*close)(ipro_pipeline *pipeline);
} ipro_pipeline_api;

typedef const ipro_pipeline_api *(*ipro_pipeline_plugin_fn)(void);
/* The plugin's entry (named IPRO_PIPELINE_PLUGIN_ENTRY). */
const ipro_pipeline_api *ipro_pipeline_plugin_api(void);

#endif
