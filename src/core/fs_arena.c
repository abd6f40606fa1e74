/* fs_arena.c -- bump allocator over one aligned block */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "fs_arena.h"

PetscErrorCode fs_arena_create(const char *name, size_t n_bytes, struct fs_arena **arena)
{
  struct fs_arena *a;

  PetscFunctionBegin;
  FSCalloc(sizeof *a, &a);
  size_t rounded = (n_bytes + FS_ARENA_ALIGN - 1) / FS_ARENA_ALIGN * FS_ARENA_ALIGN;
  a->base = aligned_alloc(FS_ARENA_ALIGN, rounded ? rounded : FS_ARENA_ALIGN);
  if (!a->base) {
    free(a);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory: arena %s needs %zu bytes", name, n_bytes);
  }
  a->n_bytes = rounded;
  snprintf(a->name, sizeof a->name, "%s", name);
  *arena = a;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_arena_alloc(struct fs_arena *a, size_t n_bytes, void **ptr)
{
  PetscFunctionBegin;
  size_t start = (a->used + FS_ARENA_ALIGN - 1) / FS_ARENA_ALIGN * FS_ARENA_ALIGN;
  FSCheck(start <= a->n_bytes && n_bytes <= a->n_bytes - start, PETSC_COMM_SELF, PETSC_ERR_MEM,
          "arena %s is full: %zu of %zu bytes used, %zu more asked", a->name, a->used, a->n_bytes, n_bytes);
  *ptr = a->base + start;
  memset(*ptr, 0, n_bytes);
  a->used = start + n_bytes;
  if (a->used > a->peak) a->peak = a->used;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_arena_reset(struct fs_arena *a) { a->used = 0; }

PetscErrorCode fs_arena_destroy(struct fs_arena **arena)
{
  PetscFunctionBegin;
  if (*arena) {
    free((*arena)->base);
    free(*arena);
    *arena = NULL;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
