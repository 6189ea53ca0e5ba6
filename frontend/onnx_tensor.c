/* Decoding of ONNX TensorProto values (initializers, Constant values, test-data .pb files) into
 * ipro_tensor: dims, dtype and data from raw_data, the typed repeated fields or an external data
 * file. Every size is checked against the declared shape before anything is copied, so a
 * truncated or lying file gives a message, never an overread. */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/atomic_file.h"
#include "ir/checked_size.h"
#include "model_in_memory.h"
#include "onnx_decode.h"

/* Element count of dims, or -1 when a dim is negative or the tensor is larger than one tensor may
 * be (checked_size.h). */
static int64_t checked_element_count(const int64_t *dims, size_t n_dims) {
  int64_t count;
  if (!ipro_checked_product(dims, (int)n_dims, &count) || count > IPRO_MAX_TENSOR_ELEMENTS)
    return -1;
  return count;
}

/* A decimal offset or length: digits only, no sign, no overflow. */
static bool parse_size(const char *text, long long *out) {
  if (!*text) return false;
  long long value = 0;
  for (const char *p = text; *p; p++) {
    if (*p < '0' || *p > '9' || value > (LLONG_MAX - 9) / 10) return false;
    value = value * 10 + (*p - '0');
  }
  *out = value;
  return true;
}

/* Whether path, once symbolic links are resolved, lies inside folder. */
static bool inside_folder(const char *folder, const char *path) {
  char real_folder[PATH_MAX], real_path[PATH_MAX];
  if (!realpath(folder, real_folder) || !realpath(path, real_path)) return true; /* open reports */
  size_t length = strlen(real_folder);
  return !strncmp(real_folder, real_path, length) &&
         (real_path[length] == '/' || (length == 1 && real_folder[0] == '/'));
}

/* External data (data_location = EXTERNAL): the bytes sit in a file named by the "location" entry,
 * relative to the model's folder and never outside it (no absolute path, no "..", no link
 * leading out), from "offset" (default 0) for "length" bytes (default: what the shape needs). */
static ipro_status read_external_data(const Onnx__TensorProto *proto, const char *model_path,
                                      uint8_t **out, size_t size, ipro_error *err) {
  const char *name = proto->name ? proto->name : "";
  const char *location = NULL;
  long long offset = 0, length = -1;
  for (size_t i = 0; i < proto->n_external_data; i++) {
    const Onnx__StringStringEntryProto *entry = proto->external_data[i];
    if (!entry->key || !entry->value) continue;
    bool is_offset = strcmp(entry->key, "offset") == 0,
         is_length = strcmp(entry->key, "length") == 0;
    if (strcmp(entry->key, "location") == 0)
      location = entry->value;
    else if ((is_offset || is_length) && !parse_size(entry->value, is_offset ? &offset : &length))
      return ipro_error_set(err, "tensor '%s': external data %s '%s' is not a byte count", name,
                            entry->key, entry->value);
  }
  if (!location || !*location)
    return ipro_error_set(err, "tensor '%s' has external data without a location", name);
  if (location[0] == '/' || strstr(location, ".."))
    return ipro_error_set(err,
                          "tensor '%s': external data location '%s' must be a path relative to "
                          "the model's folder",
                          name, location);
  if (length >= 0 && (size_t)length != size)
    return ipro_error_set(err,
                          "tensor '%s': external data length %lld does not match its shape (%zu "
                          "bytes)",
                          name, length, size);
  char path[PATH_MAX], folder[PATH_MAX];
  const char *slash = model_path ? strrchr(model_path, '/') : NULL;
  if (slash)
    snprintf(folder, sizeof folder, "%.*s", (int)(slash - model_path), model_path);
  else
    snprintf(folder, sizeof folder, ".");
  snprintf(path, sizeof path, "%s/%s", folder, location);
  if (!inside_folder(folder, path))
    return ipro_error_set(err,
                          "tensor '%s': external data file '%s' leads outside the model's "
                          "folder",
                          name, path);
  FILE *file = fopen(path, "rb");
  if (!file)
    return ipro_error_set(err, "tensor '%s': cannot open external data file '%s': %s", name, path,
                          strerror(errno));
  long end = -1;
  if (fseek(file, 0, SEEK_END) == 0) end = ftell(file);
  if (end < 0 || offset > end || (size_t)(end - offset) < size) {
    fclose(file);
    return ipro_error_set(err,
                          "tensor '%s': external data file '%s' has %ld bytes; %zu are needed at "
                          "offset %lld",
                          name, path, end, size, offset);
  }
  /* the buffer is made once the file is known to hold what the shape claims */
  uint8_t *destination = malloc(size ? size : 1);
  if (!destination) {
    fclose(file);
    return ipro_error_set(err, "out of memory for tensor '%s' (%zu bytes)", name, size);
  }
  size_t got = 0;
  if (fseek(file, (long)offset, SEEK_SET) == 0) got = fread(destination, 1, size, file);
  fclose(file);
  if (got != size) {
    free(destination);
    return ipro_error_set(err, "tensor '%s': cannot read %zu bytes at offset %lld of '%s'", name,
                          size, offset, path);
  }
  *out = destination;
  return IPRO_OK;
}

