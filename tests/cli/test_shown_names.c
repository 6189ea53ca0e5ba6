/* Names a model supplies cannot drive the terminal or forge lines of output (ir/printable.h).
 *
 * models/mlp_fmnist.onnx is rewritten with control characters in every node and tensor name, its
 * producer, a metadata entry and an extra opset domain: an escape sequence that clears the screen,
 * one that retitles the window (ending in BEL), a carriage return, a newline, DEL and the C1 CSI
 * (U+009B, UTF-8 0xC2 0x9B). Through the binary:
 *   - `inspect`, `inspect --json` and `plan -K 2` exit 0 and write no control character but the
 *     newlines that end their lines; the table and the plan have exactly as many lines as they
 *     have for the original model (the table one more, for the metadata entry), and show the names
 * escaped (\x1b[2J...);
 *   - the untested-opset warning and, with a node's op type made hostile too, the unsupported-op
 *     error are one line each, escaped.
 * And ipro_printable itself: clean text comes back as it is (no copy), UTF-8 outside C1 is not
 * touched, a lone 0xC2 is not C1, and escaped text too long for the buffer is cut with "...". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/onnx_decode.h"
#include "ir/printable.h"
#include "support/check.h"
#include "support/command.h"

static char directory[] = "/tmp/ipro_test_shown_names_XXXXXX";

#define HOSTILE                                                                                    \
  "\x1b[2J\x1b]0;t\x07\r\n\x7f\xc2\x9b"                                                            \
  "1m"
#define HOSTILE_SHOWN "\\x1b[2J\\x1b]0;t\\x07\\x0d\\x0a\\x7f\\xc2\\x9b1m"

/* name + HOSTILE, in memory kept by the caller's list (freed at the end) */
static char *kept[4096];
static int n_kept;

static char *hostile(const char *name) {
  size_t length = strlen(name) + sizeof HOSTILE;
  char *text = malloc(length);
  if (!text || n_kept == (int)(sizeof kept / sizeof kept[0])) abort();
  snprintf(text, length, "%s%s", name, HOSTILE);
  kept[n_kept++] = text;
  return text;
}

static void rename_all(char **names, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (names[i][0]) names[i] = hostile(names[i]); /* "" is an absent optional input */
}

/* models/mlp_fmnist.onnx with hostile names, producer, metadata and opset domain; op_type of
 * node 1 made hostile too when bad_op. */
