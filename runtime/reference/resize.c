/* Reference kernel of Resize (and of Upsample, which normalisation turns into Resize): modes
 * nearest (every nearest_mode) and linear (n-linear over every axis whose scale is not 1), with
 * every coordinate_transformation_mode of the ONNX specification. cubic is rejected by shape
 * inference; exclude_outside only matters for cubic and is ignored.
 *
 * Interpolation is separable: for each axis the kernel first maps every output coordinate to an
 * input coordinate (per the ONNX reference implementation, from the float scale and the
 * "output length" scale * input length, not from the integer output length), then each output
 * element combines the input elements at those coordinates. The scales attribute is always
 * present after shape inference (for sizes it holds the effective scale, keep_aspect_ratio_policy
 * included), so the kernel never recomputes it from the shapes. The sampling (a "plan": per axis,
 * where each output coordinate reads and with which weight) is shared with ipro.ResizeGrad
 * (resize_backward.c), whose adjoint must use exactly the forward's corners and weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference_ops.h"

typedef enum {
  CT_HALF_PIXEL,
  CT_HALF_PIXEL_SYMMETRIC,
  CT_PYTORCH_HALF_PIXEL,
  CT_ALIGN_CORNERS,
  CT_ASYMMETRIC,
  CT_TF_CROP_AND_RESIZE
} coordinate_mode;

typedef enum {
  NEAREST_ROUND_PREFER_FLOOR,
  NEAREST_ROUND_PREFER_CEIL,
  NEAREST_FLOOR,
  NEAREST_CEIL
} nearest_mode;

typedef ipro_reference_axis_sample axis_sample;

static bool parse_coordinate_mode(const char *name, coordinate_mode *mode) {
  static const char *const names[] = {"half_pixel",         "half_pixel_symmetric",
                                      "pytorch_half_pixel", "align_corners",
                                      "asymmetric",         "tf_crop_and_resize"};
  for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
    if (strcmp(name, names[i]) == 0) {
      *mode = (coordinate_mode)i;
      return true;
    }
  return false;
}

static bool parse_nearest_mode(const char *name, nearest_mode *mode) {
  static const char *const names[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
    if (strcmp(name, names[i]) == 0) {
      *mode = (nearest_mode)i;
      return true;
    }
  return false;
}

/* The input coordinate of output coordinate o (ONNX's x_original). roi_start/roi_end are used only
 * by tf_crop_and_resize. */
static double source_coordinate(coordinate_mode mode, int64_t o, double scale, int64_t in_length,
                                int64_t out_length, double roi_start, double roi_end) {
  double x = (double)o, in = (double)in_length;
  double resized = scale * in; /* the reference's float "output_width" */
  switch (mode) {
  case CT_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
  case CT_HALF_PIXEL_SYMMETRIC: {
    double adjustment = (double)out_length / resized;
    double offset = in / 2.0 * (1.0 - adjustment);
    return offset + (x + 0.5) / scale - 0.5;
  }
  case CT_PYTORCH_HALF_PIXEL: return resized > 1.0 ? (x + 0.5) / scale - 0.5 : 0.0;
  case CT_ALIGN_CORNERS: return resized == 1.0 ? 0.0 : x * (in - 1.0) / (resized - 1.0);
  case CT_ASYMMETRIC: return x / scale;
  case CT_TF_CROP_AND_RESIZE:
    if (resized == 1.0) return (roi_end - roi_start) * (in - 1.0) / 2.0 + roi_start * (in - 1.0);
    return x * (roi_end - roi_start) * (in - 1.0) / (resized - 1.0) + roi_start * (in - 1.0);
  }
  return 0.0;
}

static int64_t clamp_index(int64_t i, int64_t length) {
  return i < 0 ? 0 : (i >= length ? length - 1 : i);
}

/* Fills samples[0..out_length) for one axis. */
static void sample_axis(bool linear, coordinate_mode coordinates, nearest_mode rounding,
                        double scale, int64_t in_length, int64_t out_length, double roi_start,
                        double roi_end, axis_sample *samples) {
  for (int64_t o = 0; o < out_length; o++) {
    double x = source_coordinate(coordinates, o, scale, in_length, out_length, roi_start, roi_end);
    axis_sample *s = &samples[o];
    s->outside = coordinates == CT_TF_CROP_AND_RESIZE && (x < 0.0 || x > (double)(in_length - 1));
    double floor_x = floor(x), fraction = x - floor_x;
    int64_t below = (int64_t)floor_x;
    if (linear) {
      s->low = clamp_index(below, in_length);
      s->high = clamp_index(below + 1, in_length);
      s->weight = fraction;
      continue;
    }
    int64_t chosen = below;
    if (fraction != 0.0) {
      switch (rounding) {
      case NEAREST_ROUND_PREFER_FLOOR: chosen = fraction <= 0.5 ? below : below + 1; break;
      case NEAREST_ROUND_PREFER_CEIL: chosen = fraction < 0.5 ? below : below + 1; break;
      case NEAREST_FLOOR: chosen = below; break;
      case NEAREST_CEIL: chosen = below + 1; break;
      }
    }
    s->low = s->high = clamp_index(chosen, in_length);
    s->weight = 0.0;
  }
}