/* Copies `count` values of a typed repeated field into destination, narrowing as ONNX stores
 * small integer types (and float16 bits) widened in int32_data. */
static void copy_int32_field(const int32_t *values, size_t count, ipro_dtype dtype,
                             uint8_t *destination) {
  size_t width = ipro_dtype_size(dtype);
  for (size_t i = 0; i < count; i++) {
    int32_t v = values[i];
    switch (width) {
    case 1: destination[i] = (uint8_t)v; break;
    case 2: {
      uint16_t narrow = (uint16_t)v;
      memcpy(destination + 2 * i, &narrow, 2);
      break;
    }
    default: memcpy(destination + 4 * i, &v, 4); break;
    }
  }
}

/* How many values of dtype the tensor's typed repeated field holds (ONNX keeps float in
 * float_data, double in double_data, int64 in int64_data, uint32 and uint64 in uint64_data, and
 * the narrower types and float16 widened in int32_data). */
static size_t typed_values(const Onnx__TensorProto *proto, ipro_dtype dtype) {
  switch (dtype) {
  case IPRO_DTYPE_FLOAT: return proto->n_float_data;
  case IPRO_DTYPE_DOUBLE: return proto->n_double_data;
  case IPRO_DTYPE_INT64: return proto->n_int64_data;
  case IPRO_DTYPE_UINT32:
  case IPRO_DTYPE_UINT64: return proto->n_uint64_data;
  default: return proto->n_int32_data;
  }
}

ipro_status ipro_onnx_decode_tensor(const Onnx__TensorProto *proto, const char *model_path,
                                    ipro_tensor *out, ipro_error *err) {
  const char *name = proto->name ? proto->name : "";
  ipro_dtype dtype = (ipro_dtype)proto->data_type;
  size_t width = ipro_dtype_size(dtype);
  if (width == 0)
    return ipro_error_set(err, "tensor '%s' has dtype %s, which infopro does not support", name,
                          ipro_dtype_name(dtype));
  if (proto->n_dims > IPRO_MAX_RANK)
    return ipro_error_set(err, "tensor '%s' has rank %zu; infopro supports up to %d", name,
                          proto->n_dims, IPRO_MAX_RANK);
  int64_t elements = checked_element_count(proto->dims, proto->n_dims);
  if (elements < 0)
    return ipro_error_set(
        err, "tensor '%s' has an invalid shape (a negative dimension, or more than %lld elements)",
        name, (long long)IPRO_MAX_TENSOR_ELEMENTS);
  size_t size = (size_t)elements * width;

  out->dtype = dtype;
  out->shape.rank = (int)proto->n_dims;
  for (size_t i = 0; i < proto->n_dims; i++)
    out->shape.dims[i] = proto->dims[i];

  /* What the file holds is checked against the shape before a buffer of the shape's size is
   * made: a shape that claims more than the data gives is one message, not an allocation of
   * whatever size it claims. */
  uint8_t *data = NULL;
  bool external = proto->has_data_location &&
                  proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  if (external) {
    if (read_external_data(proto, model_path, &data, size, err) != IPRO_OK) return IPRO_ERROR;
  } else if (proto->has_raw_data && proto->raw_data.len != size) {
    return ipro_error_set(err, "tensor '%s' holds %zu bytes of raw data but its shape needs %zu",
                          name, proto->raw_data.len, size);
  } else if (!proto->has_raw_data && typed_values(proto, dtype) != (size_t)elements) {
    return ipro_error_set(err, "tensor '%s' holds %zu values but its shape needs %lld", name,
                          typed_values(proto, dtype), (long long)elements);
  }
  if (!external) data = malloc(size ? size : 1);
  if (!data) return ipro_error_set(err, "out of memory for tensor '%s' (%zu bytes)", name, size);

  if (!external && proto->has_raw_data) {
    if (size) memcpy(data, proto->raw_data.data, size);
  } else if (!external) {
    switch (dtype) {
    case IPRO_DTYPE_FLOAT:
      if (size) memcpy(data, proto->float_data, size);
      break;
    case IPRO_DTYPE_DOUBLE:
      if (size) memcpy(data, proto->double_data, size);
      break;
    case IPRO_DTYPE_INT64:
      if (size) memcpy(data, proto->int64_data, size);
      break;
    case IPRO_DTYPE_UINT32:
    case IPRO_DTYPE_UINT64:
      for (int64_t i = 0; i < elements; i++) {
        if (dtype == IPRO_DTYPE_UINT64) {
          memcpy(data + 8 * i, &proto->uint64_data[i], 8);
        } else {
          uint32_t narrow = (uint32_t)proto->uint64_data[i];
          memcpy(data + 4 * i, &narrow, 4);
        }
      }
      break;
    default: copy_int32_field(proto->int32_data, (size_t)elements, dtype, data); break;
    }
  }
  free(out->data);
  out->data = data;
  out->data_bytes = size;
  return IPRO_OK;
}

