/* The counters of counting_allocator.h and what feeds them. */
#include "counting_allocator.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IPRO_SANITIZER_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define IPRO_SANITIZER_ALLOCATOR 1
#endif

static _Atomic int64_t in_use, peak;

static void count_allocation(int64_t bytes) {
  int64_t now = atomic_fetch_add_explicit(&in_use, bytes, memory_order_relaxed) + bytes;
  int64_t high = atomic_load_explicit(&peak, memory_order_relaxed);
  while (now > high && !atomic_compare_exchange_weak_explicit(
                           &peak, &high, now, memory_order_relaxed, memory_order_relaxed)) {
  }
}

static void count_release(int64_t bytes) {
  atomic_fetch_sub_explicit(&in_use, bytes, memory_order_relaxed);
}

int64_t ipro_counting_allocator_in_use(void) {
  return atomic_load_explicit(&in_use, memory_order_relaxed);
}
int64_t ipro_counting_allocator_peak(void) {
  return atomic_load_explicit(&peak, memory_order_relaxed);
}
void ipro_counting_allocator_reset_peak(void) {
  atomic_store_explicit(&peak, ipro_counting_allocator_in_use(), memory_order_relaxed);
}

#ifdef IPRO_SANITIZER_ALLOCATOR

#include <sanitizer/allocator_interface.h>

static void on_malloc(const volatile void *pointer, size_t bytes) {
  (void)pointer;
  count_allocation((int64_t)bytes);
}

static void on_free(const volatile void *pointer) {
  if (pointer) count_release((int64_t)__sanitizer_get_allocated_size(pointer));
}

bool ipro_counting_allocator_start(void) {
  static _Atomic int installed;
  if (atomic_exchange(&installed, 1)) return true;
  /* Blocks allocated before the hooks count from here: start from the sanitizer's own figure. */
  atomic_store(&in_use, (int64_t)__sanitizer_get_current_allocated_bytes());
  atomic_store(&peak, atomic_load(&in_use));
  return __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
}

#else

/* glibc's own allocator, which these definitions stand in front of. */
extern void *__libc_malloc(size_t bytes);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t bytes);
extern void *__libc_memalign(size_t alignment, size_t bytes);
extern void __libc_free(void *pointer);
extern size_t malloc_usable_size(void *pointer);

bool ipro_counting_allocator_start(void) { return true; }

static void *counted(void *pointer) {
  if (pointer) count_allocation((int64_t)malloc_usable_size(pointer));
  return pointer;
}

void *malloc(size_t bytes) { return counted(__libc_malloc(bytes)); }
void *calloc(size_t count, size_t size) { return counted(__libc_calloc(count, size)); }

void free(void *pointer) {
  if (!pointer) return;
  count_release((int64_t)malloc_usable_size(pointer));
  __libc_free(pointer);
}

void *realloc(void *pointer, size_t bytes) {
  int64_t before = pointer ? (int64_t)malloc_usable_size(pointer) : 0;
  void *moved = __libc_realloc(pointer, bytes);
  if (!moved && bytes) return NULL; /* the old block is untouched */
  count_release(before);
  return moved ? counted(moved) : NULL;
}

void *memalign(size_t alignment, size_t bytes) {
  return counted(__libc_memalign(alignment, bytes));
}

void *aligned_alloc(size_t alignment, size_t bytes) {
  return counted(__libc_memalign(alignment, bytes));
}

int posix_memalign(void **out, size_t alignment, size_t bytes) {
  if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void *pointer = counted(__libc_memalign(alignment, bytes));
  if (!pointer) return ENOMEM;
  *out = pointer;
  return 0;
}

#endif
