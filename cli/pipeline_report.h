/* What `infopro train` under mpirun says of each rank at the end, from figures every rank
 * measured itself and rank 0 gathered (runtime/mpi/pipeline.h's ipro_pipeline_gather_values, the
 * replicas of a stage averaged):
 *
 *   time     per step: in its modules (wall and the process's CPU time), waiting for messages,
 *            averaging gradients among replicas; the bytes it sends on;
 *   memory   its own plan's peak (the modules it trains), beside what measured it without
 *            reading the plan: its trainer's allocator-measured peak (its counting allocator,
 *            as the single-process line's "trainer"; on a GPU the bytes the backend
 *            cudaMalloc'd and the device memory the driver saw it take, cudaMemGetInfo), of
 *            which its programs and primitives, and its process's RSS growth.
 *
 * The pace is the slowest stage's: batch / its step time, in images/s. */
#ifndef IPRO_CLI_PIPELINE_REPORT_H
#define IPRO_CLI_PIPELINE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/json_writer.h"
#include "ir/training_program.h"

/* the figures each rank sends, in this order */
enum {
  IPRO_CLI_PIPELINE_STEP_MS,
  IPRO_CLI_PIPELINE_CPU_MS,
  IPRO_CLI_PIPELINE_WAIT_MS,
  IPRO_CLI_PIPELINE_SENT_BYTES,
  IPRO_CLI_PIPELINE_ALLREDUCE_MS,
  IPRO_CLI_PIPELINE_PLANNED_BYTES,
  IPRO_CLI_PIPELINE_TRAINER_BYTES,
  IPRO_CLI_PIPELINE_PROGRAMS_BYTES,
  IPRO_CLI_PIPELINE_RSS_GROWTH_BYTES,
  IPRO_CLI_PIPELINE_DEVICE_BYTES,   /* on a GPU: the driver's figure (cudaMemGetInfo), else 0 */
  IPRO_CLI_PIPELINE_BUILDING_BYTES, /* the allocator's peak building its trainer's programs */
  IPRO_CLI_PIPELINE_FIGURES
};
extern const char *const ipro_cli_pipeline_figure_names[IPRO_CLI_PIPELINE_FIGURES];

typedef struct {
  int first_module, last_module; /* 1-based, inclusive */
  double figures[IPRO_CLI_PIPELINE_FIGURES];
} ipro_cli_pipeline_rank;

typedef struct {
  int ranks, replicas, K;
  int64_t batch;
  bool on_device;
  ipro_cli_pipeline_rank rank[IPRO_MAX_MODULES];
} ipro_cli_pipeline_report;

/* A line per rank of where its time went, and the pace the slowest stage sets. */
void ipro_cli_pipeline_report_time(const ipro_cli_pipeline_report *report, FILE *out);
/* A memory line for each rank after the first (whose full line the caller prints). */
void ipro_cli_pipeline_report_memory(const ipro_cli_pipeline_report *report, FILE *out);
/* The same as a "pipeline" object: stages, replicas, images/s, and a "ranks" array. */
void ipro_cli_pipeline_report_json(const ipro_cli_pipeline_report *report, ipro_json_writer *w);
/* "module 3" or "modules 1-2" into buffer. */
const char *ipro_cli_pipeline_modules_text(int first_module, int last_module, char *buffer,
                                           size_t size);

#endif
