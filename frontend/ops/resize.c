/* The op row of Resize, which also serves Upsample (op_table.c maps the name; Upsample and
 * Resize-10 become Resize with asymmetric coordinates and floor rounding, which is what they
 * compute). Normalisation turns the roi / scales / sizes inputs into attributes and rejects what
 * the backends do not implement (cubic, antialias, half_pixel_symmetric); inference resolves
 * axes and keep_aspect_ratio_policy into full-rank scales and sizes, following the ONNX spec:
 * from scales, output = floor(input * scale); from sizes, scale = size / input. */
#include <math.h>
#include <string.h>

#include "op_helpers.h"
#include "op_rows.h"

static const char *const resize_attributes[] = {"mode:s",
                                                "coordinate_transformation_mode:s",
                                                "nearest_mode:s",
                                                "cubic_coeff_a:f",
                                                "exclude_outside:i",
                                                "extrapolation_value:f",
                                                "antialias:i",
                                                "axes:I",
                                                "keep_aspect_ratio_policy:s",
                                                NULL};
static const char *const upsample_attributes[] = {"mode:s", "scales:F", NULL};

static bool one_of(const char *value, const char *const *allowed) {
  for (; *allowed; allowed++)
    if (strcmp(value, *allowed) == 0) return true;
  return false;
}

/* Checks a string attribute against the values infopro implements and writes it (or its
 * default) back. */
static ipro_status string_choice(ipro_node *node, const char *name, const char *fallback,
                                 const char *const *allowed, ipro_error *err) {
  const char *value = ipro_node_attr_string(node, name, fallback);
  if (!one_of(value, allowed))
    return ipro_op_fail(err, node, "%s '%s' is not supported", name, value);
  return ipro_op_put_string(node, name, value, err);
}

