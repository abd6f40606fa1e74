/* fs_error.c -- helpers behind the check macros */
#include <stdlib.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "fs_error.h"

void fs_pcre2_message(int code, char *buf, size_t n_bytes)
{
  if (pcre2_get_error_message(code, (PCRE2_UCHAR *)buf, n_bytes) < 0) snprintf(buf, n_bytes, "PCRE2 error %d", code);
}

PetscErrorCode fs_malloc_(size_t n_bytes, void **ptr, const char *what)
{
  PetscFunctionBegin;
  *ptr = malloc(n_bytes ? n_bytes : 1);
  FSCheck(*ptr, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory allocating %zu bytes for %s", n_bytes, what);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_calloc_(size_t n_bytes, void **ptr, const char *what)
{
  PetscFunctionBegin;
  *ptr = calloc(1, n_bytes ? n_bytes : 1);
  FSCheck(*ptr, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory allocating %zu bytes for %s", n_bytes, what);
  PetscFunctionReturn(PETSC_SUCCESS);
}
