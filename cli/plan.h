/* How `infopro plan` presents a plan (partitioner/plan.h): its text table (plan.c), each module's
 * expected step time (plan_time.c) and an HTML page (plan_html.c). The plan and its figures are
 * the partitioner's; the writers only present them. */
#ifndef IPRO_CLI_PLAN_H
#define IPRO_CLI_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "partitioner/plan.h"

/* A peak against end to end's as the table and the page say it: "reduction 11.8%" below it, "58.1%
 * more than end to end" above it, where a negative reduction read as a saving. */
void ipro_plan_peak_change(uint64_t peak, uint64_t end_to_end, char *text, size_t size);
/* Each module's expected step time at plan->gflops, and the pipeline's images/s. */
void ipro_plan_print_times(const ipro_plan *plan);
/* The plan as one self-contained HTML page (inline CSS and SVG, no scripts, no fetches). */
void ipro_plan_html_write(const ipro_plan *plan, FILE *out);

#endif
