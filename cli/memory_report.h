/* What `infopro train` says about memory at the end: the plan's peak beside figures measured by
 * mechanisms that never read the plan (runtime/process_memory.h), and the terms the process
 * holds outside the plan, each named and measured:
 *
 *   allocator-measured  the high-water mark of the bytes the process's counting allocator had
 *                       handed out, over their level just before the trainer was created:
 *                       while the trainer is created, and from the test pass's opening to the
 *                       end of training (building the test pass is left out); it covers the
 *                       trainer, the test pass (whose arenas lie in the training block) and
 *                       every temporary;
 *   building            of which the allocator's peak while the trainer's programs were built,
 *                       before the first of its blocks was allocated (the model read and
 *                       unpacked, its graphs built, the generated kernels compiled by LLVM): a
 *                       transient named beside the trainer's figure, which it would otherwise
 *                       set for a module whose blocks are smaller (a pipeline rank holding the
 *                       classifier alone);
 *   of which            the test pass: the allocator bytes its executors, graphs and loader
 *                       hold once built (measured when it is opened), and the trainer's
 *                       programs and library primitives: what the trainer holds once built
 *                       beyond the blocks its backend counted;
 *   RSS growth          the process's resident high-water mark over its resident set when
 *                       `train` started, before the dataset or any model was read;
 *   beside it           the dataset as stored (uint8), the batch loader's buffers, the
 *                       library code paged in since the start (the growth of the resident
 *                       pages of mapped files, RssFile: oneDNN's and LLVM's code as it is
 *                       first run), the anonymous resident set's growth while the split was
 *                       searched (code oneDNN and LLVM generate, and heap the search used that
 *                       stays resident for the trainer to reuse), the resident set the
 *                       process started with (the libraries), and, after training, the
 *                       allocator's peak while the trained model is written (--out: the model
 *                       file read and decoded again), which the figures above leave out, and
 *                       what runs between epochs outside the training steps: a checkpoint
 *                       written (its state copied and encoded), and in a pipeline every rank's
 *                       state gathered on rank 0 for the test pass, the checkpoint and --out
 *                       (its bytes at their most, left out of the trainer's figure and in the
 *                       allocator-measured peak);
 *   device-measured     on a GPU, the driver's figure of device memory in use
 *                       (cudaMemGetInfo) at its highest after creation or a step, over its
 *                       figure before the trainer allocated (printed only there).
 *
 * On a GPU the plan is device memory, so the line sets the backend's cudaMallocs and the
 * driver's figure against it, and gives the host's figures beside it, outside the plan.
 *
 * The promises the tests check: the trainer's allocator-measured peak (allocator-measured less
 * the test pass) within 0.1% of planned + its programs and primitives, and RSS growth at most
 * planned + dataset + 64 MiB. */
#ifndef IPRO_CLI_MEMORY_REPORT_H
#define IPRO_CLI_MEMORY_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/json_writer.h"

typedef struct {
  uint64_t planned;   /* the plan's peak: the trainer's blocks */
  uint64_t counted;   /* bytes the backend's own counter handed the trainer */
  uint64_t allocator; /* allocator-measured peak growth from the test pass's opening on */
  /* the same while the trainer was created: until its programs were built (the model read and
   * the kernels compiled, a transient of its own) and from then on (its blocks and programs) */
  uint64_t trainer_building_peak, trainer_creation_peak;
  uint64_t trainer_held;   /* allocator bytes the trainer held once created */
  uint64_t test_pass_held; /* allocator bytes the test pass held once opened */
  uint64_t pipeline_held;  /* under mpirun: allocator bytes the pipeline took when attached (its
                              message buffers, and what MPI allocated then) */
  uint64_t rss_growth;     /* VmHWM over the baseline's VmRSS */
  uint64_t rss_baseline;   /* VmRSS when `train` started: the libraries, the binary */
  uint64_t dataset;        /* training and test splits as stored (uint8) */
  uint64_t loader;         /* the batch loaders' buffers */
  uint64_t export_heap;    /* allocator peak while the trained model was written (0: none was) */
  /* what writing it added to the process's RSS high-water mark (VmHWM after over before): 0
   * when it fitted in what the training had already made resident */
  uint64_t export_rss_peak;
  /* Between epochs, outside the training steps (a checkpoint written; in a pipeline, every
   * rank's state gathered on rank 0 and scored): the most allocator bytes that held at once,
   * and the process's allocator peak then (both 0 where nothing ran between epochs). */
  uint64_t between_epochs_held, between_epochs_peak;
  uint64_t split_search_rss; /* anonymous resident growth while the split was searched */
  /* allocator bytes held after the split was searched beyond those held before: what planning
   * leaves for the trainer to reuse (oneDNN's primitive cache, the generated kernels' JIT) */
  uint64_t split_search_held;
  /* a compiled program's run: it searches nothing, and the two terms above measure its kernels
   * built once before the trainer (cli/train.c, prepare), which the text then names so */
  bool kernels_ahead;
  uint64_t library_pages; /* RssFile's growth: library code paged in since the start */
  uint64_t end_to_end;    /* the end-to-end plan's peak (0 when not computed) */
  uint64_t device_growth; /* on a GPU: cudaMemGetInfo's growth over the trainer */
  bool on_device;         /* the plan is a GPU's memory (--device cuda) */
  int K;
} ipro_cli_memory_report;

/* The slack the RSS bound allows beyond the plan and the dataset. */
#define IPRO_CLI_RSS_SLACK_BYTES (64ull << 20)

/* The one summary line ("memory: planned ... allocator-measured ... RSS growth ..."). */
void ipro_cli_memory_report_print(const ipro_cli_memory_report *report, FILE *out);
/* The same as a "memory" object. */
void ipro_cli_memory_report_json(const ipro_cli_memory_report *report, ipro_json_writer *w);
/* The figures the line calls the trainer's (allocator-measured) and its programs and
 * primitives. */
uint64_t ipro_cli_memory_report_trainer(const ipro_cli_memory_report *report);
uint64_t ipro_cli_memory_report_programs(const ipro_cli_memory_report *report);
/* A split's peak set against end to end's in words, "11.8% less" or "60.7% more": a split whose
 * heads cost more than its cuts save needs more memory, which "-60.7% less" hid. "" when
 * end_to_end is 0. */
void ipro_cli_peak_change(uint64_t peak, uint64_t end_to_end, char *text, size_t size);

#endif
