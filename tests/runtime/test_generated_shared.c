/* The CPU backend's generated kernels are compiled once per process (runtime/onednn/
 * cpu_generated.c): two oneDNN backends asked for the same library kernel get the same entry, and
 * the second asks LLVM for nothing, which the counting allocator sees: the second backend's first
 * request allocates nothing that stays (the first compiled the kernel and started the JIT). */
#include "runtime/counting_allocator.h"
#include "runtime/onednn/onednn_internal.h"
#include "tests/support/check.h"

int main(void) {
  ipro_counting_allocator_start();
  ipro_backend *first = NULL, *second = NULL;
  ipro_error err;
  CHECK_OK(ipro_backend_create_onednn(&first, &err), &err);
  CHECK_OK(ipro_backend_create_onednn(&second, &err), &err);
  if (!first || !second) return ipro_test_finish();
  ipro_onednn_generated_fn a = {0}, b = {0};
  int64_t before_first = ipro_counting_allocator_in_use();
  ipro_status status = ipro_onednn_generated_kernel(IPRO_GENERATED_SGD_UPDATE, first, &a, &err);
  CHECK_MSG(status == IPRO_OK, "compiling the SGD update: %s", err.message);
  int64_t first_held = ipro_counting_allocator_in_use() - before_first;
  int64_t before_second = ipro_counting_allocator_in_use();
  status = ipro_onednn_generated_kernel(IPRO_GENERATED_SGD_UPDATE, second, &b, &err);
  CHECK_MSG(status == IPRO_OK, "the second backend's SGD update: %s", err.message);
  int64_t second_held = ipro_counting_allocator_in_use() - before_second;
  CHECK(a.entry != NULL && a.entry == b.entry);
  CHECK_EQ_INT(a.input_count, b.input_count);
  CHECK_EQ_INT(a.output_count, b.output_count);
  /* the first request compiled (LLVM's JIT and the module hold tens of kilobytes) */
  CHECK_MSG(first_held > 4096, "compiling held %lld bytes", (long long)first_held);
  CHECK_MSG(second_held == 0, "the second backend's request held %lld bytes",
            (long long)second_held);
  CHECK(first->degraded[0] == 0 && second->degraded[0] == 0);
  first->destroy(first);
  /* the kernel outlives the backend that compiled it */
  ipro_onednn_generated_fn c = {0};
  status = ipro_onednn_generated_kernel(IPRO_GENERATED_SGD_UPDATE, second, &c, &err);
  CHECK(status == IPRO_OK && c.entry == a.entry);
  second->destroy(second);
  return ipro_test_finish();
}
