/* Stochastic depth in inference form. Exporters write stochastic depth (torchvision's EfficientNet,
 * timm's drop_path) as noise = Div(Cast(Less(RandomUniformLike(·), p)), p) multiplied into a
 * residual branch: a keep mask scaled by 1/p, whose mean is 1. In inference the branch is kept
 * whole, so the mask is 1: the Div's numerator is pointed at its denominator, Div(p, p) = 1, and
 * the random nodes are left unread. The same rewrite serves the graph
 * (ipro_graph_set_inference_mode) and the exported ONNX file (onnx_inference_form.c). */
#ifndef IPRO_STOCHASTIC_DEPTH_H
#define IPRO_STOCHASTIC_DEPTH_H

#include "ir/graph.h"

/* Rewrites every such Div of graph (normalised, before or after shape inference) whose Less
 * compares noise of [0, 1) with the same constant p in (0, 1] that the Div divides by. */
void ipro_stochastic_depth_to_inference(ipro_graph *graph);

#endif