int ipro_reference_resize_corners(const ipro_reference_resize_plan *plan, int64_t index,
                                  int64_t *offsets, double *weights) {
  int rank = plan->out.rank;
  const axis_sample *at[IPRO_MAX_RANK];
  int64_t base = 0, rest = index;
  int active[IPRO_MAX_RANK], k = 0;
  for (int d = rank - 1; d >= 0; d--) {
    at[d] = &plan->samples[d][rest % plan->out.dims[d]];
    rest /= plan->out.dims[d];
    if (at[d]->outside) return -1;
  }
  for (int d = 0; d < rank; d++) {
    base += at[d]->low * plan->in_strides[d];
    if (at[d]->weight != 0.0) active[k++] = d;
  }
  for (int corner = 0; corner < (1 << k); corner++) {
    double weight = 1.0;
    int64_t offset = base;
    for (int j = 0; j < k; j++) {
      const axis_sample *s = at[active[j]];
      if (corner & (1 << j)) {
        weight *= s->weight;
        offset += (s->high - s->low) * plan->in_strides[active[j]];
      } else {
        weight *= 1.0 - s->weight;
      }
    }
    offsets[corner] = offset;
    weights[corner] = weight;
  }
  return 1 << k;
}

void ipro_reference_resize_plan_free(ipro_reference_resize_plan *plan) {
  for (int d = 0; d < IPRO_MAX_RANK; d++) {
    free(plan->samples[d]);
    plan->samples[d] = NULL;
  }
}

ipro_status ipro_reference_resize_plan_make(const ipro_node *node, const ipro_shape *x,
                                            const ipro_shape *y, ipro_reference_resize_plan *plan,
                                            ipro_error *err) {
  memset(plan, 0, sizeof *plan);
  plan->in = *x;
  plan->out = *y;
  const char *mode_name = ipro_node_attr_string(node, "mode", "nearest");
  bool linear = strcmp(mode_name, "linear") == 0;
  if (!linear && strcmp(mode_name, "nearest") != 0)
    return ipro_reference_fail(node, err, "mode '%s' is not supported (nearest, linear)",
                               mode_name);
  coordinate_mode coordinates;
  nearest_mode rounding;
  const char *coordinate_name =
      ipro_node_attr_string(node, "coordinate_transformation_mode", "half_pixel");
  const char *rounding_name = ipro_node_attr_string(node, "nearest_mode", "round_prefer_floor");
  if (!parse_coordinate_mode(coordinate_name, &coordinates))
    return ipro_reference_fail(node, err, "coordinate_transformation_mode '%s' is not supported",
                               coordinate_name);
  if (!parse_nearest_mode(rounding_name, &rounding))
    return ipro_reference_fail(node, err, "nearest_mode '%s' is not supported", rounding_name);
  int scale_count = 0, roi_count = 0;
  const float *scales = ipro_node_attr_floats(node, "scales", &scale_count);
  const float *roi = ipro_node_attr_floats(node, "roi", &roi_count);
  if (y->rank != x->rank || scale_count != x->rank)
    return ipro_reference_fail(node, err, "scales has %d values for rank %d", scale_count, x->rank);
  if (coordinates == CT_TF_CROP_AND_RESIZE && roi_count != 2 * x->rank)
    return ipro_reference_fail(node, err, "roi has %d values; %d expected", roi_count, 2 * x->rank);
  for (int d = 0; d < x->rank; d++)
    if (!(scales[d] > 0.0f) || (x->dims[d] == 0 && y->dims[d] != 0))
      return ipro_reference_fail(node, err, "scale %g of axis %d cannot be applied",
                                 (double)scales[d], d);
  plan->extrapolation = ipro_node_attr_float(node, "extrapolation_value", 0.0f);
  ipro_reference_strides(x, plan->in_strides);
  for (int d = 0; d < x->rank; d++) {
    plan->samples[d] = malloc((size_t)(y->dims[d] > 0 ? y->dims[d] : 1) * sizeof *plan->samples[d]);
    if (!plan->samples[d]) {
      ipro_reference_resize_plan_free(plan);
      return ipro_reference_fail(node, err, "out of memory");
    }
    sample_axis(linear, coordinates, rounding, scales[d], x->dims[d], y->dims[d],
                roi ? roi[d] : 0.0, roi ? roi[x->rank + d] : 1.0, plan->samples[d]);
  }
  return IPRO_OK;
}

/* Each output element is the weighted sum of the input corners it reads, or extrapolation_value
 * where tf_crop_and_resize fell off the input. */
IPRO_REFERENCE_KERNEL(ipro_reference_resize) {
  (void)context;
  ipro_shape x, y;
  ipro_reference_resize_plan plan;
  if (ipro_reference_expect_real(graph, node, true, 0, err) ||
      ipro_reference_expect_real(graph, node, false, 0, err) ||
      ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err) ||
      ipro_reference_resize_plan_make(node, &x, &y, &plan, err))
    return IPRO_ERROR;
  const double *in = inputs[0];
  double *out = outputs[0];
  int64_t total = ipro_shape_elements(&y);
  int64_t offsets[IPRO_REFERENCE_RESIZE_MAX_CORNERS];
  double weights[IPRO_REFERENCE_RESIZE_MAX_CORNERS];
  for (int64_t i = 0; i < total; i++) {
    int corners = ipro_reference_resize_corners(&plan, i, offsets, weights);
    double sum = 0.0;
    for (int c = 0; c < corners; c++)
      sum += weights[c] * (double)in[offsets[c]];
    out[i] = corners < 0 ? plan.extrapolation : sum;
  }
  ipro_reference_resize_plan_free(&plan);
  return IPRO_OK;
}
