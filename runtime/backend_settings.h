/* What a module's training program is built with on a given backend: the ReLU fusions and the
 * handed-on copy (partitioner/module_program.h) only where the backend runs them. The trainer,
 * the costing and the calibration all adapt their settings through this one function, so that
 * a plan costs the programs the trainer then builds. */
#ifndef IPRO_BACKEND_SETTINGS_H
#define IPRO_BACKEND_SETTINGS_H

#include "ir/local_settings.h"
#include "runtime/backend.h"

static inline void ipro_local_settings_for_backend(ipro_local_settings *settings,
                                                   const ipro_backend *backend) {
  settings->fuse_relu &= backend->runs_fused_relu;
  settings->copy_output &= backend->carries_layouts;
}

#endif
