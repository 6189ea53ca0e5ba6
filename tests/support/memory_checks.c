/* The checks of memory_checks.h, reading the JSON with jansson. */
#include "memory_checks.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static uint64_t field(const json_t *object, const char *key, const char *what) {
  const json_t *value = json_object_get(object, key);
  CHECK_MSG(json_is_integer(value), "%s: no integer \"%s\" in the memory report", what, key);
  return value ? (uint64_t)json_integer_value(value) : 0;
}

void ipro_test_prepare_memory_measurement(void) {
  const char *asan = getenv("ASAN_OPTIONS");
  char options[512];
  snprintf(options, sizeof options, "%s%squarantine_size_mb=0", asan ? asan : "",
           asan && *asan ? ":" : "");
  setenv("ASAN_OPTIONS", options, 1);
}

/* The trainer's allocator-measured peak against its plan and programs (memory_checks.h). */
static void check_trainer(const char *what, uint64_t planned, uint64_t trainer, uint64_t programs,
                          uint64_t building, ipro_test_memory_bounds bounds) {
  CHECK_MSG(building >= bounds.building_floor,
            "%s: building the trainer's programs peaked at %llu allocator bytes, less than the "
            "%llu of the model file it reads",
            what, (unsigned long long)building, (unsigned long long)bounds.building_floor);
  CHECK_MSG(planned > 0 && trainer >= planned,
            "%s: the allocator handed the trainer %llu bytes at most, fewer than the %llu "
            "planned",
            what, (unsigned long long)trainer, (unsigned long long)planned);
  uint64_t unplanned = (uint64_t)(bounds.unplanned_fraction * (double)planned);
  if (unplanned < bounds.unplanned_floor) unplanned = bounds.unplanned_floor;
  CHECK_MSG(trainer <= planned + programs + unplanned,
            "%s: allocator-measured %llu bytes, more than planned %llu + programs %llu + "
            "unplanned allowance %llu",
            what, (unsigned long long)trainer, (unsigned long long)planned,
            (unsigned long long)programs, (unsigned long long)unplanned);
  CHECK_MSG(programs <= bounds.programs_limit,
            "%s: programs and primitives hold %llu bytes (bound %llu)", what,
            (unsigned long long)programs, (unsigned long long)bounds.programs_limit);
  CHECK_MSG(bounds.whole_fraction <= 0 ||
                (double)trainer <= (1.0 + bounds.whole_fraction) * (double)planned,
            "%s: allocator-measured %llu bytes, %+.3f%% of planned %llu (bound %+.3f%%)", what,
            (unsigned long long)trainer,
            100.0 * ((double)trainer - (double)planned) / (double)planned,
            (unsigned long long)planned, 100.0 * bounds.whole_fraction);
}

/* The JSON object on the last line of out that starts with '{' (NULL, checked, if none parses);
 * the caller releases it. */
static json_t *json_line(const char *what, const char *out) {
  const char *line = NULL;
  for (const char *p = out; *p;) {
    if (*p == '{') line = p;
    const char *next = strchr(p, '\n');
    if (!next) break;
    p = next + 1;
  }
  CHECK_MSG(line != NULL, "%s: no JSON line in: %s", what, out);
  if (!line) return NULL;
  json_error_t error;
  json_t *root = json_loadb(line, strcspn(line, "\n"), 0, &error);
  CHECK_MSG(root != NULL, "%s: JSON line %d:%d: %s", what, error.line, error.column, error.text);
  return root;
}

