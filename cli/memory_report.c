/* The memory summary of `infopro train` (memory_report.h). */
#include "memory_report.h"

static uint64_t difference(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }
static uint64_t larger(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Programs, graphs and library primitives: what the trainer holds beyond its counted blocks. */
static uint64_t programs_of(const ipro_cli_memory_report *m) {
  return difference(m->trainer_held, m->counted);
}

/* The trainer's own peak: while it was created, or later less what the test pass and the
 * pipeline hold. */
static uint64_t trainer_of(const ipro_cli_memory_report *m) {
  uint64_t later = difference(difference(m->allocator, m->test_pass_held), m->pipeline_held);
  return larger(later, m->trainer_creation_peak);
}

uint64_t ipro_cli_memory_report_trainer(const ipro_cli_memory_report *m) { return trainer_of(m); }

uint64_t ipro_cli_memory_report_programs(const ipro_cli_memory_report *m) { return programs_of(m); }

static uint64_t allocator_of(const ipro_cli_memory_report *m) {
  return larger(larger(m->allocator, m->trainer_creation_peak),
                larger(m->trainer_building_peak, m->between_epochs_peak));
}

static double percent_over(uint64_t measured, uint64_t planned) {
  return planned ? 100.0 * ((double)measured - (double)planned) / (double)planned : 0.0;
}

void ipro_cli_peak_change(uint64_t peak, uint64_t end_to_end, char *text, size_t size) {
  if (!end_to_end) {
    snprintf(text, size, "%s", "");
    return;
  }
  double change = 100.0 * ((double)peak - (double)end_to_end) / (double)end_to_end;
  snprintf(text, size, "%.1f%% %s", change > 0 ? change : -change, change > 0 ? "more" : "less");
}

static void print_end_to_end(const ipro_cli_memory_report *m, FILE *out) {
  char change[64];
  ipro_cli_peak_change(m->planned, m->end_to_end, change, sizeof change);
  if (m->K > 1 && m->end_to_end)
    fprintf(out, "; end-to-end plan %llu (%s with K = %d)", (unsigned long long)m->end_to_end,
            change, m->K);
  fputc('\n', out);
}

/* On a GPU the plan is device memory: the backend's cudaMallocs and the driver's own figure are
 * set against it, and the host's bytes (the CUDA libraries' code and handles among them) are
 * reported beside it, outside the device plan. */
static void print_device(const ipro_cli_memory_report *m, FILE *out) {
  fprintf(out,
          "memory: planned peak %llu device bytes; cudaMalloc'd %llu (%+.2f%% of planned); "
          "device-measured (cudaMemGetInfo) %llu (%+.2f%% of planned, with the CUDA context and "
          "the cuDNN and cuBLAS handles); host, outside the device plan: allocator-measured %llu "
          "(test pass %llu), RSS growth %llu (library code paged in %llu), batch loader %llu, "
          "dataset %llu",
          (unsigned long long)m->planned, (unsigned long long)m->counted,
          percent_over(m->counted, m->planned), (unsigned long long)m->device_growth,
          percent_over(m->device_growth, m->planned), (unsigned long long)allocator_of(m),
          (unsigned long long)m->test_pass_held, (unsigned long long)m->rss_growth,
          (unsigned long long)m->library_pages, (unsigned long long)m->loader,
          (unsigned long long)m->dataset);
  print_end_to_end(m, out);
}

void ipro_cli_memory_report_print(const ipro_cli_memory_report *m, FILE *out) {
  if (m->on_device) {
    print_device(m, out);
    return;
  }
  uint64_t trainer = trainer_of(m);
  fprintf(out,
          "memory: planned peak %llu bytes; allocator-measured %llu (trainer %llu, %+.2f%% of "
          "planned; of which programs and primitives %llu; test pass %llu); RSS growth %llu "
          "(bound: planned + dataset %llu + 64 MiB = %llu)",
          (unsigned long long)m->planned, (unsigned long long)allocator_of(m),
          (unsigned long long)trainer, percent_over(trainer, m->planned),
          (unsigned long long)programs_of(m), (unsigned long long)m->test_pass_held,
          (unsigned long long)m->rss_growth, (unsigned long long)m->dataset,
          (unsigned long long)(m->planned + m->dataset + IPRO_CLI_RSS_SLACK_BYTES));
  /* a compiled program's run measures its kernels built ahead where infopro train measures its
   * split search (the same two terms) */
  bool ahead = m->kernels_ahead;
  fprintf(out,
          "; beside the plan: batch loader %llu, library code paged in (RSS) %llu, %s (RSS) "
          "%llu, kept by %s (allocator) %llu, building the trainer's programs (allocator peak) "
          "%llu, libraries at start (RSS) %llu",
          (unsigned long long)m->loader, (unsigned long long)m->library_pages,
          ahead ? "kernels built ahead" : "split search", (unsigned long long)m->split_search_rss,
          ahead ? "building the kernels ahead" : "the split search",
          (unsigned long long)m->split_search_held, (unsigned long long)m->trainer_building_peak,
          (unsigned long long)m->rss_baseline);
  if (m->pipeline_held)
    fprintf(out, ", pipeline messages (allocator) %llu", (unsigned long long)m->pipeline_held);
  if (m->between_epochs_held)
    fprintf(out, ", %s (allocator) %llu",
            m->pipeline_held ? "state gathered for the test pass and checkpoints"
                             : "writing checkpoints",
            (unsigned long long)m->between_epochs_held);
  if (m->export_heap)
    fprintf(out, ", writing the trained model (allocator) %llu, raising the RSS peak by %llu",
            (unsigned long long)m->export_heap, (unsigned long long)m->export_rss_peak);
  print_end_to_end(m, out);
}

void ipro_cli_memory_report_json(const ipro_cli_memory_report *m, ipro_json_writer *w) {
  ipro_json_begin_object(w, "memory");
  ipro_json_string(w, "planned_for", m->on_device ? "device" : "host");
  ipro_json_int(w, "planned_peak_bytes", (int64_t)m->planned);
  ipro_json_int(w, "counted_bytes", (int64_t)m->counted);
  ipro_json_int(w, "allocator_measured_bytes", (int64_t)allocator_of(m));
  ipro_json_int(w, "trainer_allocator_measured_bytes", (int64_t)trainer_of(m));
  ipro_json_int(w, "rss_growth_bytes", (int64_t)m->rss_growth);
  if (m->on_device) ipro_json_int(w, "device_measured_bytes", (int64_t)m->device_growth);
  ipro_json_begin_object(w, "outside_plan");
  ipro_json_int(w, "programs_and_primitives_bytes", (int64_t)programs_of(m));
  ipro_json_int(w, "test_pass_bytes", (int64_t)m->test_pass_held);
  ipro_json_int(w, "dataset_bytes", (int64_t)m->dataset);
  ipro_json_int(w, "batch_loader_bytes", (int64_t)m->loader);
  ipro_json_int(w, "library_code_rss_bytes", (int64_t)m->library_pages);
  ipro_json_int(w, "split_search_rss_bytes", (int64_t)m->split_search_rss);
  ipro_json_int(w, "split_search_kept_allocator_bytes", (int64_t)m->split_search_held);
  ipro_json_int(w, "building_trainer_programs_peak_bytes", (int64_t)m->trainer_building_peak);
  ipro_json_int(w, "libraries_rss_at_start_bytes", (int64_t)m->rss_baseline);
  ipro_json_int(w, "writing_trained_model_bytes", (int64_t)m->export_heap);
  ipro_json_int(w, "writing_trained_model_rss_peak_bytes", (int64_t)m->export_rss_peak);
  ipro_json_int(w, "pipeline_messages_bytes", (int64_t)m->pipeline_held);
  ipro_json_int(w, "between_epochs_bytes", (int64_t)m->between_epochs_held);
  ipro_json_end_object(w);
  ipro_json_int(w, "rss_slack_bytes", (int64_t)IPRO_CLI_RSS_SLACK_BYTES);
  if (m->end_to_end) ipro_json_int(w, "end_to_end_peak_bytes", (int64_t)m->end_to_end);
  ipro_json_int(w, "modules", m->K);
  ipro_json_end_object(w);
}
