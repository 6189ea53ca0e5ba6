/* Reading plan files (partitioner/plan_file.h):
 * - the reader knows exactly the top-level properties schemas/plan.schema.json defines, and
 *   requires exactly its "required" ones (the schema file is read here with jansson and compared
 *   name by name, so the reader and the schema cannot drift apart);
 * - a plan holding the schema's required properties reads back its K, batch, peak and cuts;
 * - malformed files are refused with one message that names the file and what is wrong: a
 *   syntax error with its line and column, a wrong format or version, an unknown or missing
 *   property, a property of the wrong type, K out of range, a cut count that is not K-1;
 * - a plan made with --calibrate reads back each module's calibrated_step_seconds (taken only
 *   when every module has one), and a step that is not a number above 0 is refused. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partitioner/plan_file.h"
#include "support/check.h"

static char path[] = "/tmp/ipro_plan_file_XXXXXX";

static void write_text(const char *text) {
  FILE *file = fopen(path, "w");
  CHECK(file != NULL);
  if (!file) return;
  fputs(text, file);
  fclose(file);
}

static void check_schema_agrees(void) {
  char schema_path[1024];
  ipro_test_path(schema_path, sizeof schema_path, "schemas/plan.schema.json");
  json_error_t error;
  json_t *schema = json_load_file(schema_path, 0, &error);
  CHECK_MSG(schema != NULL, "%s:%d:%d: %s", schema_path, error.line, error.column, error.text);
  if (!schema) return;
  const json_t *properties = json_object_get(schema, "properties");
  const json_t *required = json_object_get(schema, "required");
  int known = 0, needed = 0;
  bool is_required;
  for (const char *name; (name = ipro_plan_file_property(known, &is_required)) != NULL; known++) {
    CHECK_MSG(json_object_get(properties, name) != NULL, "the reader knows \"%s\"; the schema not",
              name);
    bool in_schema = false;
    for (size_t i = 0; i < json_array_size(required); i++)
      in_schema |= strcmp(json_string_value(json_array_get(required, i)), name) == 0;
    CHECK_MSG(in_schema == is_required, "\"%s\": required by the reader %d, by the schema %d", name,
              is_required, in_schema);
    needed += is_required;
  }
  CHECK_EQ_INT(known, json_object_size(properties));
  CHECK_EQ_INT(needed, json_array_size(required));
  json_decref(schema);
}

/* A plan with every required property, K = 3; `replace` swaps in one property's text. */
static void write_plan(const char *key, const char *value) {
  static const char *const keys[] = {"format",
                                     "version",
                                     "model",
                                     "batch",
                                     "backend",
                                     "optimizer",
                                     "chosen_by",
                                     "K",
                                     "cuts",
                                     "cut_points",
                                     "heads",
                                     "modules",
                                     "fixed_bytes",
                                     "persistent_bytes",
                                     "max_transient_bytes",
                                     "peak_bytes",
                                     "e2e",
                                     "e2e_peak_bytes",
                                     "reduction"};
  static const char *const values[] = {"\"infopro-plan\"",
                                       "1",
                                       "\"m.onnx\"",
                                       "16",
                                       "\"onednn\"",
                                       "\"sgd\"",
                                       "\"-K\"",
                                       "3",
                                       "[\"a\", \"b\\\"c\"]",
                                       "[\"a\", \"b\\\"c\"]",
                                       "{}",
                                       "[{}]",
                                       "10",
                                       "20",
                                       "30",
                                       "60",
                                       "{}",
                                       "70",
                                       "0.14"};
  char text[4096] = "{\n";
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const char *v = key && strcmp(key, keys[i]) == 0 ? value : values[i];
    if (!v) continue;
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s  \"%s\": %s", i ? ",\n" : "",
             keys[i], v);
  }
  if (key && strcmp(key, "extra") == 0)
    snprintf(text + strlen(text), sizeof text - strlen(text), ",\n  \"extra\": %s", value);
  strcat(text, "\n}\n");
  write_text(text);
}

