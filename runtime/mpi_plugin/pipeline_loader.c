/* pipeline.h for the programs that train across processes (infopro and a compiled program's
 * runner): every function goes to the MPI pipeline plugin (runtime/mpi/pipeline_plugin.h), which
 * ipro_pipeline_open loads the first time. Outside an MPI launcher nothing loads it, and with no
 * pipeline opened the queries answer as for the one process there is. */
#include <pthread.h>
#include <stdlib.h>

#include "ir/plugin_library.h"
#include "runtime/mpi/pipeline_plugin.h"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const ipro_pipeline_api *api;
static ipro_error load_error;

static void load_plugin(void) {
  void *address = NULL;
  if (ipro_plugin_load(IPRO_PIPELINE_PLUGIN_FILE, "IPRO_MPI_PLUGIN", IPRO_PIPELINE_PLUGIN_ENTRY,
                       &address, &load_error) != IPRO_OK) {
    ipro_error_prefix(&load_error, "training across processes (the MPI pipeline, with Open MPI's "
                                   "library on the library path)");
    return;
  }
  /* dlsym hands out an object pointer; the entry is a function (POSIX guarantees the trip). */
  union {
    void *address;
    ipro_pipeline_plugin_fn function;
  } entry = {.address = address};
  api = entry.function();
}

bool ipro_pipeline_launched(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

int ipro_pipeline_launched_rank(void) {
  static const char *const names[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *value = getenv(names[i]);
    if (value && *value) return atoi(value);
  }
  return -1;
}

bool ipro_pipeline_plugin_missing(void) {
  pthread_once(&load_once, load_plugin);
  return api == NULL;
}

ipro_status ipro_pipeline_open(ipro_pipeline **out, ipro_error *err) {
  *out = NULL;
  pthread_once(&load_once, load_plugin);
  if (!api) {
    if (err) *err = load_error;
    return IPRO_ERROR;
  }
  return api->open(out, err);
}

/* A pipeline exists only once the plugin gave it, so api is set wherever one is passed; without
 * one, the calls that need one say so (none is made so by cli/train.c, which checks first). */
static ipro_status no_pipeline(ipro_error *err) {
  return ipro_error_set(err, "no MPI pipeline was opened");
}

int ipro_pipeline_rank(const ipro_pipeline *p) { return p ? api->rank(p) : 0; }
int ipro_pipeline_size(const ipro_pipeline *p) { return p ? api->size(p) : 1; }
ipro_status ipro_pipeline_arrange(ipro_pipeline *p, int K, const ipro_pipeline_stages *stages,
                                  int64_t batch, ipro_error *err) {
  return p ? api->arrange(p, K, stages, batch, err) : no_pipeline(err);
}
int ipro_pipeline_stage(const ipro_pipeline *p) { return p ? api->stage(p) : 0; }
int ipro_pipeline_replicas(const ipro_pipeline *p) { return p ? api->replicas(p) : 1; }
int ipro_pipeline_replica(const ipro_pipeline *p) { return p ? api->replica(p) : 0; }
int ipro_pipeline_first_failure(ipro_pipeline *p, bool ok) {
  return p ? api->first_failure(p, ok) : ok ? -1 : 0;
}
ipro_status ipro_pipeline_broadcast(ipro_pipeline *p, void *data, size_t bytes, ipro_error *err) {
  return p ? api->broadcast(p, data, bytes, err) : no_pipeline(err);
}
ipro_status ipro_pipeline_attach(ipro_pipeline *p, ipro_trainer *trainer, size_t image_bytes,
                                 size_t labels_bytes, ipro_error *err) {
  return p ? api->attach(p, trainer, image_bytes, labels_bytes, err) : no_pipeline(err);
}
ipro_status ipro_pipeline_train(ipro_pipeline *p, int64_t steps, const ipro_pipeline_feed *feed,
                                ipro_error *err) {
  return p ? api->train(p, steps, feed, err) : no_pipeline(err);
}
ipro_status ipro_pipeline_gather_state(ipro_pipeline *p, const ipro_training_position *position,
                                       ipro_checkpoint *out, ipro_error *err) {
  return p ? api->gather_state(p, position, out, err) : no_pipeline(err);
}
ipro_status ipro_pipeline_restore(ipro_trainer *trainer, const ipro_checkpoint *checkpoint,
                                  const char *path, ipro_error *err) {
  pthread_once(&load_once, load_plugin);
  if (!api) {
    if (err) *err = load_error;
    return IPRO_ERROR;
  }
  return api->restore(trainer, checkpoint, path, err);
}
ipro_status ipro_pipeline_gather_values(ipro_pipeline *p, const double *values,
                                        const char *const *names, int count, double *all_values,
                                        const char **all_names,
                                        char (*storage)[IPRO_PIPELINE_NAME_BYTES], int *all_count,
                                        ipro_error *err) {
  return p ? api->gather_values(p, values, names, count, all_values, all_names, storage, all_count,
                                err)
           : no_pipeline(err);
}
ipro_pipeline_timing ipro_pipeline_timing_of(const ipro_pipeline *p) {
  return p ? api->timing_of(p) : (ipro_pipeline_timing){0};
}
void ipro_pipeline_abort(ipro_pipeline *p, int status) {
  if (p) api->abort(p, status);
  exit(status); /* one process: nothing else to stop */
}
void ipro_pipeline_detach(ipro_pipeline *p) {
  if (p) api->detach(p);
}
void ipro_pipeline_close(ipro_pipeline *p) {
  if (p) api->close(p);
}
