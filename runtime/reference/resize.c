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
 * included), so the kernel never recomputes it from the shapes. */
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

/* Where output coordinate o of one axis reads: for nearest, input index low; for linear,
 * (1 - weight) * input[low] + weight * input[high]. outside: tf_crop_and_resize fell off the
 * input, so the element takes extrapolation_value. */
typedef struct {
  int64_t low, high;
  double weight;
  bool outside;
} axis_sample;

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

/* One output element: the weighted sum over the 2^k corners spanned by the k axes whose weight is
 * not 0 (nearest, and linear at an exact input coordinate, have none). */
static float interpolate(const float *x, const int64_t *in_strides, int rank,
                         axis_sample *const *samples, const int64_t *coordinate) {
  int64_t base = 0;
  int active[IPRO_MAX_RANK], k = 0;
  for (int d = 0; d < rank; d++) {
    const axis_sample *s = &samples[d][coordinate[d]];
    base += s->low * in_strides[d];
    if (s->weight != 0.0) active[k++] = d;
  }
  double sum = 0.0;
  for (int corner = 0; corner < (1 << k); corner++) {
    double weight = 1.0;
    int64_t offset = base;
    for (int j = 0; j < k; j++) {
      const axis_sample *s = &samples[active[j]][coordinate[active[j]]];
      if (corner & (1 << j)) {
        weight *= s->weight;
        offset += (s->high - s->low) * in_strides[active[j]];
      } else {
        weight *= 1.0 - s->weight;
      }
    }
    sum += weight * (double)x[offset];
  }
  return (float)sum;
}

IPRO_REFERENCE_KERNEL(ipro_reference_resize) {
  (void)context;
  ipro_shape x, y;
  if (ipro_reference_expect_dtype(graph, node, true, 0, IPRO_DTYPE_FLOAT, err) ||
      ipro_reference_expect_dtype(graph, node, false, 0, IPRO_DTYPE_FLOAT, err) ||
      ipro_reference_input_shape(graph, node, 0, &x, err) ||
      ipro_reference_output_shape(graph, node, 0, &y, err))
    return IPRO_ERROR;
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
  if (y.rank != x.rank || scale_count != x.rank)
    return ipro_reference_fail(node, err, "scales has %d values for rank %d", scale_count, x.rank);
  if (coordinates == CT_TF_CROP_AND_RESIZE && roi_count != 2 * x.rank)
    return ipro_reference_fail(node, err, "roi has %d values; %d expected", roi_count, 2 * x.rank);
  for (int d = 0; d < x.rank; d++)
    if (!(scales[d] > 0.0f) || (x.dims[d] == 0 && y.dims[d] != 0))
      return ipro_reference_fail(node, err, "scale %g of axis %d cannot be applied",
                                 (double)scales[d], d);
  float extrapolation = ipro_node_attr_float(node, "extrapolation_value", 0.0f);

  axis_sample *samples[IPRO_MAX_RANK] = {0};
  ipro_status status = IPRO_OK;
  for (int d = 0; d < x.rank && status == IPRO_OK; d++) {
    samples[d] = malloc((size_t)(y.dims[d] > 0 ? y.dims[d] : 1) * sizeof *samples[d]);
    if (!samples[d]) {
      status = ipro_reference_fail(node, err, "out of memory");
      break;
    }
    sample_axis(linear, coordinates, rounding, scales[d], x.dims[d], y.dims[d], roi ? roi[d] : 0.0,
                roi ? roi[x.rank + d] : 1.0, samples[d]);
  }
  if (status == IPRO_OK) {
    int64_t in_strides[IPRO_MAX_RANK];
    ipro_reference_strides(&x, in_strides);
    const float *in = inputs[0];
    float *out = outputs[0];
    int64_t total = ipro_shape_elements(&y);
    for (int64_t i = 0; i < total; i++) {
      int64_t coordinate[IPRO_MAX_RANK], rest = i;
      bool outside = false;
      for (int d = y.rank - 1; d >= 0; d--) {
        coordinate[d] = rest % y.dims[d];
        rest /= y.dims[d];
        outside = outside || samples[d][coordinate[d]].outside;
      }
      out[i] = outside ? extrapolation : interpolate(in, in_strides, x.rank, samples, coordinate);
    }
  }
  for (int d = 0; d < x.rank; d++)
    free(samples[d]);
  return status;
}
