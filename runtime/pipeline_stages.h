/* How an MPI pipeline's K modules are grouped into stages (runtime/mpi/pipeline.h): one stage per
 * process of a replica, each stage a run of consecutive modules, trained one after another by
 * that process's trainer (trainer.h, first_module and module_count). With one module per stage
 * (S = K) every process trains one module; with fewer processes than modules (S < K) each
 * process holds several, so a plan cut for memory into many modules runs on the processes there
 * are. Grouping never changes the arithmetic: a module computes the same bytes whichever process
 * holds it, so any grouping trains the same weights as one process does. Pure functions, no MPI. */
#ifndef IPRO_PIPELINE_STAGES_H
#define IPRO_PIPELINE_STAGES_H

#include <stdint.h>

#include "ir/training_program.h"

/* 2^56: FLOPs or nanoseconds beyond any module's step; 16 of them still add up in 64 bits. */
#define IPRO_PIPELINE_STAGES_MAX_WORK (UINT64_C(1) << 56)

typedef struct {
  int stages; /* S, 1 .. K */
  /* stage s trains modules first[s] .. first[s + 1] - 1 (0-based); first[0] = 0, first[S] = K */
  int first[IPRO_MAX_MODULES + 1];
} ipro_pipeline_stages;

/* The grouping of K modules into S consecutive stages (1 <= S <= K <= IPRO_MAX_MODULES) whose
 * largest stage work (the sum of its modules' work[k], e.g. their FLOPs per step) is the least:
 * a pipeline runs at the pace of its slowest stage. Among groupings with that least largest
 * stage, the earlier stages take as many modules as they can. work NULL (or all zero): every
 * module counts the same; a work above IPRO_PIPELINE_STAGES_MAX_WORK counts as that much, so
 * that the stages' sums cannot wrap. */
ipro_pipeline_stages ipro_pipeline_stages_balanced(const uint64_t *work, int K, int S);

/* The largest stage's work, and the stage holding it (the first such), under a grouping. */
uint64_t ipro_pipeline_stages_slowest(const ipro_pipeline_stages *stages, const uint64_t *work,
                                      int *stage);

#endif