static void check_memory(const char *what, const char *out, ipro_test_memory_bounds bounds,
                         bool rss_bound) {
  json_t *root = json_line(what, out);
  const json_t *memory = root ? json_object_get(root, "memory") : NULL;
  const json_t *outside = memory ? json_object_get(memory, "outside_plan") : NULL;
  CHECK_MSG(memory && outside, "%s: no memory object in: %s", what, out);
  if (memory && outside) {
    uint64_t planned = field(memory, "planned_peak_bytes", what);
    uint64_t trainer = field(memory, "trainer_allocator_measured_bytes", what);
    uint64_t programs = field(outside, "programs_and_primitives_bytes", what);
    uint64_t building = field(outside, "building_trainer_programs_peak_bytes", what);
    uint64_t rss = field(memory, "rss_growth_bytes", what);
    uint64_t dataset = field(outside, "dataset_bytes", what);
    uint64_t slack = 64ull << 20;
    printf("%s: planned %llu, allocator-measured trainer %llu (%+.3f%%, programs %llu; building "
           "its programs %llu), RSS growth %llu (bound %llu)\n",
           what, (unsigned long long)planned, (unsigned long long)trainer,
           planned ? 100.0 * ((double)trainer - (double)planned) / (double)planned : 0.0,
           (unsigned long long)programs, (unsigned long long)building, (unsigned long long)rss,
           (unsigned long long)(planned + dataset + slack));
    check_trainer(what, planned, trainer, programs, building, bounds);
    CHECK_MSG(!rss_bound || (rss > 0 && rss <= planned + dataset + slack),
              "%s: RSS grew by %llu bytes, more than planned %llu + dataset %llu + 64 MiB", what,
              (unsigned long long)rss, (unsigned long long)planned, (unsigned long long)dataset);
  }
  json_decref(root);
}

void ipro_test_check_train_memory(const char *what, const char *out,
                                  ipro_test_memory_bounds bounds) {
  check_memory(what, out, bounds, true);
}

void ipro_test_check_trainer_memory(const char *what, const char *out,
                                    ipro_test_memory_bounds bounds) {
  check_memory(what, out, bounds, false);
}

void ipro_test_check_pipeline_memory(const char *what, const char *out, int K, int stages,
                                     ipro_test_memory_bounds bounds) {
  json_t *root = json_line(what, out);
  const json_t *pipeline = root ? json_object_get(root, "pipeline") : NULL;
  const json_t *ranks = pipeline ? json_object_get(pipeline, "ranks") : NULL;
  CHECK_MSG(json_is_array(ranks) && (int)json_array_size(ranks) == stages,
            "%s: no \"pipeline\" object with %d ranks in: %s", what, stages, out);
  int next_module = 1;
  for (size_t i = 0; ranks && i < json_array_size(ranks); i++) {
    const json_t *rank = json_array_get(ranks, i);
    const json_t *memory = json_object_get(rank, "memory");
    char rank_what[160];
    snprintf(rank_what, sizeof rank_what, "%s, rank %zu", what, i);
    int first = (int)field(rank, "first_module", rank_what);
    int last = (int)field(rank, "last_module", rank_what);
    CHECK_MSG(first == next_module && last >= first && last <= K,
              "%s: modules %d-%d after module %d of %d", rank_what, first, last, next_module - 1,
              K);
    next_module = last + 1;
    CHECK_MSG(memory != NULL, "%s: no memory object", rank_what);
    if (!memory) continue;
    uint64_t planned = field(memory, "planned_peak_bytes", rank_what);
    uint64_t trainer = field(memory, "trainer_allocator_measured_bytes", rank_what);
    uint64_t programs = field(memory, "programs_and_primitives_bytes", rank_what);
    uint64_t building = field(memory, "building_trainer_programs_peak_bytes", rank_what);
    printf("%s (modules %d-%d): planned %llu, allocator-measured trainer %llu (%+.3f%%, programs "
           "%llu; building its programs %llu)\n",
           rank_what, first, last, (unsigned long long)planned, (unsigned long long)trainer,
           planned ? 100.0 * ((double)trainer - (double)planned) / (double)planned : 0.0,
           (unsigned long long)programs, (unsigned long long)building);
    check_trainer(rank_what, planned, trainer, programs, building, bounds);
  }
  CHECK_MSG(!ranks || next_module == K + 1, "%s: the ranks train modules 1-%d of %d", what,
            next_module - 1, K);
  json_decref(root);
}
