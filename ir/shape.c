/* Shapes and dtypes: sizes, names, element counts and formatting. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/checked_size.h"
#include "ir/graph.h"

size_t ipro_dtype_size(ipro_dtype dtype) {
  switch (dtype) {
  case IPRO_DTYPE_FLOAT: return 4;
  case IPRO_DTYPE_UINT8: return 1;
  case IPRO_DTYPE_INT8: return 1;
  case IPRO_DTYPE_UINT16: return 2;
  case IPRO_DTYPE_INT16: return 2;
  case IPRO_DTYPE_INT32: return 4;
  case IPRO_DTYPE_INT64: return 8;
  case IPRO_DTYPE_BOOL: return 1;
  case IPRO_DTYPE_FLOAT16: return 2;
  case IPRO_DTYPE_DOUBLE: return 8;
  case IPRO_DTYPE_UINT32: return 4;
  case IPRO_DTYPE_UINT64: return 8;
  default: return 0;
  }
}

const char *ipro_dtype_name(ipro_dtype dtype) {
  static const char *const names[] = {"undefined",  "float32", "uint8",  "int8",   "uint16",
                                      "int16",      "int32",   "int64",  "string", "bool",
                                      "float16",    "float64", "uint32", "uint64", "complex64",
                                      "complex128", "bfloat16"};
  if ((int)dtype >= 0 && (int)dtype < (int)(sizeof names / sizeof names[0])) return names[dtype];
  return "unknown";
}

static bool convertible(ipro_dtype dtype) {
  return dtype == IPRO_DTYPE_FLOAT || dtype == IPRO_DTYPE_DOUBLE || dtype == IPRO_DTYPE_INT64 ||
         dtype == IPRO_DTYPE_INT32 || dtype == IPRO_DTYPE_BOOL;
}

static double element_as_double(const void *data, ipro_dtype dtype, int64_t i) {
  switch (dtype) {
  case IPRO_DTYPE_FLOAT: return ((const float *)data)[i];
  case IPRO_DTYPE_DOUBLE: return ((const double *)data)[i];
  case IPRO_DTYPE_INT32: return ((const int32_t *)data)[i];
  default: return ((const uint8_t *)data)[i] != 0; /* bool */
  }
}

static void store_double(void *data, ipro_dtype dtype, int64_t i, double v) {
  switch (dtype) {
  case IPRO_DTYPE_FLOAT: ((float *)data)[i] = (float)v; break;
  case IPRO_DTYPE_DOUBLE: ((double *)data)[i] = v; break;
  case IPRO_DTYPE_INT64:
    ((int64_t *)data)[i] = v != v        ? 0
                           : v >= 0x1p63 ? INT64_MAX
                           : v < -0x1p63 ? INT64_MIN
                                         : (int64_t)v;
    break;
  case IPRO_DTYPE_INT32:
    ((int32_t *)data)[i] = v != v        ? 0
                           : v >= 0x1p31 ? INT32_MAX
                           : v < -0x1p31 ? INT32_MIN
                                         : (int32_t)v;
    break;
  default: ((uint8_t *)data)[i] = v != 0; break;
  }
}

bool ipro_dtype_convert(const void *in, ipro_dtype from, void *out, ipro_dtype to, int64_t count) {
  if (!convertible(from) || !convertible(to)) return false;
  for (int64_t i = 0; i < count; i++) {
    if (from == IPRO_DTYPE_INT64) { /* int64 exactly, not through a double's 53 bits */
      int64_t v = ((const int64_t *)in)[i];
      if (to == IPRO_DTYPE_INT64)
        ((int64_t *)out)[i] = v;
      else if (to == IPRO_DTYPE_INT32)
        ((int32_t *)out)[i] = (int32_t)(v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v);
      else
        store_double(out, to, i, (double)v);
    } else {
      store_double(out, to, i, element_as_double(in, from, i));
    }
  }
  return true;
}