/* Resize from opset 11 on: X, roi, scales, sizes. An empty scales tensor means "not given". */
static ipro_status read_resize_inputs(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  const char *transform = ipro_node_attr_string(node, "coordinate_transformation_mode", "");
  float values[2 * IPRO_MAX_RANK];
  int64_t sizes[IPRO_MAX_RANK];
  int count;
  if (strcmp(transform, "tf_crop_and_resize") == 0) {
    if (!ipro_node_input(graph, node, 1))
      return ipro_op_fail(err, node, "tf_crop_and_resize needs the roi input");
    if (ipro_op_constant_floats(graph, node, 1, values, 2 * IPRO_MAX_RANK, &count, err) !=
            IPRO_OK ||
        ipro_op_put_floats(node, "roi", values, count, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  ipro_op_drop_input(node, 1);
  /* sizes computed from a tensor's shape (torch.export's F.interpolate(x, size=y.shape[2:]) takes
   * y's whole shape, batch included): inference folds them at a concrete batch, and
   * take_computed_sizes takes them then */
  const ipro_tensor *computed = ipro_node_input(graph, node, 3);
  if (computed && !ipro_tensor_is_constant(computed) && !ipro_node_input(graph, node, 2))
    return IPRO_OK;
  bool have_scales = false, have_sizes = false;
  if (ipro_node_input(graph, node, 2)) {
    if (ipro_op_constant_floats(graph, node, 2, values, IPRO_MAX_RANK, &count, err) != IPRO_OK)
      return IPRO_ERROR;
    have_scales = count > 0;
    if (have_scales && ipro_op_put_floats(node, "scales", values, count, err) != IPRO_OK)
      return IPRO_ERROR;
    ipro_op_drop_input(node, 2);
  }
  if (ipro_node_input(graph, node, 3)) {
    if (ipro_op_constant_ints(graph, node, 3, sizes, IPRO_MAX_RANK, &count, err) != IPRO_OK)
      return IPRO_ERROR;
    have_sizes = count > 0;
    if (have_sizes && ipro_op_put_ints(node, "sizes", sizes, count, err) != IPRO_OK)
      return IPRO_ERROR;
    ipro_op_drop_input(node, 3);
  }
  if (have_scales == have_sizes)
    return ipro_op_fail(err, node, "exactly one of the scales and sizes inputs must be given");
  return IPRO_OK;
}

ipro_status ipro_resize_normalize(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  bool upsample = strcmp(node->op_type, "Upsample") == 0;
  bool legacy = upsample || graph->opset < 11; /* Upsample and Resize-10 */
  if (ipro_op_check_attributes(node, upsample ? upsample_attributes : resize_attributes, err) !=
      IPRO_OK)
    return IPRO_ERROR;
  const char *mode = ipro_node_attr_string(node, "mode", "nearest");
  if (upsample && strcmp(mode, "bilinear") == 0) mode = "linear";
  if (strcmp(mode, "nearest") != 0 && strcmp(mode, "linear") != 0)
    return ipro_op_fail(err, node, "mode '%s' is not supported (nearest or linear)", mode);
  if (ipro_op_put_string(node, "mode", mode, err) != IPRO_OK) return IPRO_ERROR;
  if (ipro_node_attr_int(node, "antialias", 0) != 0)
    return ipro_op_fail(err, node, "antialias=1 is not supported");
  ipro_node_remove_attr(node, "antialias");
  if (legacy) {
    if (ipro_op_put_string(node, "coordinate_transformation_mode", "asymmetric", err) != IPRO_OK ||
        ipro_op_put_string(node, "nearest_mode", "floor", err) != IPRO_OK)
      return IPRO_ERROR;
    if (!(upsample && graph->opset < 9)) {
      float scales[IPRO_MAX_RANK];
      int count;
      if (ipro_op_constant_floats(graph, node, 1, scales, IPRO_MAX_RANK, &count, err) != IPRO_OK ||
          ipro_op_put_floats(node, "scales", scales, count, err) != IPRO_OK)
        return IPRO_ERROR;
      ipro_op_drop_input(node, 1);
    } else if (!ipro_node_attr(node, "scales")) {
      return ipro_op_fail(err, node, "attribute 'scales' is required");
    }
  } else {
    static const char *const transforms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                             "asymmetric", "tf_crop_and_resize", NULL};
    static const char *const nearest_modes[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                                "ceil", NULL};
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller", NULL};
    if (string_choice(node, "coordinate_transformation_mode", "half_pixel", transforms, err) !=
            IPRO_OK ||
        string_choice(node, "nearest_mode", "round_prefer_floor", nearest_modes, err) != IPRO_OK ||
        string_choice(node, "keep_aspect_ratio_policy", "stretch", policies, err) != IPRO_OK ||
        read_resize_inputs(graph, node, err) != IPRO_OK)
      return IPRO_ERROR;
  }
  if (ipro_op_default_float(node, "cubic_coeff_a", -0.75f, err) != IPRO_OK ||
      ipro_op_default_int(node, "exclude_outside", 0, err) != IPRO_OK ||
      ipro_op_default_float(node, "extrapolation_value", 0.0f, err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}

/* Rounds half up, as the ONNX reference does for keep_aspect_ratio_policy sizes. */
static int64_t round_half_up(double x) { return (int64_t)floor(x + 0.5); }

/* First inference: scales or sizes per listed axis (all axes by default) become full-rank
 * scales[] and sizes[], with roi expanded to every axis for tf_crop_and_resize. */
static ipro_status resolve_axes(ipro_node *node, const ipro_shape *in, float *scales,
                                int64_t *sizes, float *roi, ipro_error *err) {
  int rank = in->rank, n_axes, n_scales, n_sizes, n_roi;
  const int64_t *given_axes = ipro_node_attr_ints(node, "axes", &n_axes);
  const float *given_scales = ipro_node_attr_floats(node, "scales", &n_scales);
  const int64_t *given_sizes = ipro_node_attr_ints(node, "sizes", &n_sizes);
  const float *given_roi = ipro_node_attr_floats(node, "roi", &n_roi);
  const char *policy = ipro_node_attr_string(node, "keep_aspect_ratio_policy", "stretch");
  int64_t axes[IPRO_MAX_RANK];
  bool seen[IPRO_MAX_RANK] = {false};
  if (!given_axes) n_axes = rank;
  for (int i = 0; i < n_axes; i++) {
    if (!given_axes) {
      axes[i] = i;
    } else if (ipro_op_axis(node, "axis", given_axes[i], rank, &axes[i], err) != IPRO_OK) {
      return IPRO_ERROR;
    } else if (seen[axes[i]]) {
      return ipro_op_fail(err, node, "axis %lld is given twice", (long long)axes[i]);
    }
    seen[axes[i]] = true;
  }
  int n_values = given_scales ? n_scales : n_sizes;
  if (n_values != n_axes)
    return ipro_op_fail(err, node, "%d %s for %d axes", n_values, given_scales ? "scales" : "sizes",
                        n_axes);
  if (given_roi && n_roi != 2 * n_axes)
    return ipro_op_fail(err, node, "roi has %d values for %d axes; %d expected", n_roi, n_axes,
                        2 * n_axes);
  for (int d = 0; d < rank; d++) {
    scales[d] = 1.0f;
    sizes[d] = in->dims[d];
    roi[d] = 0.0f;
    roi[rank + d] = 1.0f;
  }
  /* keep_aspect_ratio_policy: one scale for all listed axes, the smallest or largest. */
  double common = 0.0;
  for (int i = 0; i < n_axes && !given_scales; i++) {
    double ratio = (double)given_sizes[i] / (double)in->dims[axes[i]];
    if (i == 0 || (strcmp(policy, "not_larger") == 0 && ratio < common) ||
        (strcmp(policy, "not_smaller") == 0 && ratio > common))
      common = ratio;
  }
  for (int i = 0; i < n_axes; i++) {
    int64_t a = axes[i], dim = in->dims[a];
    if (given_roi) {
      roi[a] = given_roi[i];
      roi[rank + a] = given_roi[n_axes + i];
    }
    bool changes = given_scales ? given_scales[i] != 1.0f : given_sizes[i] != dim;
    if (ipro_dim_is_batch(dim)) {
      if (changes) return ipro_op_batch_error(node, err, "resizing the batch dimension");
      continue;
    }
    if (given_scales) {
      double extent = given_roi ? (double)(roi[rank + a] - roi[a]) : 1.0;
      scales[a] = given_scales[i];
      sizes[a] = (int64_t)floor((double)dim * extent * (double)given_scales[i]);
    } else if (strcmp(policy, "stretch") == 0) {
      sizes[a] = given_sizes[i];
      scales[a] = (float)((double)given_sizes[i] / (double)dim);
    } else {
      scales[a] = (float)common;
      sizes[a] = round_half_up(common * (double)dim);
    }
    if (!(scales[a] > 0.0f) || sizes[a] <= 0)
      return ipro_op_fail(err, node, "axis %lld would be resized to %lld (scale %g)", (long long)a,
                          (long long)sizes[a], (double)scales[a]);
  }
  return IPRO_OK;
}

/* The sizes input that normalisation left because it was computed (read_resize_inputs), as the
 * attribute "sizes", now that inference has folded it; at the symbolic batch it cannot be. */
static ipro_status take_computed_sizes(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  const ipro_tensor *computed = ipro_node_input(graph, node, 3);
  if (!computed || node->inputs[1] >= 0 || node->inputs[2] >= 0) return IPRO_OK;
  if (!ipro_tensor_is_constant(computed) && graph->batch == 0)
    return ipro_op_batch_error(node, err, "sizes computed from a shape");
  int64_t sizes[IPRO_MAX_RANK];
  int count;
  if (ipro_op_constant_ints(graph, node, 3, sizes, IPRO_MAX_RANK, &count, err) != IPRO_OK)
    return IPRO_ERROR;
  if (count == 0)
    return ipro_op_fail(err, node, "exactly one of the scales and sizes inputs must be given");
  ipro_op_drop_input(node, 3);
  return ipro_op_put_ints(node, "sizes", sizes, count, err);
}

ipro_status ipro_resize_infer(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  ipro_tensor *x;
  if (ipro_op_check_arity(graph, node, 1, 4, 1, 1, err) != IPRO_OK ||
      ipro_op_input(graph, node, 0, IPRO_DTYPES_REAL, &x, err) != IPRO_OK ||
      ipro_op_check_rank(graph, node, 0, 1, IPRO_MAX_RANK, err) != IPRO_OK ||
      take_computed_sizes(graph, node, err) != IPRO_OK)
    return IPRO_ERROR;
  for (int i = 1; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0)
      return ipro_op_fail(err, node,
                          "input '%s' should have become an attribute (was the graph "
                          "normalised?)",
                          ipro_op_input_name(graph, node, i));
  int rank = x->shape.rank, n_scales, n_sizes;
  const float *given_scales = ipro_node_attr_floats(node, "scales", &n_scales);
  const int64_t *given_sizes = ipro_node_attr_ints(node, "sizes", &n_sizes);
  float scales[IPRO_MAX_RANK], roi[2 * IPRO_MAX_RANK];
  int64_t sizes[IPRO_MAX_RANK];
  bool resolved = given_scales && given_sizes && n_scales == rank && n_sizes == rank &&
                  !ipro_node_attr(node, "axes") &&
                  !ipro_node_attr(node, "keep_aspect_ratio_policy");
  ipro_shape shape = {.rank = rank};
  if (resolved) {
    /* Inferred before, maybe at another batch: only axes left unscaled follow the input. */
    for (int d = 0; d < rank; d++) {
      scales[d] = given_scales[d];
      sizes[d] = given_scales[d] == 1.0f ? x->shape.dims[d] : given_sizes[d];
      if (ipro_dim_is_batch(x->shape.dims[d]) && given_scales[d] != 1.0f)
        return ipro_op_batch_error(node, err, "resizing the batch dimension");
    }
  } else {
    if (resolve_axes(node, &x->shape, scales, sizes, roi, err) != IPRO_OK) return IPRO_ERROR;
    const char *transform = ipro_node_attr_string(node, "coordinate_transformation_mode", "");
    if (strcmp(transform, "tf_crop_and_resize") == 0 &&
        ipro_op_put_floats(node, "roi", roi, 2 * rank, err) != IPRO_OK)
      return IPRO_ERROR;
    ipro_node_remove_attr(node, "axes");
    ipro_node_remove_attr(node, "keep_aspect_ratio_policy");
  }
  memcpy(shape.dims, sizes, sizeof(int64_t) * (size_t)rank);
  if (ipro_op_put_floats(node, "scales", scales, rank, err) != IPRO_OK ||
      ipro_op_put_ints(node, "sizes", sizes, rank, err) != IPRO_OK)
    return IPRO_ERROR;
  return ipro_op_set_output(graph, node, 0, x->dtype, &shape, err);
}

int64_t ipro_resize_flops(const ipro_graph *graph, const ipro_node *node) {
  int64_t per_element = 1;
  if (strcmp(ipro_node_attr_string(node, "mode", "nearest"), "linear") == 0) {
    int count;
    const float *scales = ipro_node_attr_floats(node, "scales", &count);
    for (int d = 0; d < count; d++)
      if (scales[d] != 1.0f) per_element *= 2;
  }
  return ipro_op_output_elements(graph, node, 0) * per_element;
}
