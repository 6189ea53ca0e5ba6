/* A minimal assertion kit for the test programs: each CHECK counts a pass or prints the failing
 * expression with its location; ipro_test_finish prints "N passed, N failed" and gives the exit
 * status ctest reads (77 = skipped, with the reason printed). */
#ifndef IPRO_TEST_CHECK_H
#define IPRO_TEST_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "ir/error.h"

extern int ipro_test_passed, ipro_test_failed;

void ipro_test_record(bool ok, const char *file, int line, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

#define CHECK(cond) ipro_test_record((cond), __FILE__, __LINE__, "%s", #cond)
#define CHECK_MSG(cond, ...) ipro_test_record((cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_EQ_INT(a, b)                                                                         \
  do {                                                                                             \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                \
    ipro_test_record(check_a_ == check_b_, __FILE__, __LINE__, "%s == %s (%lld vs %lld)", #a, #b,  \
                     check_a_, check_b_);                                                          \
  } while (0)
/* Checks that a library call returned IPRO_OK, printing its message otherwise. */
#define CHECK_OK(call, err)                                                                        \
  do {                                                                                             \
    ipro_status check_s_ = (call);                                                                 \
    ipro_test_record(check_s_ == IPRO_OK, __FILE__, __LINE__, "%s failed: %s", #call,              \
                     (err)->message);                                                              \
  } while (0)

/* Prints the summary line and returns the process exit status. */
int ipro_test_finish(void);
/* Prints the reason and returns 77, ctest's skip code. */
int ipro_test_skip(const char *reason);
/* Environment lookups set by tests/CMakeLists.txt, with a fallback for running by hand. */
const char *ipro_test_source_dir(void);
const char *ipro_test_node_tests_dir(void);
/* Writes "<source dir>/<relative>" into buffer and returns it. */
const char *ipro_test_path(char *buffer, size_t size, const char *relative);

#endif
