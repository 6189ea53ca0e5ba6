/* The bundled models (models/NAME.onnx) as test inputs: a walk over them, and the local-training
 * settings the tests give them. */
#ifndef IPRO_TEST_BUNDLED_MODELS_H
#define IPRO_TEST_BUNDLED_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"
#include "partitioner/module_program.h"
#include "runtime/module_costing.h"

typedef void (*ipro_test_model_visit)(const char *path, const char *name, void *context);

/* Calls visit for every models/NAME.onnx whose NAME contains filter (NULL: every model), with
 * the file's path and NAME; returns how many it visited. A models folder that cannot be opened
 * is a failed check. */
int ipro_test_for_each_model(const char *filter, ipro_test_model_visit visit, void *context);

/* How many BatchNormalization nodes models/NAME.onnx has as loaded; -1 after a failed check. */
int ipro_test_batch_norm_nodes(const char *name);

/* The start of the warning `infopro` prints for models/cnn_dynamo_fmnist.onnx, whose exporter
 * folded away as many BatchNormalizations as cnn_dynamo_bn_fmnist (the same network exported
 * with optimize=False) has, written into text (room for size). */
void ipro_test_folded_warning(char *text, size_t size);

/* The model at path in inference form (normalised, BatchNormalization and Dropout as inference
 * runs them) with its shapes inferred at this batch; NULL after a failed check. */
ipro_graph *ipro_test_open_inference_graph(const char *path, int64_t batch);

/* Local training at this batch with the default heads, sized for the network's input channels
 * and output classes, the input normalised with mean 0.5 and std 0.25 per channel. */
ipro_local_settings ipro_test_local_settings(const ipro_graph *network, int64_t batch);

/* models/NAME.onnx's end-to-end (K = 1) training program at this batch with the settings above,
 * BatchNormalization and Add fused with their ReLUs or not (codegen/fusion.h); NULL after a
 * failed check. */
ipro_graph *ipro_test_training_program(const char *name, int64_t batch, bool fuse_relu);

/* (below) */
typedef struct ipro_test_costed_model ipro_test_costed_model;
/* The model at path opened at batch, with its cut points (costing left NULL); false, nothing
 * held, after a failed check. Release with ipro_test_costed_model_free. */
bool ipro_test_open_model(const char *path, int64_t batch, ipro_test_costed_model *out);

/* A bundled model opened at a batch with its cut points and their memory costing (the settings
 * above): what the split searches are tested on. */
struct ipro_test_costed_model {
  ipro_graph *network;
  int *cut_points;
  int n_cuts;
  ipro_module_costing *costing;
};

/* false (nothing held) when the model has fewer than min_cuts or more than max_cuts cut points,
 * or when opening or costing it fails (a failed check). */
bool ipro_test_cost_model(const char *path, int64_t batch, int min_cuts, int max_cuts,
                          ipro_test_costed_model *out);
void ipro_test_costed_model_free(ipro_test_costed_model *model);

#endif
