/* What the MPI pipeline's tests share: the mpirun command line that runs infopro on localhost
 * (as root in CI, more ranks than cores, ASan's leak check told which leaks are Open MPI's own),
 * and comparing the files two runs wrote. */
#ifndef IPRO_TEST_MPI_RUNS_H
#define IPRO_TEST_MPI_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "env ... mpirun --oversubscribe -np RANKS" into buffer, or NULL when mpirun is not installed
 * (the caller skips). Every rank and the single-process runs of a test use one thread
 * (OMP_NUM_THREADS=1, set here for the whole test), as the byte-equality claim requires.
 * check_leaks: LeakSanitizer in the ranks, which needs the slow unwinder (3-5 times slower
 * ranks), so one run of the suite asks for it and the others do not. */
const char *ipro_test_mpi_launcher(int ranks, bool check_leaks, char *buffer, size_t size);
/* 0 when an MPI test can run: Fashion-MNIST, the infopro binary and mpirun are there, and the
 * temporary folder (a mkdtemp template) was made; otherwise the skip status, reason printed. */
int ipro_test_mpi_ready(char *directory_template);
/* The whole file (malloc'd, with a NUL after its end), or NULL; *size its length. */
uint8_t *ipro_test_read_file(const char *path, size_t *size);
/* The numbers of a one-epoch run's epoch line ("epoch 1/1  loss ..."), without its time, into
 * numbers ("" when out has none): what two runs of the same training must print alike. */
void ipro_test_epoch_numbers(const char *out, char *numbers, size_t size);
/* How many lines of text hold phrase: what a message printed once by one rank, not by every
 * rank that met it, shows as 1. */
int ipro_test_lines_with(const char *text, const char *phrase);
/* `infopro ARGUMENTS` under `ranks` MPI processes (0: one process, no mpirun) must stop with exit
 * status `status` and one line of stderr holding phrase: a refusal every rank meets alike, said
 * once (by rank 0). */
void ipro_test_refused_once(int ranks, const char *arguments, int status, const char *phrase);
/* Whether both files exist and hold the same bytes. */
bool ipro_test_same_file(const char *a, const char *b);

#endif