static void write_hostile_model(const char *path, bool bad_op) {
  uint8_t *bytes = NULL;
  size_t size = 0;
  ipro_error err;
  CHECK_OK(ipro_onnx_read_file("models/mlp_fmnist.onnx", &bytes, &size, &err), &err);
  Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, bytes);
  CHECK(model && model->graph && model->graph->n_node > 1 && model->n_opset_import == 1);
  if (!model || !model->graph || model->graph->n_node < 2 || model->n_opset_import != 1) return;
  Onnx__GraphProto *g = model->graph;
  /* the unpacked model's strings belong to protobuf-c: the pointers are swapped for ours and
   * swapped back before it frees them */
  Onnx__ModelProto saved_model = *model;
  Onnx__GraphProto saved_graph = *g;
  size_t n_strings = 0;
  for (size_t n = 0; n < g->n_node; n++)
    n_strings += 2 + g->node[n]->n_input + g->node[n]->n_output;
  char **saved_strings = malloc(n_strings * sizeof(char *));
  size_t at = 0;
  for (size_t n = 0; n < g->n_node; n++) {
    Onnx__NodeProto *node = g->node[n];
    saved_strings[at++] = node->name;
    saved_strings[at++] = node->op_type;
    for (size_t i = 0; i < node->n_input; i++)
      saved_strings[at++] = node->input[i];
    for (size_t i = 0; i < node->n_output; i++)
      saved_strings[at++] = node->output[i];
    node->name = hostile(node->name);
    if (bad_op && n == 1) node->op_type = hostile(node->op_type);
    rename_all(node->input, node->n_input);
    rename_all(node->output, node->n_output);
  }
  char *value_names[3][64];
  Onnx__ValueInfoProto **infos[3] = {g->input, g->output, g->value_info};
  size_t counts[3] = {g->n_input, g->n_output, g->n_value_info};
  for (int list = 0; list < 3; list++)
    for (size_t i = 0; i < counts[list] && i < 64; i++) {
      value_names[list][i] = infos[list][i]->name;
      infos[list][i]->name = hostile(infos[list][i]->name);
    }
  char *initializer_names[64];
  for (size_t i = 0; i < g->n_initializer && i < 64; i++) {
    initializer_names[i] = g->initializer[i]->name;
    g->initializer[i]->name = hostile(g->initializer[i]->name);
  }
  model->producer_name = hostile(model->producer_name);
  Onnx__StringStringEntryProto entry = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  entry.key = hostile("key");
  entry.value = hostile("value");
  Onnx__StringStringEntryProto *entries[] = {&entry};
  model->metadata_props = entries;
  model->n_metadata_props = 1;
  Onnx__OperatorSetIdProto extra = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  extra.domain = hostile("com.example");
  extra.has_version = 1;
  extra.version = 1;
  Onnx__OperatorSetIdProto *imports[2] = {model->opset_import[0], &extra};
  model->opset_import = imports;
  model->n_opset_import = 2;

  size_t packed_size = onnx__model_proto__get_packed_size(model);
  uint8_t *packed = malloc(packed_size);
  onnx__model_proto__pack(model, packed);
  FILE *file = fopen(path, "wb");
  CHECK(file && fwrite(packed, 1, packed_size, file) == packed_size);
  if (file) fclose(file);
  free(packed);

  at = 0;
  for (size_t n = 0; n < g->n_node; n++) {
    Onnx__NodeProto *node = g->node[n];
    node->name = saved_strings[at++];
    node->op_type = saved_strings[at++];
    for (size_t i = 0; i < node->n_input; i++)
      node->input[i] = saved_strings[at++];
    for (size_t i = 0; i < node->n_output; i++)
      node->output[i] = saved_strings[at++];
  }
  for (int list = 0; list < 3; list++)
    for (size_t i = 0; i < counts[list] && i < 64; i++)
      infos[list][i]->name = value_names[list][i];
  for (size_t i = 0; i < g->n_initializer && i < 64; i++)
    g->initializer[i]->name = initializer_names[i];
  *g = saved_graph;
  *model = saved_model;
  free(saved_strings);
  onnx__model_proto__free_unpacked(model, NULL);
  free(bytes);
}

/* Control characters in text other than newlines, or -1 when there are none. */
static long first_control(const char *text) {
  for (const char *p = text; *p; p++)
    if (*p != '\n' && ipro_control_length(p)) return p - text;
  return -1;
}

static int lines(const char *text) {
  int count = 0;
  for (const char *p = text; *p; p++)
    count += *p == '\n';
  return count;
}

/* Runs `infopro ARGUMENTS` on the original model and on the hostile one (MODEL in arguments is
 * replaced by each path) and checks the hostile run's output as the header says. */
static void compare_output(const char *arguments, const char *hostile_path, bool json,
                           int metadata_lines) {
  char command[2048];
  ipro_command_result original, shown;
  snprintf(command, sizeof command, arguments, "models/mlp_fmnist.onnx");
  ipro_test_run_infopro(command, &original);
  snprintf(command, sizeof command, arguments, hostile_path);
  ipro_test_run_infopro(command, &shown);
  CHECK_MSG(original.exit_status == 0 && shown.exit_status == 0,
            "%s: exit %d on the original, %d with hostile names: %s", arguments,
            original.exit_status, shown.exit_status, shown.err);
  long at = first_control(shown.out);
  CHECK_MSG(at < 0, "%s: a raw control character (0x%02x) at byte %ld of its output", arguments,
            at < 0 ? 0 : (unsigned char)shown.out[at], at);
  CHECK_MSG(lines(shown.out) == lines(original.out) + metadata_lines,
            "%s: %d lines with hostile names, %d without", arguments, lines(shown.out),
            lines(original.out));
  const char *expected =
      json ? "\\u001B[2J\\u001B]0;t\\u0007\\r\\n\\u007F\\u009B1m" : HOSTILE_SHOWN;
  CHECK_MSG(strstr(shown.out, expected) != NULL, "%s: the names are not shown as %s:\n%s",
            arguments, expected, shown.out);
  /* the warning about the hostile opset domain: one line, escaped */
  CHECK_MSG(lines(shown.err) == 1 && first_control(shown.err) < 0, "%s: stderr: %s", arguments,
            shown.err);
}

