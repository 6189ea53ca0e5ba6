/* Each rank's time and memory at the end of a pipeline's training (pipeline_report.h). */
#include "pipeline_report.h"

const char *const ipro_cli_pipeline_figure_names[IPRO_CLI_PIPELINE_FIGURES] = {
    "step_ms",      "cpu_ms",       "wait_ms",       "sent_bytes",
    "allreduce_ms", "planned_peak", "trainer_bytes", "programs_bytes",
    "rss_growth",   "device_bytes", "building_bytes"};

const char *ipro_cli_pipeline_modules_text(int first_module, int last_module, char *buffer,
                                           size_t size) {
  if (first_module == last_module)
    snprintf(buffer, size, "module %d", first_module);
  else
    snprintf(buffer, size, "modules %d-%d", first_module, last_module);
  return buffer;
}

static const char *modules_of(const ipro_cli_pipeline_rank *rank, char *buffer, size_t size) {
  return ipro_cli_pipeline_modules_text(rank->first_module, rank->last_module, buffer, size);
}

/* The slowest stage's step time, wall (cpu false) or CPU; 0 when none was measured. */
static double slowest(const ipro_cli_pipeline_report *p, bool cpu) {
  double most = 0;
  for (int r = 0; r < p->ranks; r++) {
    double v = p->rank[r].figures[cpu ? IPRO_CLI_PIPELINE_CPU_MS : IPRO_CLI_PIPELINE_STEP_MS];
    if (v > most) most = v;
  }
  return most;
}

static double images_per_second(const ipro_cli_pipeline_report *p, bool cpu) {
  double ms = slowest(p, cpu);
  return ms > 0 ? 1e3 * (double)p->batch / ms : 0;
}

void ipro_cli_pipeline_report_time(const ipro_cli_pipeline_report *p, FILE *out) {
  for (int r = 0; r < p->ranks; r++) {
    const double *v = p->rank[r].figures;
    char modules[32];
    fprintf(out,
            "pipeline rank %d (%s): %.1f ms/step in its module%s (%.1f ms CPU), %.1f ms/step "
            "waiting for messages, sends %.0f bytes/step",
            r, modules_of(&p->rank[r], modules, sizeof modules), v[IPRO_CLI_PIPELINE_STEP_MS],
            p->rank[r].first_module == p->rank[r].last_module ? "" : "s",
            v[IPRO_CLI_PIPELINE_CPU_MS], v[IPRO_CLI_PIPELINE_WAIT_MS],
            v[IPRO_CLI_PIPELINE_SENT_BYTES]);
    if (p->replicas > 1)
      fprintf(out, "; means of %d replicas, %.1f ms/step averaging gradients", p->replicas,
              v[IPRO_CLI_PIPELINE_ALLREDUCE_MS]);
    fprintf(out, "\n");
  }
  if (p->ranks > 0 && slowest(p, false) > 0 && slowest(p, true) > 0)
    fprintf(out,
            "pipeline: the slowest stage sets the pace: at most %.0f images/s here, %.0f with a "
            "core of its own per rank (CPU time)\n",
            images_per_second(p, false), images_per_second(p, true));
}

static double percent_over(double measured, double planned) {
  return planned > 0 ? 100.0 * (measured - planned) / planned : 0.0;
}

void ipro_cli_pipeline_report_memory(const ipro_cli_pipeline_report *p, FILE *out) {
  for (int r = 1; r < p->ranks; r++) {
    const double *v = p->rank[r].figures;
    char modules[32];
    double planned = v[IPRO_CLI_PIPELINE_PLANNED_BYTES];
    double trainer = v[IPRO_CLI_PIPELINE_TRAINER_BYTES];
    fprintf(out, "memory of rank %d (%s of %d)%s: planned peak %.0f %sbytes; ", r,
            modules_of(&p->rank[r], modules, sizeof modules), p->K,
            p->replicas > 1 ? ", means of its replicas" : "", planned,
            p->on_device ? "device " : "");
    if (p->on_device)
      fprintf(out, "cudaMalloc'd %.0f (%+.2f%% of planned); device-measured (cudaMemGetInfo) %.0f",
              trainer, percent_over(trainer, planned), v[IPRO_CLI_PIPELINE_DEVICE_BYTES]);
    else
      fprintf(out,
              "trainer allocator-measured %.0f (%+.2f%% of planned; of which programs and "
              "primitives %.0f); building its programs (allocator peak) %.0f",
              trainer, percent_over(trainer, planned), v[IPRO_CLI_PIPELINE_PROGRAMS_BYTES],
              v[IPRO_CLI_PIPELINE_BUILDING_BYTES]);
    fprintf(out, "; RSS growth %.0f\n", v[IPRO_CLI_PIPELINE_RSS_GROWTH_BYTES]);
  }
}

void ipro_cli_pipeline_report_json(const ipro_cli_pipeline_report *p, ipro_json_writer *w) {
  ipro_json_begin_object(w, "pipeline");
  ipro_json_int(w, "stages", p->ranks);
  ipro_json_int(w, "replicas", p->replicas);
  ipro_json_double(w, "images_per_second", images_per_second(p, false));
  ipro_json_double(w, "images_per_second_cpu", images_per_second(p, true));
  ipro_json_begin_array(w, "ranks");
  for (int r = 0; r < p->ranks; r++) {
    const double *v = p->rank[r].figures;
    ipro_json_begin_object(w, NULL);
    ipro_json_int(w, "rank", r);
    ipro_json_int(w, "first_module", p->rank[r].first_module);
    ipro_json_int(w, "last_module", p->rank[r].last_module);
    ipro_json_double(w, "step_ms", v[IPRO_CLI_PIPELINE_STEP_MS]);
    ipro_json_double(w, "cpu_ms", v[IPRO_CLI_PIPELINE_CPU_MS]);
    ipro_json_double(w, "wait_ms", v[IPRO_CLI_PIPELINE_WAIT_MS]);
    ipro_json_double(w, "allreduce_ms", v[IPRO_CLI_PIPELINE_ALLREDUCE_MS]);
    ipro_json_int(w, "sent_bytes_per_step", (int64_t)v[IPRO_CLI_PIPELINE_SENT_BYTES]);
    ipro_json_begin_object(w, "memory");
    ipro_json_string(w, "planned_for", p->on_device ? "device" : "host");
    ipro_json_int(w, "planned_peak_bytes", (int64_t)v[IPRO_CLI_PIPELINE_PLANNED_BYTES]);
    ipro_json_int(w, p->on_device ? "cuda_malloced_bytes" : "trainer_allocator_measured_bytes",
                  (int64_t)v[IPRO_CLI_PIPELINE_TRAINER_BYTES]);
    ipro_json_int(w, "programs_and_primitives_bytes", (int64_t)v[IPRO_CLI_PIPELINE_PROGRAMS_BYTES]);
    if (!p->on_device)
      ipro_json_int(w, "building_trainer_programs_peak_bytes",
                    (int64_t)v[IPRO_CLI_PIPELINE_BUILDING_BYTES]);
    ipro_json_int(w, "rss_growth_bytes", (int64_t)v[IPRO_CLI_PIPELINE_RSS_GROWTH_BYTES]);
    if (p->on_device)
      ipro_json_int(w, "device_measured_bytes", (int64_t)v[IPRO_CLI_PIPELINE_DEVICE_BYTES]);
    ipro_json_end_object(w);
    ipro_json_end_object(w);
  }
  ipro_json_end_array(w);
  ipro_json_end_object(w);
}