void ipro_broadcast_copy(const void *in, const ipro_shape *in_shape, void *out,
                         const ipro_shape *out_shape, size_t element) {
  int64_t elements = ipro_shape_elements(out_shape);
  int offset = out_shape->rank - in_shape->rank;
  for (int64_t i = 0; i < elements; i++) {
    int64_t rest = i, source = 0, stride = 1;
    for (int d = out_shape->rank - 1; d >= 0; d--) {
      int64_t at = rest % out_shape->dims[d];
      rest /= out_shape->dims[d];
      if (d < offset) continue;
      int64_t in_dim = in_shape->dims[d - offset];
      source += at % in_dim * stride;
      stride *= in_dim;
    }
    memcpy((char *)out + (size_t)i * element, (const char *)in + (size_t)source * element, element);
  }
}

int64_t ipro_element_offset(const ipro_shape *indices_shape, const ipro_shape *data_shape, int axis,
                            int64_t p, int64_t index) {
  int64_t rest = p, offset = 0, stride = 1;
  for (int k = indices_shape->rank - 1; k >= 0; k--) {
    int64_t at = rest % indices_shape->dims[k];
    rest /= indices_shape->dims[k];
    offset += (k == axis ? index : at) * stride;
    stride *= data_shape->dims[k];
  }
  return offset;
}

bool ipro_elements_fit(const ipro_shape *indices_shape, const ipro_shape *data_shape, int axis) {
  if (indices_shape->rank != data_shape->rank || axis < 0 || axis >= data_shape->rank) return false;
  for (int k = 0; k < data_shape->rank; k++)
    if (k != axis && indices_shape->dims[k] > data_shape->dims[k]) return false;
  return true;
}

bool ipro_element_index(const void *indices, bool int32_indices, int64_t p, int64_t extent,
                        int64_t *index) {
  *index = int32_indices ? ((const int32_t *)indices)[p] : ((const int64_t *)indices)[p];
  if (*index < -extent || *index >= extent) return false;
  if (*index < 0) *index += extent;
  return true;
}

const char *ipro_scatter_elements(const void *data, const ipro_shape *data_shape, size_t element,
                                  const void *indices, bool int32_indices,
                                  const ipro_shape *indices_shape, const void *updates, int axis,
                                  void *out) {
  if (!ipro_elements_fit(indices_shape, data_shape, axis)) return "indices that do not fit";
  memcpy(out, data, (size_t)ipro_shape_elements(data_shape) * element);
  int64_t count = ipro_shape_elements(indices_shape), extent = data_shape->dims[axis];
  for (int64_t p = 0; p < count; p++) {
    int64_t index;
    if (!ipro_element_index(indices, int32_indices, p, extent, &index))
      return "an index outside the axis of";
    int64_t target = ipro_element_offset(indices_shape, data_shape, axis, p, index);
    memcpy((char *)out + (size_t)target * element, (const char *)updates + (size_t)p * element,
           element);
  }
  return NULL;
}

void ipro_transpose_copy(const void *in, const ipro_shape *in_shape, const int64_t *perm, void *out,
                         size_t element) {
  int rank = in_shape->rank;
  int64_t in_strides[IPRO_MAX_RANK], read_strides[IPRO_MAX_RANK], dims[IPRO_MAX_RANK];
  for (int d = rank - 1, stride = 1; d >= 0; d--) {
    in_strides[d] = stride;
    stride *= (int)in_shape->dims[d];
  }
  for (int k = 0; k < rank; k++) {
    read_strides[k] = in_strides[perm[k]];
    dims[k] = in_shape->dims[perm[k]];
  }
  int64_t total = ipro_shape_elements(in_shape);
  for (int64_t i = 0; i < total; i++) {
    int64_t rest = i, from = 0;
    for (int k = rank - 1; k >= 0; k--) {
      from += rest % dims[k] * read_strides[k];
      rest /= dims[k];
    }
    memcpy((char *)out + (size_t)i * element, (const char *)in + (size_t)from * element, element);
  }
}

/* The slices [..., k] of indices address in data: their count, each one's flat offset in slices
 * (into at, which holds count values) and each slice's elements. NULL, or what is wrong. */