static void through_the_binary(void) {
  char path[1024], bad_op_path[1024], arguments[2048];
  snprintf(path, sizeof path, "%s/hostile.onnx", directory);
  snprintf(bad_op_path, sizeof bad_op_path, "%s/hostile_op.onnx", directory);
  write_hostile_model(path, false);
  write_hostile_model(bad_op_path, true);
  compare_output("inspect '%s'", path, false, 1); /* + the metadata entry */
  compare_output("inspect '%s' --json", path, true, 0);
  compare_output("plan '%s' -K 2 --batch 8", path, false, 0);

  ipro_command_result r;
  snprintf(arguments, sizeof arguments, "inspect '%s'", path);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(lines(r.err) == 1 && strstr(r.err, "warning") &&
                strstr(r.err, "com.example" HOSTILE_SHOWN) && first_control(r.err) < 0,
            "the untested-opset warning: %s", r.err);
  snprintf(arguments, sizeof arguments, "inspect '%s'", bad_op_path);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1, "an unsupported, hostile op type: exit %d", r.exit_status);
  CHECK_MSG(lines(r.err) == 1 && first_control(r.err) < 0 && strstr(r.err, "Gemm" HOSTILE_SHOWN),
            "an unsupported, hostile op type: one line, escaped: %s", r.err);
}

static void the_function(void) {
  char buffer[64];
  const char *clean = "/layer1/layer1.0/conv1/Conv \xc3\xa9\xe2\x82\xac \xc2"
                      "A";
  CHECK(ipro_printable(clean, buffer, sizeof buffer) == clean);
  CHECK(strcmp(ipro_printable("a\tb\x1b", buffer, sizeof buffer), "a\\x09b\\x1b") == 0);
  CHECK(strcmp(ipro_printable("\xc2\x85\xc2\xa0", buffer, sizeof buffer), "\\xc2\\x85\xc2\xa0") ==
        0);
  char longer[200];
  memset(longer, '\x1b', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  const char *cut = ipro_printable(longer, buffer, sizeof buffer);
  size_t length = strlen(cut);
  CHECK_MSG(length < sizeof buffer && length >= sizeof buffer - 8 &&
                strcmp(cut + length - 3, "...") == 0 && strncmp(cut, "\\x1b\\x1b", 8) == 0,
            "cut: '%s' (%zu bytes)", cut, length);
  ipro_error err;
  ipro_error_set(&err, "node '%s' failed", "n" HOSTILE);
  CHECK_MSG(strcmp(err.message, "node 'n" HOSTILE_SHOWN "' failed") == 0, "message: %s",
            err.message);
  ipro_error_prefix(&err, "model '%s'", "m\n");
  CHECK_MSG(strcmp(err.message, "model 'm\\x0a': node 'n" HOSTILE_SHOWN "' failed") == 0,
            "prefixed: %s", err.message);
}

int main(void) {
  the_function();
  if (!ipro_test_infopro_available()) {
    printf("skipped: the binary's output (IPRO_INFOPRO is not set)\n");
    return ipro_test_finish();
  }
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  const char *source = getenv("IPRO_SOURCE_DIR");
  if (source && chdir(source) != 0) return ipro_test_skip("cannot enter IPRO_SOURCE_DIR");
  through_the_binary();
  for (int i = 0; i < n_kept; i++)
    free(kept[i]);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
