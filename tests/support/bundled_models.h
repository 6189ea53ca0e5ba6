/* The bundled models (models/NAME.onnx) as test inputs: a walk over them, and the local-training
 * settings the tests give them. */
#ifndef IPRO_TEST_BUNDLED_MODELS_H
#define IPRO_TEST_BUNDLED_MODELS_H

#include <stdint.h>

#include "frontend/graph.h"
#include "partitioner/module_program.h"

typedef void (*ipro_test_model_visit)(const char *path, const char *name, void *context);

/* Calls visit for every models/NAME.onnx whose NAME contains filter (NULL: every model), with
 * the file's path and NAME; returns how many it visited. A models folder that cannot be opened
 * is a failed check. */
int ipro_test_for_each_model(const char *filter, ipro_test_model_visit visit, void *context);

/* Local training at this batch with the default heads, sized for the network's input channels
 * and output classes, the input normalised with mean 0.5 and std 0.25 per channel. */
ipro_local_settings ipro_test_local_settings(const ipro_graph *network, int64_t batch);

#endif
