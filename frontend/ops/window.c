/* Sliding-window attributes shared by Conv, ConvTranspose, MaxPool and AveragePool: reading
 * kernel_shape / strides / dilations / pads / auto_pad with their defaults, resolving auto_pad
 * into explicit pads, and the output-size formula of the ONNX spec (ceil_mode included). */
#include <string.h>

#include "op_helpers.h"

ipro_status ipro_op_normalize_no_attributes(ipro_graph *graph, ipro_node *node, ipro_error *err) {
  (void)graph;
  static const char *const known[] = {NULL};
  return ipro_op_check_attributes(node, known, err);
}

ipro_status ipro_op_check_auto_pad(const ipro_node *node, ipro_error *err) {
  const char *auto_pad = ipro_node_attr_string(node, "auto_pad", "NOTSET");
  static const char *const allowed[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
    if (strcmp(auto_pad, allowed[i]) == 0) return IPRO_OK;
  return ipro_op_fail(err, node,
                      "auto_pad '%s' is not supported (NOTSET, VALID, SAME_UPPER or SAME_LOWER)",
                      auto_pad);
}

/* Reads an INTS attribute of exactly `count` positive (or, with allow_zero, non-negative)
 * values into values, or fills them with fallback when it is absent. */
static ipro_status read_list(const ipro_node *node, const char *name, int count, int64_t fallback,
                             bool allow_zero, int64_t *values, ipro_error *err) {
  int given;
  const int64_t *list = ipro_node_attr_ints(node, name, &given);
  if (!list) {
    for (int i = 0; i < count; i++)
      values[i] = fallback;
    return IPRO_OK;
  }
  if (given != count)
    return ipro_op_fail(err, node, "attribute '%s' has %d values; %d expected", name, given, count);
  for (int i = 0; i < count; i++) {
    if (list[i] < 0 || (list[i] == 0 && !allow_zero))
      return ipro_op_fail(err, node, "attribute '%s' has the invalid value %lld", name,
                          (long long)list[i]);
    values[i] = list[i];
  }
  return IPRO_OK;
}

ipro_status ipro_op_read_window(const ipro_node *node, int n, const int64_t *kernel,
                                ipro_window *window, ipro_error *err) {
  memset(window, 0, sizeof *window);
  if (n < 1 || n > IPRO_MAX_RANK - 2)
    return ipro_op_fail(err, node, "%d spatial axes are not supported (1 to %d)", n,
                        IPRO_MAX_RANK - 2);
  window->n = n;
  if (ipro_op_check_auto_pad(node, err) != IPRO_OK) return IPRO_ERROR;
  window->auto_pad = ipro_node_attr_string(node, "auto_pad", "NOTSET");
  int given;
  const int64_t *kernel_shape = ipro_node_attr_ints(node, "kernel_shape", &given);
  if (!kernel && !kernel_shape)
    return ipro_op_fail(err, node, "attribute 'kernel_shape' is required");
  if (kernel_shape && given != n)
    return ipro_op_fail(err, node, "attribute 'kernel_shape' has %d values; %d expected", given, n);
  for (int i = 0; i < n; i++) {
    int64_t k = kernel ? kernel[i] : kernel_shape[i];
    if (kernel && kernel_shape && kernel_shape[i] != kernel[i])
      return ipro_op_fail(err, node,
                          "attribute 'kernel_shape' (%lld at axis %d) disagrees with the weights "
                          "(%lld)",
                          (long long)kernel_shape[i], i, (long long)kernel[i]);
    if (k <= 0) return ipro_op_fail(err, node, "kernel size %lld is invalid", (long long)k);
    window->kernel[i] = k;
  }
  if (read_list(node, "strides", n, 1, false, window->strides, err) != IPRO_OK ||
      read_list(node, "dilations", n, 1, false, window->dilations, err) != IPRO_OK ||
      read_list(node, "pads", 2 * n, 0, true, window->pads, err) != IPRO_OK)
    return IPRO_ERROR;
  if (strcmp(window->auto_pad, "NOTSET") != 0)
    for (int i = 0; i < 2 * n; i++)
      window->pads[i] = 0;
  return IPRO_OK;
}

ipro_status ipro_op_window_output(const ipro_node *node, ipro_window *window, const int64_t *in,
                                  bool ceil_mode, int64_t *out, ipro_error *err) {
  int n = window->n;
  bool same = strncmp(window->auto_pad, "SAME", 4) == 0;
  for (int i = 0; i < n; i++) {
    int64_t stride = window->strides[i];
    int64_t extent = (window->kernel[i] - 1) * window->dilations[i] + 1;
    if (same) {
      out[i] = (in[i] + stride - 1) / stride;
      int64_t total = (out[i] - 1) * stride + extent - in[i];
      if (total < 0) total = 0;
      int64_t small = total / 2;
      bool upper = strcmp(window->auto_pad, "SAME_UPPER") == 0;
      window->pads[i] = upper ? small : total - small;
      window->pads[n + i] = total - window->pads[i];
      continue;
    }
    int64_t span = in[i] + window->pads[i] + window->pads[n + i] - extent;
    if (span < 0)
      return ipro_op_fail(err, node,
                          "the window (extent %lld) is larger than the padded input (%lld) at "
                          "spatial axis %d",
                          (long long)extent,
                          (long long)(in[i] + window->pads[i] + window->pads[n + i]), i);
    out[i] = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    /* The last window must start inside the input or its left padding (as PyTorch and the ONNX
     * reference do), so ceil_mode never adds a window made only of right padding. */
    if (ceil_mode && (out[i] - 1) * stride >= in[i] + window->pads[i]) out[i]--;
  }
  window->auto_pad = "NOTSET";
  return IPRO_OK;
}

ipro_status ipro_op_write_window(ipro_node *node, const ipro_window *window, ipro_error *err) {
  int n = window->n;
  if (ipro_op_put_ints(node, "kernel_shape", window->kernel, n, err) != IPRO_OK ||
      ipro_op_put_ints(node, "strides", window->strides, n, err) != IPRO_OK ||
      ipro_op_put_ints(node, "dilations", window->dilations, n, err) != IPRO_OK ||
      ipro_op_put_ints(node, "pads", window->pads, 2 * n, err) != IPRO_OK ||
      ipro_op_put_string(node, "auto_pad", "NOTSET", err) != IPRO_OK)
    return IPRO_ERROR;
  return IPRO_OK;
}
