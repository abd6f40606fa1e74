/* fs_arena.h -- one allocation per role (parameters, gradients, activations): tensors are aligned views
 * into it, handed out by a bump pointer; reset frees them all at once. */
#ifndef FS_ARENA_H
#define FS_ARENA_H

#include <stddef.h>
#include "fs_error.h"

#define FS_ARENA_ALIGN 64 /* bytes: a cache line, and AVX-512 friendly */

struct fs_arena {
  char *base;      /* FS_ARENA_ALIGN-aligned block of n_bytes */
  size_t n_bytes;  /* capacity */
  size_t used;     /* bytes handed out, including alignment padding */
  size_t peak;     /* high-water mark of used */
  char name[32];   /* for error messages */
};

PetscErrorCode fs_arena_create(const char *name, size_t n_bytes, struct fs_arena **arena);
/* n_bytes from the arena, aligned to FS_ARENA_ALIGN, zero-filled */
PetscErrorCode fs_arena_alloc(struct fs_arena *arena, size_t n_bytes, void **ptr);
void fs_arena_reset(struct fs_arena *arena);
PetscErrorCode fs_arena_destroy(struct fs_arena **arena);

#endif
