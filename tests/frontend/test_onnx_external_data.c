/* ONNX external data, with the bundled inline resnet8 as the oracle:
 *   - re-saved with its weights in a side file (infopro's exporter, --external-data), the model
 *     file shrinks below the weights' size, a side file holds them, and the loader reads back
 *     every initializer byte for byte as the inline original has it;
 *   - exported again from that model into another folder, the output keeps external data (the
 *     source used it) in its own side file, and loads identically with the first side file gone;
 *   - the size rule, crossed without a 2 GB model through the library's inline limit: exported
 *     inline, the model takes S bytes (measured by stat); with a limit of S bytes it stays one file
 *     of S bytes, with a limit of S - 1 its weights go to a side file and it loads back identical;
 *   - a side file cut short, a location leading out of the model's folder (by "..", by an
 *     absolute path, by a symbolic link), and an offset that is not a byte count each fail the
 *     load with one message naming the tensor. */
#define _DEFAULT_SOURCE /* symlink, truncate */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx_decode.h"
#include "frontend/onnx_export.h"
#include "support/check.h"
#include "support/command.h"

static char directory[] = "/tmp/ipro_test_onnx_external_XXXXXX";

static long file_size(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 ? (long)info.st_size : -1;
}

/* Every initializer of got equals the one of the same name in want. */
static void same_initializers(const ipro_graph *want, const ipro_graph *got, const char *what) {
  int compared = 0, differing = 0;
  for (int t = 0; t < want->n_tensors; t++) {
    const ipro_tensor *a = &want->tensors[t];
    if (a->kind != IPRO_TENSOR_INITIALIZER) continue;
    int u = ipro_graph_find_tensor(got, a->name);
    const ipro_tensor *b = u >= 0 ? &got->tensors[u] : NULL;
    compared++;
    if (!b || b->data_bytes != a->data_bytes || memcmp(a->data, b->data, a->data_bytes))
      differing++;
  }
  CHECK_MSG(compared > 10 && differing == 0, "%s: %d of %d initializers differ", what, differing,
            compared);
}

/* Rewrites the first external initializer's entry `key` of model into `value`, saved at out. */
static bool edit_entry(const char *model, const char *key, const char *value, const char *out) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  ipro_error err;
  if (ipro_onnx_read_file(model, &bytes, &size, &err) != IPRO_OK) return false;
  Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, size, bytes);
  free(bytes);
  if (!proto) return false;
  bool done = false;
  char *old = NULL;
  Onnx__StringStringEntryProto *edited = NULL;
  for (size_t i = 0; !done && i < proto->graph->n_initializer; i++) {
    Onnx__TensorProto *t = proto->graph->initializer[i];
    for (size_t e = 0; !done && e < t->n_external_data; e++)
      if (!strcmp(t->external_data[e]->key, key)) {
        edited = t->external_data[e];
        old = edited->value;
        edited->value = (char *)value;
        done = true;
      }
  }
  size_t packed_size = onnx__model_proto__get_packed_size(proto);
  uint8_t *packed = malloc(packed_size);
  if (packed) onnx__model_proto__pack(proto, packed);
  if (edited) edited->value = old;
  onnx__model_proto__free_unpacked(proto, NULL);
  FILE *file = packed ? fopen(out, "wb") : NULL;
  bool ok = done && file && fwrite(packed, 1, packed_size, file) == packed_size;
  if (file) ok = fclose(file) == 0 && ok;
  free(packed);
  return ok;
}

static void expect_load_error(const char *path, const char *needle) {
  ipro_graph *graph = NULL;
  ipro_error err = {{0}};
  ipro_status status = ipro_graph_load(path, &graph, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, needle) && strstr(err.message, "tensor '"),
            "%s: expected an error with '%s', got: %s", path, needle,
            status ? err.message : "success");
  ipro_graph_free(graph);
}

/* The rule's boundary: a model of exactly the limit stays inline, one byte more moves it out. */
static void inline_limit(const char *source, const ipro_graph *inline_model) {
  char whole[1100], split[1100], split_side[1200];
  snprintf(whole, sizeof whole, "%s/whole.onnx", directory);
  snprintf(split, sizeof split, "%s/split.onnx", directory);
  snprintf(split_side, sizeof split_side, "%s.data", split);
  ipro_error err = {{0}};
  bool wrote_side = true;
  ipro_export_request request = {
      .source_model = source, .destination = whole, .wrote_side_file = &wrote_side};
  CHECK_OK(ipro_onnx_export(&request, &err), &err);
  long inline_bytes = file_size(whole);
  CHECK_MSG(!wrote_side && inline_bytes > 0, "the default export wrote a side file");
  request.inline_limit = (size_t)inline_bytes;
  CHECK_OK(ipro_onnx_export(&request, &err), &err);
  CHECK_MSG(!wrote_side && file_size(whole) == inline_bytes,
            "a model of exactly the limit (%ld bytes) was split: %ld bytes left", inline_bytes,
            file_size(whole));
  request.destination = split;
  request.inline_limit = (size_t)inline_bytes - 1;
  CHECK_OK(ipro_onnx_export(&request, &err), &err);
  CHECK_MSG(wrote_side && file_size(split) < inline_bytes / 10 && file_size(split_side) > 0,
            "one byte past the limit: side file %s, model %ld bytes, side %ld bytes",
            wrote_side ? "written" : "not written", file_size(split), file_size(split_side));
  ipro_graph *loaded = NULL;
  CHECK_OK(ipro_graph_load(split, &loaded, &err), &err);
  if (loaded) same_initializers(inline_model, loaded, "split by the inline limit");
  ipro_graph_free(loaded);
}

