/* Writing trained weights back into an ONNX file: the source ModelProto is decoded again with
 * protobuf-c, the data of each float initializer is replaced by the value a callback supplies
 * (in the decoded message's own storage where it has one), and the model is packed straight into
 * a file written atomically (atomic_file.h): besides the decoded model, the export holds only a
 * 64 KiB staging area. Everything else — nodes, attributes, graph inputs and outputs, metadata,
 * the initializers the callback leaves alone, fields infopro does not know — is re-encoded from
 * the decoded message unchanged, so the result is the source model with new weights and loads
 * wherever the source loaded.
 *
 * A replaced initializer keeps its name, dims and data type; its data is stored as raw_data
 * (little-endian float32, what ONNX's raw_data means on every platform infopro runs on), and
 * its typed fields (float_data) are cleared.
 *
 * External data (onnx_external_data.h): when the source keeps any initializer in an external
 * file, when the model would pass protobuf's 2 GB limit (ipro_onnx_export_needs_side_file), or
 * when asked, every initializer of at least 1 KiB and every one the source kept outside goes to
 * DESTINATION.data beside the output (location "BASENAME.data"), written before the model;
 * otherwise the output is one file.
 *
 * Inference form (onnx_inference_form.h): on request the graph's BatchNormalization and Dropout
 * nodes are rewritten for inference on the way out. */
#ifndef IPRO_ONNX_EXPORT_H
#define IPRO_ONNX_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/graph.h"

/* What a value_of callback returns to leave an initializer exactly as the source has it. */
#define IPRO_EXPORT_KEEP ((ipro_status)2)

/* value_of is called once per float initializer of the main graph, in file order, with its name,
 * dtype (IPRO_DTYPE_FLOAT), dims and rank as the file declares them, and a buffer of `bytes`
 * bytes (the element count times 4), which may be where the decoded model holds the current
 * value. It returns IPRO_OK after filling out with the new value, IPRO_EXPORT_KEEP, before
 * writing anything, to leave that initializer alone, or IPRO_ERROR with err set, which stops the
 * export (nothing is written). destination may equal source_model. */
typedef ipro_status (*ipro_export_value_fn)(void *context, const char *name, ipro_dtype dtype,
                                            const int64_t *dims, int rank, void *out, size_t bytes,
                                            ipro_error *err);

ipro_status ipro_onnx_export_initializers(const char *source_model, const char *destination,
                                          ipro_export_value_fn value_of, void *context,
                                          ipro_error *err);

typedef struct {
  const char *source_model, *destination;
  ipro_export_value_fn value_of; /* NULL: every initializer kept */
  void *context;
  bool inference;        /* write the inference form */
  bool external_data;    /* side file even when neither the source nor the size asks for it */
  bool *wrote_side_file; /* optional: set to whether DESTINATION.data was written */
  /* The most bytes the model may take as one file before its weights move to a side file; 0:
   * IPRO_EXPORT_INLINE_LIMIT. Smaller values let tests cross the rule without a 2 GB model. */
  size_t inline_limit;
  /* Model metadata to write (metadata_props): n_metadata keys, metadata_keys[i] with the value
   * metadata_values[i], each replacing an entry of that key or added after the source's; a NULL
   * value removes the key. */
  int n_metadata;
  const char *const *metadata_keys, *const *metadata_values;
} ipro_export_request;

/* protobuf's limit on one message (2 GiB), less room for the fields around the initializers. */
#define IPRO_EXPORT_INLINE_LIMIT ((size_t)2000 * 1000 * 1000)

/* The rule deciding where the weights go: a side file when asked (external_data), when the source
 * kept weights outside (source_external), or when the model packed inline would take more than
 * inline_limit bytes (0: IPRO_EXPORT_INLINE_LIMIT). */
bool ipro_onnx_export_needs_side_file(bool external_data, bool source_external, size_t inline_bytes,
                                      size_t inline_limit);

ipro_status ipro_onnx_export(const ipro_export_request *request, ipro_error *err);

/* The files, relative to the model's folder, that hold a model's external data (distinct
 * "location" entries, at most max, each under 512 bytes); *count 0 for a model without any. A
 * compiled program carries at most IPRO_ONNX_MAX_SIDE_FILES of them. */
#define IPRO_ONNX_MAX_SIDE_FILES 64
ipro_status ipro_onnx_side_files(const char *model_path, char (*locations)[512], int max,
                                 int *count, ipro_error *err);

#endif
