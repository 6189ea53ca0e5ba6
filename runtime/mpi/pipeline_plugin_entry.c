/* The MPI pipeline plugin's one exported symbol (pipeline_plugin.h). */
#include "pipeline_plugin.h"

__attribute__((visibility("default"))) const ipro_pipeline_api *ipro_pipeline_plugin_api(void) {
  static const ipro_pipeline_api api = {.open = ipro_pipeline_open,
                                        .rank = ipro_pipeline_rank,
                                        .size = ipro_pipeline_size,
                                        .arrange = ipro_pipeline_arrange,
                                        .stage = ipro_pipeline_stage,
                                        .replicas = ipro_pipeline_replicas,
                                        .replica = ipro_pipeline_replica,
                                        .first_failure = ipro_pipeline_first_failure,
                                        .broadcast = ipro_pipeline_broadcast,
                                        .attach = ipro_pipeline_attach,
                                        .train = ipro_pipeline_train,
                                        .gather_state = ipro_pipeline_gather_state,
                                        .restore = ipro_pipeline_restore,
                                        .gather_values = ipro_pipeline_gather_values,
                                        .timing_of = ipro_pipeline_timing_of,
                                        .abort = ipro_pipeline_abort,
                                        .detach = ipro_pipeline_detach,
                                        .close = ipro_pipeline_close};
  return &api;
}
