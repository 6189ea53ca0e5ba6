/* Op rows of BatchNormalization and Dropout, the two ops whose behaviour depends on a training
 * mode. Normalisation makes that mode an attribute for every opset (before opset 14 BN is in
 * training form when it has more than one output; Dropout's ratio and training_mode inputs
 * become attributes), and the backward's extra state (BN batch statistics, the dropout mask) is
 * counted here. */
#include "op_helpers.h"
#include "op_rows.h"

static const char *const batch_normalization_attributes[] = {"epsilon:f", "momentum:f",
                                                             "training_mode:i", "spatial:i", NULL};
static const char *const dropout_attributes[] = {"ratio:f", "seed:i", NULL};

static int present_outputs(const ipro_node *node) {
  int count = 0;
  for (int i = 0; i < node->n_outputs; i++)
    count += node->outputs[i] >= 0;
  return count;
}

ipro_status ipro_batch_normalization_normalize(ipro_graph *graph, ipro_node *node,
                                               ipro_error *err) {
  if (ipro_op_check_attributes(node, batch_normalization_attributes, err) != IPRO_OK)
    return IPRO_ERROR;
  if (ipro_node_attr_int(node, "spatial", 1) != 1)
    return ipro_op_fail(err, node, "spatial=0 (per-activation statistics) is not supported");
  ipro_node_remove_attr(node, "spatial");
  int64_t training = present_outputs(node) > 1;
  if (graph->opset >= 14) training = ipro_node_attr_int(node, "training_mode", 0);
  if (training != 0 && training != 1)
    return ipro_op_fail(err, node, "training_mode %lld is invalid (0 or 1)", (long long)training);
  if (ipro_op_put_int(node, "training_mode", training, err) != IPRO_OK ||
      ipro_op_default_float(node, "epsilon", 1e-5f, err) != IPRO_OK ||
      ipro_op_default_float(node, "momentum", 0.9f, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_batch_normalization_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  /* a training program's BatchNormalization fused with its ReLU (codegen/fusion.h) has a sixth
   * output, the ReLU's mask */
  bool fused = ipro_node_attr_int(node, "fused_relu", 0) != 0;
  if (fused && (node->n_outputs != 6 || node->outputs[5] < 0))
    return ipro_op_fail(err, node, "fused with its ReLU, but without the ReLU's mask (output 5)");
  /* fused with the Add and ReLU after it: input 5 is the tensor added, of X's shape */
  bool fused_add = ipro_node_attr_int(node, "fused_add_relu", 0) != 0;
  if (ipro_op_check_arity(graph, node, fused_add ? 6 : 5, fused_add ? 6 : 5, 1, fused ? 6 : 5,
                          err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 2, IPRO_MAX_RANK, err) != IPRO_OK ||
      ipro_op_require_concrete(graph, node, 0, 1, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t channels = x->shape.dims[1];
  for (int i = 1; i < 5; i++) {
    ipro_tensor *parameter;
    if (ipro_op_input(graph, node, i, IPRO_DTYPES(x->dtype), &parameter, err) != IPRO_OK)
      return IPRO_ERROR;
    if (parameter->shape.rank != 1 || parameter->shape.dims[0] != channels) {
      char shape[128];
      ipro_shape_format(&parameter->shape, shape, sizeof shape);
      return ipro_op_fail(err, node,
                          "input '%s' has shape %s; [%lld] (the channels of '%s') "
                          "is required",
                          parameter->name, shape, (long long)channels, x->name);
    }
  }
  if (fused_add) {
    ipro_tensor *added;
    if (ipro_op_input(graph, node, 5, IPRO_DTYPES(x->dtype), &added, err) != IPRO_OK)
      return IPRO_ERROR;
    if (!ipro_shape_equal(&added->shape, &x->shape))
      return ipro_op_fail(err, node, "the tensor added, '%s', does not have X's shape",
                          added->name);
  }
  if (ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err) != IPRO_OK) return IPRO_ERROR;
  /* running mean and variance, and before opset 14 the saved batch mean and variance */
  ipro_shape statistics = ipro_shape_vector(channels);
  for (int i = 1; i < node->n_outputs && i < 5; i++)
    if (ipro_op_set_output(graph, node, i, x->dtype, &statistics, err) != IPRO_OK)
      return IPRO_ERROR;
  return fused ? ipro_op_set_output(graph, node, 5, IPRO_DTYPE_BOOL, &x->shape, err) : IPRO_OK;
}

int64_t ipro_batch_normalization_flops(const ipro_graph *graph, const ipro_node *node) {
  return 2 * ipro_op_input_elements(graph, node, 0);
}

int64_t ipro_batch_normalization_saved_extra_bytes(const ipro_graph *graph, const ipro_node *node) {
  if (!ipro_node_attr_int(node, "training_mode", 0)) return 0;
  const ipro_tensor *x = ipro_node_input(graph, node, 0);
  if (!x || x->shape.rank < 2) return 0;
  return 2 * ipro_op_dim(graph, x->shape.dims[1]) * (int64_t)sizeof(float);
}

ipro_status ipro_dropout_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  if (ipro_op_check_attributes(node, dropout_attributes, err) != IPRO_OK) return IPRO_ERROR;
  float ratio = ipro_node_attr_float(node, "ratio", 0.5f);
  bool training = false;
  if (graph->opset >= 12) {
    if (ipro_node_input(graph, node, 1)) {
      if (ipro_op_constant_float(graph, node, 1, &ratio, err) != IPRO_OK) return IPRO_ERROR;
      ipro_op_drop_input(node, 1);
    }
    if (ipro_node_input(graph, node, 2)) {
      if (ipro_op_constant_bool(graph, node, 2, &training, err) != IPRO_OK) return IPRO_ERROR;
      ipro_op_drop_input(node, 2);
    }
  }
  if (!(ratio >= 0.0f && ratio < 1.0f))
    return ipro_op_fail(err, node, "ratio %g is invalid (0 <= ratio < 1)", (double)ratio);
  if (ipro_op_put_float(node, "ratio", ratio, err) != IPRO_OK ||
      ipro_op_put_int(node, "training_mode", training, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_dropout_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 3, 1, 2, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK)
    return IPRO_ERROR;
  if (ipro_node_input(graph, node, 1) || ipro_node_input(graph, node, 2))
    return ipro_op_fail(err, node,
                        "the ratio and training_mode inputs should have become "
                        "attributes (was the graph normalised?)");
  if (ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 1, IPRO_DTYPE_BOOL, &x->shape, err);
}

int64_t ipro_dropout_flops(const ipro_graph *graph, const ipro_node *node) {
  if (!ipro_node_attr_int(node, "training_mode", 0)) return 0;
  return ipro_op_input_elements(graph, node, 0);
}

int64_t ipro_dropout_saved_extra_bytes(const ipro_graph *graph, const ipro_node *node) {
  if (!ipro_node_attr_int(node, "training_mode", 0)) return 0;
  return ipro_op_input_elements(graph, node, 0); /* a one-byte mask per element */
}

/* ---- LayerNormalization (opset 17): X normalised over its dimensions from axis on, times Scale
 * plus B, which have those dimensions' shape; outputs Y and, optionally, Mean and InvStdDev of
 * X's shape with 1 from axis on. ---- */

ipro_status ipro_layer_normalization_normalize(ipro_graph *graph, ipro_node *node,
                                               ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"axis:i", "epsilon:f", "stash_type:i", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK ||
      ipro_op_default_int(node, "axis", -1, err) != IPRO_OK ||
      ipro_op_default_float(node, "epsilon", 1e-5f, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

ipro_status ipro_layer_normalization_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *scale, *bias = NULL;
  if (ipro_op_check_arity(graph, node, 2, 3, 1, 3, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES(x->dtype), &scale, err) != IPRO_OK ||
      ipro_op_optional_input(graph, node, 2, IPRO_DTYPES(x->dtype), &bias, err) != IPRO_OK)
    return IPRO_ERROR;
  int64_t axis;
  if (ipro_op_canonical_axis(node, -1, x->shape.rank, &axis, err) != IPRO_OK) return IPRO_ERROR;
  /* Scale and B: the normalised dimensions' shape (leading 1s allowed); the batch is never among
   * them (axis 0 is refused below) */
  for (int i = 1; i <= 2; i++) {
    const ipro_tensor *p = i == 1 ? scale : bias;
    if (!p) continue;
    int normalised = x->shape.rank - (int)axis;
    bool fits = p->shape.rank >= normalised;
    for (int d = 0; fits && d < p->shape.rank; d++) {
      int from_end = p->shape.rank - d;
      fits = from_end <= normalised ? p->shape.dims[d] == x->shape.dims[x->shape.rank - from_end]
                                    : p->shape.dims[d] == 1;
    }
    if (!fits) {
      char a[128], b[128];
      return ipro_op_fail(err, node, "'%s' %s does not have the normalised dimensions of %s",
                          p->name, ipro_shape_format(&p->shape, a, sizeof a),
                          ipro_shape_format(&x->shape, b, sizeof b));
    }
  }
  if (axis == 0) return ipro_op_batch_error(node, err, "normalising over the batch dimension");
  ipro_shape statistics = x->shape;
  for (int d = (int)axis; d < statistics.rank; d++)
    statistics.dims[d] = 1;
  if (ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err) != IPRO_OK ||
      ipro_op_set_output(graph, node, 1, x->dtype, &statistics, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 2, x->dtype, &statistics, err);
}

int64_t ipro_layer_normalization_flops(const ipro_graph *graph, const ipro_node *node) {
  return 8 * ipro_op_input_elements(graph, node, 0);
}

/* ---- InstanceNormalization: X [N, C, spatial...] normalised per channel of each image over its
 * spatial positions, times scale[c] plus B[c] (what both of PyTorch's exporters write for
 * InstanceNorm2d, and for GroupNorm between two Reshapes). Its gradient is ipro.LayerNormGrad
 * with axis 2 and channel_scale (codegen/internal_ops.md). ---- */

ipro_status ipro_instance_normalization_normalize(ipro_graph *graph, ipro_node *node,
                                                  ipro_error *err) {
  (void)graph;
  static const char *const known[] = {"epsilon:f", NULL};
  if (ipro_op_check_attributes(node, known, err) != IPRO_OK) return IPRO_ERROR;
  return ipro_op_default_float(node, "epsilon", 1e-5f, err);
}

ipro_status ipro_instance_normalization_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x, *scale, *bias;
  if (ipro_op_check_arity(graph, node, 3, 3, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 3, IPRO_MAX_RANK, err) != IPRO_OK ||
      ipro_op_input(graph, node, 1, IPRO_DTYPES(x->dtype), &scale, err) != IPRO_OK ||
      ipro_op_input(graph, node, 2, IPRO_DTYPES(x->dtype), &bias, err) != IPRO_OK)
    return IPRO_ERROR;
  if (ipro_dim_is_batch(x->shape.dims[1]))
    return ipro_op_batch_error(node, err, "normalising channels of the batch's extent");
  if (x->shape.dims[1] < 1) return ipro_op_fail(err, node, "X has no channels");
  for (int i = 1; i <= 2; i++) {
    const ipro_tensor *p = i == 1 ? scale : bias;
    if (p->shape.rank != 1 || p->shape.dims[0] != x->shape.dims[1])
      return ipro_op_fail(err, node, "'%s' is not one value per channel (%lld)", p->name,
                          (long long)x->shape.dims[1]);
  }
  return ipro_op_set_output(graph, node, 0, x->dtype, &x->shape, err);
}
