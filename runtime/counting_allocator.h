/* The process's counting allocator: every malloc, calloc, realloc, aligned allocation and free in
 * the process (ours, oneDNN's C++ new, OpenMP's, the C library's own) passes through a thin
 * counter in front of the C library's allocator, which keeps the bytes in use and their
 * high-water mark. It measures what the process really asks of its allocator, down to a
 * temporary that a kernel mallocs and frees within one call, without reading the plan.
 *
 * How it sits in front: in ordinary builds counting_allocator.c defines malloc, free and their
 * relatives (glibc's documented way of replacing its allocator, by ELF symbol interposition) and
 * forwards each to glibc's own implementation (__libc_malloc, ...), counting the usable size of
 * every block. Under AddressSanitizer, whose allocator replaces glibc's, the same counters are
 * fed by the sanitizer's malloc and free hooks instead, installed by
 * ipro_counting_allocator_start.
 *
 * The counters are process-wide by nature (there is one allocator); they are atomics. */
#ifndef IPRO_COUNTING_ALLOCATOR_H
#define IPRO_COUNTING_ALLOCATOR_H

#include <stdbool.h>
#include <stdint.h>

/* Makes sure the counters are fed (installs the sanitizer's hooks where needed); returns false
 * where this build cannot count (then the figures below stay 0). */
bool ipro_counting_allocator_start(void);
/* Bytes the allocator has handed out and not taken back, as blocks' usable sizes. */
int64_t ipro_counting_allocator_in_use(void);
/* The most bytes in use since the last reset. */
int64_t ipro_counting_allocator_peak(void);
/* Sets the high-water mark to the bytes in use now. */
void ipro_counting_allocator_reset_peak(void);

#endif
