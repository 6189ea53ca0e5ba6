/* Writing ONNX external data: initializer bytes moved out of the model into one side file beside
 * it (TensorProto.data_location = EXTERNAL with external_data entries location, offset, length),
 * the way onnx.save_model(..., save_as_external_data=True) lays them out. Needed for models past
 * protobuf's 2 GB message limit, and kept whenever the source model used it. Reading is in
 * onnx_tensor.c. Internal to the frontend (protobuf-c types). */
#ifndef IPRO_ONNX_EXTERNAL_DATA_H
#define IPRO_ONNX_EXTERNAL_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "ir/atomic_file.h"
#include "onnx_decode.h"
#include "proto_edits.h"

/* Initializers at least this large go to the side file (onnx's default size_threshold). */
#define IPRO_EXTERNAL_DATA_THRESHOLD 1024

/* True when any initializer of graph keeps its data in an external file. */
bool ipro_onnx_uses_external_data(const Onnx__GraphProto *graph);

/* Writes into side (a file being written atomically, its first byte the side file's) the data of
 * every initializer that is external (read from beside source_model, one at a time) or holds at
 * least IPRO_EXTERNAL_DATA_THRESHOLD bytes of raw_data, each at a 64-byte aligned offset, and
 * points each at location side_name with its offset and length; *side_size: the bytes written.
 * The edits go into log (undone before the message is freed). A write that fails is reported by
 * the file's commit. */
ipro_status ipro_onnx_externalize(Onnx__GraphProto *graph, const char *source_model,
                                  const char *side_name, ipro_atomic_file *side,
                                  ipro_proto_edits *log, size_t *side_size, ipro_error *err);

#endif