static const char *nd_slices(const ipro_shape *data_shape, const int64_t *indices,
                             const ipro_shape *indices_shape, int64_t *count, int64_t *slice,
                             int64_t *at) {
  int k = (int)indices_shape->dims[indices_shape->rank - 1];
  *count = 1;
  *slice = 1;
  for (int d = 0; d + 1 < indices_shape->rank; d++)
    *count *= indices_shape->dims[d];
  for (int d = k; d < data_shape->rank; d++)
    *slice *= data_shape->dims[d];
  for (int64_t s = 0; at && s < *count; s++) {
    at[s] = 0;
    for (int d = 0; d < k; d++) {
      int64_t index = indices[s * k + d], length = data_shape->dims[d];
      if (index < -length || index >= length) return "an index is outside the data";
      at[s] = at[s] * length + (index < 0 ? index + length : index);
    }
  }
  return NULL;
}

/* Applies nd_slices' offsets: gathering copies data's slices to out in order, scattering copies
 * updates' slices to out at them. */
static const char *nd_copy(const void *data, const ipro_shape *data_shape, size_t element,
                           const int64_t *indices, const ipro_shape *indices_shape,
                           const void *updates, void *out, bool scatter) {
  int64_t count, slice;
  nd_slices(data_shape, indices, indices_shape, &count, &slice, NULL);
  int64_t *at = malloc(sizeof(int64_t) * (size_t)(count + 1));
  if (!at) return "out of memory";
  const char *wrong = nd_slices(data_shape, indices, indices_shape, &count, &slice, at);
  size_t slice_bytes = (size_t)slice * element;
  if (scatter && !wrong) memcpy(out, data, (size_t)ipro_shape_elements(data_shape) * element);
  for (int64_t s = 0; !wrong && s < count; s++) {
    if (scatter)
      memcpy((char *)out + (size_t)at[s] * slice_bytes,
             (const char *)updates + (size_t)s * slice_bytes, slice_bytes);
    else
      memcpy((char *)out + (size_t)s * slice_bytes,
             (const char *)data + (size_t)at[s] * slice_bytes, slice_bytes);
  }
  free(at);
  return wrong;
}

const char *ipro_gather_nd(const void *data, const ipro_shape *data_shape, size_t element,
                           const int64_t *indices, const ipro_shape *indices_shape, void *out) {
  return nd_copy(data, data_shape, element, indices, indices_shape, NULL, out, false);
}

const char *ipro_scatter_nd(const void *data, const ipro_shape *data_shape, size_t element,
                            const int64_t *indices, const ipro_shape *indices_shape,
                            const void *updates, void *out) {
  return nd_copy(data, data_shape, element, indices, indices_shape, updates, out, true);
}

const char *ipro_slice_of(const ipro_shape *data, const int64_t *starts, const int64_t *ends,
                          const int64_t *axes, const int64_t *steps, int n, ipro_slice *out) {
  int rank = data->rank;
  out->shape.rank = rank;
  for (int d = 0; d < rank; d++)
    out->first[d] = 0, out->step[d] = 1, out->shape.dims[d] = data->dims[d];
  for (int i = 0; i < n; i++) {
    int64_t axis = axes ? axes[i] : i;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return "an axis outside the data's rank";
    int64_t dim = data->dims[axis], s = steps ? steps[i] : 1;
    if (s == 0) return "a step of 0";
    int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    int64_t count;
    if (s > 0) {
      b = b < 0 ? 0 : b > dim ? dim : b;
      e = e < 0 ? 0 : e > dim ? dim : e;
      count = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = b < 0 ? -1 : b > dim - 1 ? dim - 1 : b;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
      count = b > e ? (b - e - s - 1) / -s : 0;
    }
    out->first[axis] = b, out->step[axis] = s, out->shape.dims[axis] = count;
  }
  return NULL;
}