int main(void) {
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary folder");
  char source[1024], external[1100], side[1100], folder[1100], again[1200], again_side[1300];
  ipro_test_path(source, sizeof source, "models/resnet8_fmnist.onnx");
  snprintf(external, sizeof external, "%s/external.onnx", directory);
  snprintf(side, sizeof side, "%s.data", external);
  snprintf(folder, sizeof folder, "%s/elsewhere", directory);
  snprintf(again, sizeof again, "%s/again.onnx", folder);
  snprintf(again_side, sizeof again_side, "%s.data", again);
  ipro_error err = {{0}};
  ipro_graph *inline_model = NULL, *loaded = NULL;
  CHECK_OK(ipro_graph_load(source, &inline_model, &err), &err);
  if (!inline_model) return ipro_test_finish();
  size_t weight_bytes = 0;
  for (int t = 0; t < inline_model->n_tensors; t++)
    if (inline_model->tensors[t].kind == IPRO_TENSOR_INITIALIZER)
      weight_bytes += inline_model->tensors[t].data_bytes;

  bool wrote_side = false;
  ipro_export_request request = {.source_model = source,
                                 .destination = external,
                                 .external_data = true,
                                 .wrote_side_file = &wrote_side};
  CHECK_OK(ipro_onnx_export(&request, &err), &err);
  CHECK(wrote_side);
  CHECK_MSG(file_size(external) > 0 && file_size(external) < (long)weight_bytes / 10 &&
                file_size(side) >= (long)weight_bytes * 9 / 10,
            "model %ld bytes, side file %ld bytes, weights %zu bytes", file_size(external),
            file_size(side), weight_bytes);
  CHECK_OK(ipro_graph_load(external, &loaded, &err), &err);
  if (loaded) same_initializers(inline_model, loaded, "re-saved with external data");
  ipro_graph_free(loaded);
  loaded = NULL;

  CHECK(mkdir(folder, 0700) == 0);
  request = (ipro_export_request){.source_model = external, .destination = again};
  CHECK_OK(ipro_onnx_export(&request, &err), &err);
  CHECK_MSG(file_size(again_side) == file_size(side), "the copy's side file: %ld bytes, not %ld",
            file_size(again_side), file_size(side));
  char moved[1200];
  snprintf(moved, sizeof moved, "%s/moved.data", directory);
  CHECK(rename(side, moved) == 0);
  CHECK_OK(ipro_graph_load(again, &loaded, &err), &err);
  if (loaded) same_initializers(inline_model, loaded, "exported from the external model");
  ipro_graph_free(loaded);
  CHECK(rename(moved, side) == 0);

  char bad[1200];
  snprintf(bad, sizeof bad, "%s/bad.onnx", directory);
  CHECK(edit_entry(external, "location", "../external.onnx.data", bad));
  expect_load_error(bad, "must be a path relative");
  CHECK(edit_entry(external, "location", side, bad));
  expect_load_error(bad, "must be a path relative");
  CHECK(edit_entry(external, "offset", "12x", bad));
  expect_load_error(bad, "is not a byte count");
  /* A link inside the folder that leads out of it. */
  char link_path[1200];
  snprintf(link_path, sizeof link_path, "%s/link.data", folder);
  CHECK(symlink(side, link_path) == 0);
  snprintf(bad, sizeof bad, "%s/linked.onnx", folder);
  CHECK(edit_entry(external, "location", "link.data", bad));
  expect_load_error(bad, "leads outside the model's folder");
  /* A copy whose side file is cut to half its length. */
  char cut[1200], cut_side[1300];
  snprintf(cut, sizeof cut, "%s/cut.onnx", directory);
  snprintf(cut_side, sizeof cut_side, "%s.data", cut);
  request = (ipro_export_request){.source_model = external, .destination = cut};
  CHECK_OK(ipro_onnx_export(&request, &err), &err);
  CHECK(truncate(cut_side, file_size(cut_side) / 2) == 0);
  expect_load_error(cut, "are needed at offset");
  inline_limit(source, inline_model);
  ipro_graph_free(inline_model);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