/* Whether a decoded TensorProto sets none of what makes a tensor: dtype, dimensions, data. */
static bool holds_nothing(const Onnx__TensorProto *proto) {
  return (!proto->has_data_type || proto->data_type == 0) && proto->n_dims == 0 &&
         !proto->has_raw_data && proto->n_float_data == 0 && proto->n_int32_data == 0 &&
         proto->n_int64_data == 0 && proto->n_double_data == 0 && proto->n_uint64_data == 0 &&
         proto->n_string_data == 0 && proto->n_external_data == 0;
}

ipro_status ipro_tensor_load_file(const char *path, ipro_tensor *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  out->shape.rank = -1;
  out->producer = -1;
  uint8_t *bytes = NULL;
  size_t size = 0;
  if (ipro_onnx_read_file(path, &bytes, &size, err) != IPRO_OK) return IPRO_ERROR;
  Onnx__TensorProto *proto = onnx__tensor_proto__unpack(NULL, size, bytes);
  free(bytes);
  if (!proto)
    return ipro_error_set(err, "'%s' is not a valid ONNX TensorProto (truncated or corrupt)", path);
  /* Protobuf decodes an empty file, or one of unknown fields only, as a message with nothing
   * set, whose dtype 0 would be reported as an unsupported "undefined" one: it is no tensor. */
  if (holds_nothing(proto)) {
    onnx__tensor_proto__free_unpacked(proto, NULL);
    return size == 0 ? ipro_error_set(err, "'%s' is empty (0 bytes), not an ONNX TensorProto", path)
                     : ipro_error_set(err,
                                      "'%s' is not an ONNX TensorProto: it holds no dtype, "
                                      "dimensions or data",
                                      path);
  }
  ipro_status status = ipro_onnx_decode_tensor(proto, path, out, err);
  if (status == IPRO_OK) {
    const char *name = proto->name ? proto->name : "";
    out->name = malloc(strlen(name) + 1);
    if (out->name)
      strcpy(out->name, name);
    else
      status = ipro_error_set(err, "out of memory");
  } else {
    ipro_error_prefix(err, "%s", path);
  }
  onnx__tensor_proto__free_unpacked(proto, NULL);
  if (status != IPRO_OK) ipro_tensor_release(out);
  return status;
}

void ipro_tensor_release(ipro_tensor *tensor) {
  free(tensor->name);
  free(tensor->data);
  free(tensor->declared_shape);
  tensor->name = NULL;
  tensor->data = NULL;
  tensor->declared_shape = NULL;
  tensor->data_bytes = 0;
}

ipro_status ipro_onnx_read_file(const char *path, uint8_t **bytes, size_t *size, ipro_error *err) {
  size_t held = 0;
  const uint8_t *in_memory = ipro_model_in_memory(path, &held);
  if (in_memory) {
    *bytes = malloc(held ? held : 1);
    if (!*bytes) return ipro_error_set(err, "out of memory reading '%s'", path);
    memcpy(*bytes, in_memory, held);
    *size = held;
    return IPRO_OK;
  }
  FILE *file = fopen(path, "rb");
  if (!file) return ipro_error_set(err, "cannot open '%s': %s", path, strerror(errno));
  size_t capacity = 1 << 16, used = 0;
  uint8_t *buffer = malloc(capacity);
  errno = 0;
  while (buffer) {
    used += fread(buffer + used, 1, capacity - used, file);
    if (used < capacity) break;
    uint8_t *grown = capacity < SIZE_MAX / 2 ? realloc(buffer, capacity * 2) : NULL;
    if (!grown) {
      free(buffer);
      buffer = NULL;
      break;
    }
    buffer = grown;
    capacity *= 2;
  }
  bool failed = ferror(file);
  int why = errno; /* EISDIR: a folder given as a file */
  fclose(file);
  if (!buffer) return ipro_error_set(err, "out of memory reading '%s'", path);
  if (failed) {
    free(buffer);
    return ipro_error_set(err, "cannot read '%s': %s", path, strerror(why ? why : EIO));
  }
  *bytes = buffer;
  *size = used;
  return IPRO_OK;
}