void ipro_slice_copy(const ipro_slice *slice, const ipro_shape *data, const void *in, void *out,
                     size_t element) {
  int64_t elements = ipro_shape_elements(&slice->shape);
  for (int64_t o = 0; o < elements; o++) {
    int64_t rest = o, source = 0, stride = 1;
    for (int d = data->rank - 1; d >= 0; d--) {
      int64_t at = rest % slice->shape.dims[d];
      rest /= slice->shape.dims[d];
      source += (slice->first[d] + at * slice->step[d]) * stride;
      stride *= data->dims[d];
    }
    memcpy((char *)out + (size_t)o * element, (const char *)in + (size_t)source * element, element);
  }
}

int64_t ipro_shape_elements(const ipro_shape *shape) {
  if (shape->rank < 0) return -1;
  int64_t count = 1;
  for (int i = 0; i < shape->rank; i++) {
    if (shape->dims[i] < 0) return -1;
    /* Cannot happen for a shape that passed ipro_shape_size (every inferred one did). */
    if (!ipro_checked_mul(count, shape->dims[i], &count)) return -1;
  }
  return count;
}

bool ipro_shape_size(const ipro_shape *shape, int64_t batch, int64_t *elements) {
  int64_t count = 1;
  for (int i = 0; i < shape->rank; i++) {
    int64_t dim = shape->dims[i] == IPRO_DIM_BATCH ? (batch > 0 ? batch : 1) : shape->dims[i];
    if (dim < 0 || !ipro_checked_mul(count, dim, &count) || count > IPRO_MAX_TENSOR_ELEMENTS)
      return false;
  }
  if (elements) *elements = count;
  return true;
}

int64_t ipro_shape_max_batch(const ipro_shape *shape) {
  int64_t fixed = 1;
  int batch_dims = 0;
  for (int i = 0; i < shape->rank; i++) {
    if (shape->dims[i] == IPRO_DIM_BATCH)
      batch_dims++;
    else if (shape->dims[i] < 0 || !ipro_checked_mul(fixed, shape->dims[i], &fixed))
      return 0;
  }
  if (batch_dims == 0 || fixed == 0) return INT64_MAX;
  if (fixed > IPRO_MAX_TENSOR_ELEMENTS) return 0;
  /* The largest b with fixed * b^batch_dims within the limit: b^batch_dims <= limit / fixed. */
  int64_t room = IPRO_MAX_TENSOR_ELEMENTS / fixed, best = 0, low = 1, high = room;
  while (low <= high) {
    int64_t b = low + (high - low) / 2, power = 1;
    bool fits = true;
    for (int k = 0; k < batch_dims && fits; k++)
      fits = ipro_checked_mul(power, b, &power) && power <= room;
    if (fits)
      best = b, low = b + 1;
    else
      high = b - 1;
  }
  return best;
}

bool ipro_shape_equal(const ipro_shape *a, const ipro_shape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

char *ipro_shape_format(const ipro_shape *shape, char *buffer, size_t size) {
  if (size == 0) return buffer;
  if (shape->rank < 0) {
    snprintf(buffer, size, "?");
    return buffer;
  }
  size_t used = (size_t)snprintf(buffer, size, "[");
  for (int i = 0; i < shape->rank && used < size; i++) {
    const char *separator = i ? "," : "";
    if (shape->dims[i] == IPRO_DIM_BATCH)
      used += (size_t)snprintf(buffer + used, size - used, "%sN", separator);
    else
      used += (size_t)snprintf(buffer + used, size - used, "%s%" PRId64, separator, shape->dims[i]);
  }
  if (used < size) snprintf(buffer + used, size - used, "]");
  return buffer;
}

void ipro_shape_bind_batch(ipro_shape *shape, int64_t batch) {
  for (int i = 0; i < shape->rank; i++)
    if (shape->dims[i] == IPRO_DIM_BATCH) shape->dims[i] = batch;
}

int64_t ipro_tensor_bytes(const ipro_tensor *tensor) {
  int64_t elements = ipro_shape_elements(&tensor->shape);
  int64_t bytes;
  if (elements < 0 || !ipro_checked_mul(elements, (int64_t)ipro_dtype_size(tensor->dtype), &bytes))
    return 0;
  return bytes;
}
