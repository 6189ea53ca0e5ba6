/* The plan reader of plan_file.h. */
#include "plan_file.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

typedef enum { KIND_STRING, KIND_INTEGER, KIND_NUMBER, KIND_ARRAY, KIND_OBJECT, KIND_BOOL } kind;

typedef struct {
  const char *name;
  kind kind;
} property;

/* schemas/plan.schema.json's "properties": the "required" ones first, in its order. */
static const property properties[] = {{"format", KIND_STRING},
                                      {"version", KIND_INTEGER},
                                      {"model", KIND_STRING},
                                      {"batch", KIND_INTEGER},
                                      {"backend", KIND_STRING},
                                      {"optimizer", KIND_STRING},
                                      {"chosen_by", KIND_STRING},
                                      {"K", KIND_INTEGER},
                                      {"cuts", KIND_ARRAY},
                                      {"cut_points", KIND_ARRAY},
                                      {"heads", KIND_OBJECT},
                                      {"modules", KIND_ARRAY},
                                      {"fixed_bytes", KIND_INTEGER},
                                      {"persistent_bytes", KIND_INTEGER},
                                      {"max_transient_bytes", KIND_INTEGER},
                                      {"peak_bytes", KIND_INTEGER},
                                      {"e2e", KIND_OBJECT},
                                      {"e2e_peak_bytes", KIND_INTEGER},
                                      {"reduction", KIND_NUMBER},
                                      {"budget_bytes", KIND_INTEGER},
                                      {"fits", KIND_BOOL},
                                      {"bound_peak_bytes", KIND_INTEGER},
                                      {"bound_kept", KIND_NUMBER},
                                      {"head_limit_bytes", KIND_INTEGER},
                                      {"infopro", KIND_STRING}};
enum { N_PROPERTIES = sizeof properties / sizeof properties[0], N_REQUIRED = 19 };

const char *ipro_plan_file_property(int index, bool *required) {
  if (index < 0 || index >= N_PROPERTIES) return NULL;
  if (required) *required = index < N_REQUIRED;
  return properties[index].name;
}

static const char *kind_name(kind k) {
  static const char *const names[] = {"a string", "an integer", "a number",
                                      "an array", "an object",  "true or false"};
  return names[k];
}

static int has_kind(const json_t *value, kind k) {
  switch (k) {
  case KIND_STRING: return json_is_string(value);
  case KIND_INTEGER: return json_is_integer(value);
  case KIND_NUMBER: return json_is_number(value);
  case KIND_ARRAY: return json_is_array(value);
  case KIND_OBJECT: return json_is_object(value);
  case KIND_BOOL: return json_is_boolean(value);
  }
  return 0;
}

/* Every property known and of its type, every required one present. */
static ipro_status check_properties(const json_t *root, const char *path, ipro_error *err) {
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)root, key, value) {
    int p = 0;
    while (p < N_PROPERTIES && strcmp(properties[p].name, key) != 0)
      p++;
    if (p == N_PROPERTIES)
      return ipro_error_set(err, "%s: not a plan file: unknown property \"%s\"", path, key);
    if (!has_kind(value, properties[p].kind))
      return ipro_error_set(err, "%s: \"%s\" must be %s", path, key, kind_name(properties[p].kind));
  }
  for (int p = 0; p < N_REQUIRED; p++)
    if (!json_object_get(root, properties[p].name))
      return ipro_error_set(err, "%s: not a plan file: no \"%s\"", path, properties[p].name);
  return IPRO_OK;
}

/* The modules' calibrated step times, where the plan has one for each of its K modules (a plan
 * made with --calibrate); each given must be a number above 0, as the schema says, and at most
 * IPRO_PLAN_MAX_STEP_SECONDS. */
