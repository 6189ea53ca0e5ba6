/* runtime/mpi/pipeline.h for a process that carries no MPI: a compiled training program's runner
 * (DIR/train), whose run-time dependencies are the runtime's own (`infopro compile`). It trains
 * in one process; started by an MPI launcher it says so and stops, since its ranks could not
 * talk. No pipeline is ever opened, so the other functions are never reached with one. */
#include <stdlib.h>

#include "runtime/mpi/pipeline.h"

bool ipro_pipeline_launched(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

ipro_status ipro_pipeline_open(ipro_pipeline **out, ipro_error *err) {
  *out = NULL;
  return ipro_error_set(err, "a compiled training program trains in one process; train across "
                             "processes with `mpirun -np K infopro train MODEL.onnx --plan ...`");
}

static ipro_status no_pipeline(ipro_error *err) {
  return ipro_error_set(err, "this program was built without MPI");
}

int ipro_pipeline_rank(const ipro_pipeline *pipeline) { return pipeline ? -1 : 0; }
int ipro_pipeline_size(const ipro_pipeline *pipeline) { return pipeline ? -1 : 1; }
ipro_status ipro_pipeline_arrange(ipro_pipeline *pipeline, int K, int64_t batch, ipro_error *err) {
  (void)pipeline, (void)K, (void)batch;
  return no_pipeline(err);
}
int ipro_pipeline_module(const ipro_pipeline *pipeline) { return pipeline ? -1 : 0; }
int ipro_pipeline_replicas(const ipro_pipeline *pipeline) { return pipeline ? -1 : 1; }
void ipro_pipeline_detach(ipro_pipeline *pipeline) { (void)pipeline; }
int ipro_pipeline_first_failure(ipro_pipeline *pipeline, bool ok) {
  (void)pipeline;
  return ok ? -1 : 0;
}
ipro_status ipro_pipeline_attach(ipro_pipeline *pipeline, ipro_trainer *trainer, size_t image_bytes,
                                 size_t labels_bytes, ipro_error *err) {
  (void)pipeline, (void)trainer, (void)image_bytes, (void)labels_bytes;
  return no_pipeline(err);
}
ipro_status ipro_pipeline_train(ipro_pipeline *pipeline, int64_t steps,
                                const ipro_pipeline_feed *feed, ipro_error *err) {
  (void)pipeline, (void)steps, (void)feed;
  return no_pipeline(err);
}
ipro_status ipro_pipeline_gather_state(ipro_pipeline *pipeline,
                                       const ipro_training_position *position, ipro_checkpoint *out,
                                       ipro_error *err) {
  (void)pipeline, (void)position, (void)out;
  return no_pipeline(err);
}
ipro_status ipro_pipeline_restore(ipro_trainer *trainer, const ipro_checkpoint *checkpoint,
                                  const char *path, ipro_error *err) {
  (void)trainer, (void)checkpoint, (void)path;
  return no_pipeline(err);
}
ipro_status ipro_pipeline_gather_values(ipro_pipeline *pipeline, const double *values,
                                        const char *const *names, int count, double *all_values,
                                        const char **all_names,
                                        char (*storage)[IPRO_PIPELINE_NAME_BYTES], int *all_count,
                                        ipro_error *err) {
  (void)pipeline, (void)values, (void)names, (void)count, (void)all_values, (void)all_names,
      (void)storage;
  *all_count = 0;
  return no_pipeline(err);
}
ipro_pipeline_timing ipro_pipeline_timing_of(const ipro_pipeline *pipeline) {
  (void)pipeline;
  return (ipro_pipeline_timing){0};
}
void ipro_pipeline_abort(ipro_pipeline *pipeline, int status) {
  (void)pipeline;
  exit(status);
}
void ipro_pipeline_close(ipro_pipeline *pipeline) { (void)pipeline; }
