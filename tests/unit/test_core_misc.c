/* test_core_misc.c -- arenas (alignment, zero fill, overflow reported), timers */
#include <stdint.h>
#include "fs_arena.h"
#include "fs_timer.h"
#include "fs_test.h"

int main(int argc, char **argv)
{
  struct fs_arena *a = NULL;
  void *p = NULL, *q = NULL, *r = NULL;

  PetscInitialize(&argc, &argv, NULL, NULL);
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL); /* the overflow below is expected: no traceback */
  FS_EXPECT_OK(fs_arena_create("test", 1000, &a));
  FS_EXPECT_OK(fs_arena_alloc(a, 3, &p));
  FS_EXPECT_OK(fs_arena_alloc(a, 100, &q));
  FS_EXPECT((uintptr_t)p % FS_ARENA_ALIGN == 0 && (uintptr_t)q % FS_ARENA_ALIGN == 0, "misaligned %p %p", p, q);
  FS_EXPECT((char *)q - (char *)p == FS_ARENA_ALIGN, "views overlap or leave a gap: %td", (char *)q - (char *)p);
  FS_EXPECT(((unsigned char *)q)[99] == 0, "not zero-filled");
  FS_EXPECT(fs_arena_alloc(a, 2000, &r) != 0, "overflow not reported");
  FS_EXPECT(a->peak == FS_ARENA_ALIGN + 100, "peak %zu", a->peak);
  fs_arena_reset(a);
  FS_EXPECT_OK(fs_arena_alloc(a, 1000, &r));
  FS_EXPECT(r == p, "reset did not rewind");
  FS_EXPECT_OK(fs_arena_destroy(&a));
  FS_EXPECT(a == NULL, "destroy did not clear the handle");
  FS_EXPECT_OK(fs_arena_destroy(&a)); /* NULL is fine */

  struct fs_timer t = {0};
  fs_timer_start(&t);
  volatile double x = 0;
  for (int i = 0; i < 1000000; i++) x += i;
  double dt = fs_timer_stop(&t);
  FS_EXPECT(dt >= 0 && t.total == dt && t.n_calls == 1, "timer %g %g %ld", dt, t.total, t.n_calls);
  PetscPopErrorHandler();
  PetscFinalize();
  return fs_test_done("test_core_misc");
}
