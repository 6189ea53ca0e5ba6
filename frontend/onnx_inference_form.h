/* A trained model's ONNX graph rewritten into inference form, for `infopro export --inference`
 * and `infopro train --out-inference`: BatchNormalization nodes in inference mode (on the running
 * statistics the initializers hold), their running-statistic outputs dropped, Dropout's
 * training_mode input and mask output dropped (Dropout is then the identity), an exporter's
 * stochastic depth keeping every branch, and graph outputs that only training produces removed. The
 * same change ipro_graph_set_inference_mode makes to the IR before `infopro run`, made here to the
 * file. Internal to the frontend (protobuf-c types). */
#ifndef IPRO_ONNX_INFERENCE_FORM_H
#define IPRO_ONNX_INFERENCE_FORM_H

#include "onnx_decode.h"
#include "proto_edits.h"

/* Edits graph in place (undone through log); *changed counts the nodes rewritten. */
ipro_status ipro_onnx_inference_form(Onnx__GraphProto *graph, ipro_proto_edits *log, int *changed,
                                     ipro_error *err);
/* Part of it: an exporter's stochastic depth with every branch kept (onnx_stochastic_depth.c,
 * the IR's twin in stochastic_depth.h); *changed grows by the Div nodes rewritten. */
ipro_status ipro_onnx_stochastic_depth_to_inference(Onnx__GraphProto *graph, ipro_proto_edits *log,
                                                    int *changed, ipro_error *err);

#endif