static ipro_status read_module_seconds(const json_t *modules, const char *path, ipro_plan_file *out,
                                       ipro_error *err) {
  if (json_array_size(modules) != (size_t)out->K) return IPRO_OK;
  double seconds[IPRO_MAX_MODULES];
  int timed = 0;
  for (int k = 0; k < out->K; k++) {
    const json_t *value =
        json_object_get(json_array_get(modules, (size_t)k), "calibrated_step_seconds");
    if (!value) continue;
    if (!json_is_number(value) || !(json_number_value(value) > 0) ||
        !(json_number_value(value) <= IPRO_PLAN_MAX_STEP_SECONDS))
      return ipro_error_set(err,
                            "%s: module %d's \"calibrated_step_seconds\" must be a number above 0 "
                            "and at most %g",
                            path, k + 1, IPRO_PLAN_MAX_STEP_SECONDS);
    seconds[timed++] = json_number_value(value);
  }
  if (timed == out->K) memcpy(out->module_seconds, seconds, sizeof(double) * (size_t)out->K);
  return IPRO_OK;
}

static ipro_status read_plan(const json_t *root, const char *path, ipro_plan_file *out,
                             ipro_error *err) {
  if (!json_is_object(root)) return ipro_error_set(err, "%s: a plan is a JSON object", path);
  if (check_properties(root, path, err) != IPRO_OK) return IPRO_ERROR;
  const char *format = json_string_value(json_object_get(root, "format"));
  if (strcmp(format, "infopro-plan") != 0)
    return ipro_error_set(err, "%s: \"format\" is \"%s\", not \"infopro-plan\"", path, format);
  json_int_t version = json_integer_value(json_object_get(root, "version"));
  if (version != IPRO_PLAN_VERSION)
    return ipro_error_set(err, "%s: plan version %lld; this infopro reads version %d", path,
                          (long long)version, IPRO_PLAN_VERSION);
  snprintf(out->model, sizeof out->model, "%s", json_string_value(json_object_get(root, "model")));
  json_int_t K = json_integer_value(json_object_get(root, "K"));
  json_int_t batch = json_integer_value(json_object_get(root, "batch"));
  json_int_t peak = json_integer_value(json_object_get(root, "peak_bytes"));
  const json_t *cuts = json_object_get(root, "cuts");
  if (K < 1 || K > IPRO_MAX_MODULES)
    return ipro_error_set(err, "%s: \"K\" is %lld; it must be 1 to %d", path, (long long)K,
                          IPRO_MAX_MODULES);
  if (batch < 1) return ipro_error_set(err, "%s: \"batch\" must be at least 1", path);
  if (peak < 0) return ipro_error_set(err, "%s: \"peak_bytes\" must not be negative", path);
  if ((json_int_t)json_array_size(cuts) != K - 1)
    return ipro_error_set(err, "%s: K = %lld needs %lld cuts; \"cuts\" holds %zu", path,
                          (long long)K, (long long)K - 1, json_array_size(cuts));
  const json_t *limit = json_object_get(root, "head_limit_bytes");
  if (limit && json_integer_value(limit) < 0)
    return ipro_error_set(err, "%s: \"head_limit_bytes\" must not be negative", path);
  out->K = (int)K;
  out->batch = batch;
  out->peak_bytes = (uint64_t)peak;
  out->head_limit_bytes = limit ? (uint64_t)json_integer_value(limit) : UINT64_MAX;
  if (read_module_seconds(json_object_get(root, "modules"), path, out, err) != IPRO_OK)
    return IPRO_ERROR;
  for (size_t c = 0; c < json_array_size(cuts); c++) {
    const char *name = json_string_value(json_array_get(cuts, c));
    if (!name) return ipro_error_set(err, "%s: cut %zu is not a string", path, c + 1);
    if (strlen(name) >= IPRO_PLAN_NAME_BYTES)
      return ipro_error_set(err, "%s: cut %zu's name is longer than %d bytes", path, c + 1,
                            IPRO_PLAN_NAME_BYTES - 1);
    snprintf(out->cuts[c], IPRO_PLAN_NAME_BYTES, "%s", name);
  }
  return IPRO_OK;
}

ipro_status ipro_plan_read(const char *path, ipro_plan_file *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  json_error_t parse_error;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &parse_error);
  if (!root) {
    if (parse_error.line < 1) return ipro_error_set(err, "%s: %s", path, parse_error.text);
    return ipro_error_set(err, "%s:%d:%d: not valid JSON: %s", path, parse_error.line,
                          parse_error.column, parse_error.text);
  }
  ipro_status status = read_plan(root, path, out, err);
  json_decref(root);
  return status;
}
