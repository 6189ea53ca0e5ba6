/* The --json writer (frontend/json_writer.h) against jansson's parser, which must read back what
 * it wrote as one document: nested objects and arrays in the order written, integers at the
 * int64 limits, doubles to 17 significant digits (the same double back), booleans, and strings
 * with quotes, backslashes, C0 controls, DEL, C1 controls and UTF-8 (é, ü) back byte for byte;
 * in the written text no raw control character (C0, DEL or C1) remains, DEL and C1 written as
 * \u007F and \u0080 to \u009F; a string or key that is not UTF-8 comes back with its bytes from
 * 0x80 up as the text \xNN; a double that is not finite as null; the document on one line. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/json_writer.h"
#include "ir/printable.h"
#include "support/check.h"

/* The writer's output for the fixed document below, in a malloc'd string. */
static char *write_document(void) {
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  if (!out) return NULL;
  ipro_json_writer w = {.out = out};
  ipro_json_begin_object(&w, NULL);
  ipro_json_string(&w, "quoted", "say \"hi\" \\ back/slash");
  ipro_json_string(&w, "controls",
                   "\x1b[2J\x07\r\n\t\x7f\xc2\x9b"
                   "1m");
  ipro_json_string(&w, "utf8", "caf\xc3\xa9 \xc3\xbc");
  ipro_json_string(&w, "not utf8", "a\xff\xc3(");
  ipro_json_string(&w, "key\xfe", "from a key that is not UTF-8");
  ipro_json_int(&w, "min", INT64_MIN);
  ipro_json_int(&w, "max", INT64_MAX);
  ipro_json_double(&w, "tenth", 0.1);
  ipro_json_double(&w, "forty", 40.0);
  ipro_json_double(&w, "nan", NAN);
  ipro_json_double(&w, "infinity", -INFINITY);
  ipro_json_bool(&w, "yes", true);
  ipro_json_begin_array(&w, "list");
  ipro_json_int(&w, NULL, 1);
  ipro_json_begin_object(&w, NULL);
  ipro_json_string(&w, "inner", "x");
  ipro_json_end_object(&w);
  ipro_json_begin_array(&w, NULL);
  ipro_json_end_array(&w);
  ipro_json_string(&w, NULL, "last");
  ipro_json_end_array(&w);
  ipro_json_end_object(&w);
  fclose(out);
  return text;
}

static const char *string_of(const json_t *document, const char *key) {
  return json_string_value(json_object_get(document, key));
}

int main(void) {
  char *text = write_document();
  CHECK(text != NULL);
  if (!text) return ipro_test_finish();
  size_t length = strlen(text);
  CHECK_MSG(length > 0 && text[length - 1] == '\n' && strchr(text, '\n') == text + length - 1,
            "not one line ending in a newline: %s", text);
  long raw = -1; /* the first raw control character but the closing newline */
  for (const char *p = text; *p && raw < 0; p++)
    if (*p == '\n' ? p != text + length - 1 : ipro_control_length(p) != 0) raw = p - text;
  CHECK_MSG(raw < 0, "a raw control character 0x%02x at byte %ld",
            raw < 0 ? 0 : (unsigned char)text[raw], raw);
  CHECK_MSG(strstr(text, "\\u007F") && strstr(text, "\\u009B"), "DEL and C1 not escaped: %s", text);

  json_error_t error;
  json_t *document = json_loads(text, 0, &error);
  CHECK_MSG(document != NULL, "jansson cannot read it back: %s at %d: %s", error.text,
            error.position, text);
  if (document) {
    const char *keys[] = {"quoted", "controls", "utf8", "not utf8", "key\\xfe", "min", "max",
                          "tenth",  "forty",    "nan",  "infinity", "yes",      "list"};
    const char *key;
    json_t *value;
    size_t i = 0;
    json_object_foreach(document, key, value) {
      CHECK_MSG(i < sizeof keys / sizeof keys[0] && strcmp(key, keys[i]) == 0,
                "key %zu is '%s', want '%s'", i, key,
                i < sizeof keys / sizeof keys[0] ? keys[i] : "none");
      i++;
    }
    CHECK_EQ_INT(i, sizeof keys / sizeof keys[0]);
    const char *quoted = string_of(document, "quoted"), *controls = string_of(document, "controls");
    CHECK(quoted && strcmp(quoted, "say \"hi\" \\ back/slash") == 0);
    CHECK(controls && strcmp(controls, "\x1b[2J\x07\r\n\t\x7f\xc2\x9b"
                                       "1m") == 0);
    const char *utf8 = string_of(document, "utf8"), *bytes = string_of(document, "not utf8");
    CHECK(utf8 && strcmp(utf8, "caf\xc3\xa9 \xc3\xbc") == 0);
    CHECK_MSG(bytes && strcmp(bytes, "a\\xff\\xc3(") == 0, "not UTF-8: '%s'", bytes);
    CHECK(json_integer_value(json_object_get(document, "min")) == INT64_MIN);
    CHECK(json_integer_value(json_object_get(document, "max")) == INT64_MAX);
    CHECK(json_real_value(json_object_get(document, "tenth")) == 0.1);
    CHECK(json_number_value(json_object_get(document, "forty")) == 40.0);
    CHECK(json_is_null(json_object_get(document, "nan")));
    CHECK(json_is_null(json_object_get(document, "infinity")));
    CHECK(json_is_true(json_object_get(document, "yes")));
    const json_t *list = json_object_get(document, "list");
    CHECK(json_is_array(list) && json_array_size(list) == 4);
    CHECK(json_integer_value(json_array_get(list, 0)) == 1);
    CHECK(string_of(json_array_get(list, 1), "inner") &&
          strcmp(string_of(json_array_get(list, 1), "inner"), "x") == 0);
    CHECK(json_is_array(json_array_get(list, 2)) && json_array_size(json_array_get(list, 2)) == 0);
    CHECK(json_string_value(json_array_get(list, 3)) &&
          strcmp(json_string_value(json_array_get(list, 3)), "last") == 0);
    json_decref(document);
  }
  free(text);
  return ipro_test_finish();
}
