/* A model that lives in memory under a name, for a process that carries its ONNX model inside
 * another file: a compiled training program (runtime/program_file.h) holds the model it was
 * compiled from, and its runner provides those bytes under the model's name before anything is
 * loaded. Every reader of a model file (the loader, the exporter) reads through
 * ipro_onnx_read_file, which answers a provided name from memory, so the same loading, testing
 * and export code serves a model file and a compiled program.
 *
 * One model at a time, provided once before the first load and kept until the process ends
 * (the runner owns the bytes). */
#ifndef IPRO_MODEL_IN_MEMORY_H
#define IPRO_MODEL_IN_MEMORY_H

#include <stddef.h>
#include <stdint.h>

/* name: what messages call the model; reads of exactly that path get a copy of bytes. */
void ipro_model_provide_in_memory(const char *name, const uint8_t *bytes, size_t size);
/* The bytes provided under path, or NULL when path is not the model in memory. */
const uint8_t *ipro_model_in_memory(const char *path, size_t *size);

#endif
