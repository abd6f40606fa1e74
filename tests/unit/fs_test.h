/* fs_test.h -- a minimal unit-test harness: FS_EXPECT records a failure and goes on; fs_test_done() prints
 * "N checks, M failed" and returns the exit code (0 = pass, 1 = fail), so a test can never pass silently. */
#ifndef FS_TEST_H
#define FS_TEST_H

#include <stdio.h>
#include <math.h>

static int fs_test_checks, fs_test_failures;

#define FS_EXPECT(cond, ...) \
  do { \
    fs_test_checks++; \
    if (!(cond)) { \
      fs_test_failures++; \
      fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__); \
      fputc('\n', stderr); \
    } \
  } while (0)

#define FS_EXPECT_OK(call) FS_EXPECT((call) == 0, "%s returned an error", #call)

static inline int fs_test_done(const char *name)
{
  printf("%s: %d checks, %d failed\n", name, fs_test_checks, fs_test_failures);
  return fs_test_checks == 0 || fs_test_failures != 0;
}

#endif