static void check_refused(const char *what, const char *expected) {
  ipro_plan_file plan;
  ipro_error err = {{0}};
  ipro_status status = ipro_plan_read(path, &plan, &err);
  CHECK_MSG(status == IPRO_ERROR, "%s: accepted", what);
  CHECK_MSG(strstr(err.message, path) && strstr(err.message, expected),
            "%s: message '%s' lacks the file or '%s'", what, err.message, expected);
  CHECK_MSG(!strchr(err.message, '\n'), "%s: message of more than one line", what);
}

int main(void) {
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  check_schema_agrees();

  write_plan(NULL, NULL);
  ipro_plan_file plan;
  ipro_error err = {{0}};
  CHECK_OK(ipro_plan_read(path, &plan, &err), &err);
  CHECK_EQ_INT(plan.K, 3);
  CHECK_EQ_INT(plan.batch, 16);
  CHECK_EQ_INT(plan.peak_bytes, 60);
  CHECK(strcmp(plan.cuts[0], "a") == 0 && strcmp(plan.cuts[1], "b\"c") == 0);

  write_text("{\n  \"format\": \"infopro-plan\",\n  \"K\": 2 2\n}\n");
  check_refused("syntax error", ":3:");
  write_plan("format", "\"onnx\"");
  check_refused("format", "infopro-plan");
  write_plan("version", "2");
  check_refused("version", "version 2");
  write_plan("extra", "1");
  check_refused("unknown property", "\"extra\"");
  write_plan("modules", NULL);
  check_refused("missing property", "\"modules\"");
  write_plan("K", "\"3\"");
  check_refused("K as a string", "\"K\" must be an integer");
  write_plan("K", "17");
  check_refused("K too large", "1 to 16");
  write_plan("cuts", "[\"a\"]");
  check_refused("cut count", "needs 2 cuts");
  write_plan("cuts", "[\"a\", 7]");
  check_refused("cut not a string", "cut 2");
  /* a plan made with --calibrate: each module's measured step, read in order */
  write_plan("modules",
             "[{\"calibrated_step_seconds\": 0.25}, {\"calibrated_step_seconds\": 1e-3}, "
             "{\"calibrated_step_seconds\": 2}]");
  CHECK_OK(ipro_plan_read(path, &plan, &err), &err);
  CHECK(plan.module_seconds[0] == 0.25 && plan.module_seconds[1] == 1e-3 &&
        plan.module_seconds[2] == 2);
  /* without one for every module (or a module entry for each), none is taken */
  write_plan("modules", "[{\"calibrated_step_seconds\": 0.25}, {}, {}]");
  CHECK_OK(ipro_plan_read(path, &plan, &err), &err);
  CHECK(plan.module_seconds[0] == 0 && plan.module_seconds[1] == 0 && plan.module_seconds[2] == 0);
  write_plan("modules", "[{\"calibrated_step_seconds\": 0.25}]");
  CHECK_OK(ipro_plan_read(path, &plan, &err), &err);
  CHECK(plan.module_seconds[0] == 0);
  write_plan("modules", "[{}, {\"calibrated_step_seconds\": 0}, {}]");
  check_refused("a step of 0 s", "module 2's \"calibrated_step_seconds\" must be a number above 0");
  write_plan("modules", "[{}, {}, {\"calibrated_step_seconds\": \"1\"}]");
  check_refused("a step as a string", "module 3's \"calibrated_step_seconds\"");
  write_plan("modules", "[{\"calibrated_step_seconds\": -1}, {}, {}]");
  check_refused("a negative step", "module 1's \"calibrated_step_seconds\"");
  /* one beyond a million seconds (counted in nanoseconds, 1e300 overflowed the integer) */
  write_plan("modules", "[{}, {\"calibrated_step_seconds\": 1e300}, {}]");
  check_refused("a step of 1e300 s", "module 2's \"calibrated_step_seconds\" must be a number "
                                     "above 0 and at most 1e+06");
  write_plan("modules", "[{\"calibrated_step_seconds\": 1e6}, {\"calibrated_step_seconds\": "
                        "1e6}, {\"calibrated_step_seconds\": 1e6}]");
  CHECK_OK(ipro_plan_read(path, &plan, &err), &err);
  CHECK(plan.module_seconds[2] == 1e6);
  unlink(path);
  check_refused("missing file", "");
  return ipro_test_finish();
}
