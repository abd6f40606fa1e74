/* fs_test.h -- a minimal unit-test harness: FS_EXPECT records a failure and goes on; fs_test_done() prints
 * "N checks, M failed" and returns the exit code (0 = pass, 1 = fail), so a test can never pass silently. */
#ifndef FS_TEST_H
#define FS_TEST_H

#include <stdio.h>
#include <string.h>
#include <math.h>
#include "fs_error.h"

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

/* a call that must fail: ierr set, nothing returned in out (NULL), and a message that names path and says want */
static inline void fs_test_expect_fail(PetscErrorCode ierr, const void *out, const char *path, const char *want,
                                       const char *what)
{
  char *msg = NULL;
  FS_EXPECT(ierr != 0 && out == NULL, "%s: should fail", what);
  PetscErrorMessage(ierr, NULL, &msg);
  FS_EXPECT(msg && strstr(msg, want) && strstr(msg, path), "%s: message '%s' should name the file and say '%s'",
            what, msg ? msg : "(none)", want);
}

/* writes n bytes to path: 0, or -1 when it cannot */
static inline int fs_test_write_file(const char *path, const void *p, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t k = fwrite(p, 1, n, f);
  return fclose(f) == 0 && k == n ? 0 : -1;
}

#endif