ipro_status ipro_tensor_save_file(const char *path, const ipro_tensor *tensor, ipro_error *err) {
  Onnx__TensorProto proto;
  onnx__tensor_proto__init(&proto);
  int64_t dims[IPRO_MAX_RANK];
  int rank = tensor->shape.rank > 0 ? tensor->shape.rank : 0;
  for (int i = 0; i < rank; i++)
    dims[i] = tensor->shape.dims[i];
  proto.n_dims = (size_t)rank;
  proto.dims = dims;
  proto.has_data_type = 1;
  proto.data_type = (int32_t)tensor->dtype;
  proto.name = tensor->name;
  proto.has_raw_data = 1;
  proto.raw_data.len = tensor->data_bytes;
  proto.raw_data.data = tensor->data;
  size_t size = onnx__tensor_proto__get_packed_size(&proto);
  uint8_t *bytes = malloc(size ? size : 1);
  if (!bytes) return ipro_error_set(err, "out of memory writing '%s'", path);
  onnx__tensor_proto__pack(&proto, bytes);
  ipro_status status = ipro_write_file_atomic(path, bytes, size, err);
  free(bytes);
  return status;
}

/* A small constant TensorProto held in the file itself (no external data: its folder is not
 * known here) as values of `want`. */
static bool small_tensor_values(const Onnx__TensorProto *proto, ipro_dtype want, void *values,
                                int max, int *count, int *rank) {
  if (proto->has_data_location &&
      proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return false;
  ipro_tensor decoded = {0};
  ipro_error err;
  if (ipro_onnx_decode_tensor(proto, NULL, &decoded, &err) != IPRO_OK) return false;
  int64_t n = ipro_shape_elements(&decoded.shape);
  bool ok = n >= 0 && n <= max && ipro_dtype_convert(decoded.data, decoded.dtype, values, want, n);
  *count = (int)n, *rank = decoded.shape.rank;
  free(decoded.data);
  return ok;
}

/* The value of a Constant node (a tensor, value_float, value_int or value_ints) as `want`. */
static bool constant_node_values(const Onnx__NodeProto *node, ipro_dtype want, void *values,
                                 int max, int *count, int *rank) {
  for (size_t a = 0; a < node->n_attribute; a++) {
    const Onnx__AttributeProto *attribute = node->attribute[a];
    const char *name = attribute->name ? attribute->name : "";
    *count = 1, *rank = 0;
    if (!strcmp(name, "value") && attribute->t)
      return small_tensor_values(attribute->t, want, values, max, count, rank);
    if (!strcmp(name, "value_float"))
      return ipro_dtype_convert(&attribute->f, IPRO_DTYPE_FLOAT, values, want, 1);
    if (!strcmp(name, "value_int"))
      return ipro_dtype_convert(&attribute->i, IPRO_DTYPE_INT64, values, want, 1);
    if (!strcmp(name, "value_ints") && attribute->n_ints <= (size_t)max) {
      *count = (int)attribute->n_ints, *rank = 1;
      return ipro_dtype_convert(attribute->ints, IPRO_DTYPE_INT64, values, want, *count);
    }
  }
  return false;
}

bool ipro_onnx_constant_values(const Onnx__GraphProto *graph, const char *name, ipro_dtype want,
                               void *values, int max, int *count, int *rank) {
  if (!name || !*name) return false;
  for (size_t i = 0; i < graph->n_initializer; i++)
    if (ipro_onnx_named(graph->initializer[i]->name, name))
      return small_tensor_values(graph->initializer[i], want, values, max, count, rank);
  for (size_t n = 0; n < graph->n_node; n++) {
    const Onnx__NodeProto *node = graph->node[n];
    if (node->n_output != 1 || !ipro_onnx_named(node->output[0], name)) continue;
    return ipro_onnx_default_domain(node) && ipro_onnx_named(node->op_type, "Constant") &&
           constant_node_values(node, want, values, max, count, rank);
  }
  return false;
}
