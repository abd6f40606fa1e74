/* fs_error.h -- error handling: every library function returns PetscErrorCode and is called through a check
 * macro, so an error carries a traceback (PETSc's) and a message that says what failed and what to do.
 *   PetscCall(f(...))           our own functions and PETSc
 *   PetscCallMPI(MPI_X(...))    MPI (PETSc's wrapper)
 *   FSCallHDF5(H5X(...))        HDF5: negative return = failure
 *   FSCallSys(call, "what")     POSIX: negative return = failure, errno explained
 *   FSCallJSON / FSCallPCRE2    jansson / PCRE2
 *   FSCheck(cond, comm, code, "fmt", ...)   user errors (always on) = PetscCheck
 * A fatal error on any rank ends the whole job: the apps call MPI_Abort (fs_app.h), never exit(). */
#ifndef FS_ERROR_H
#define FS_ERROR_H

#include <errno.h>
#include <string.h>
#include <petscsys.h>

#ifndef PETSC_SUCCESS /* PETSc < 3.19 */
#define PETSC_SUCCESS 0
#endif

#define FSCheck PetscCheck

#define FSCallHDF5(call) \
  do { \
    if ((call) < 0) \
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, \
              "HDF5 call failed: %s\n  (see HDF5's error stack above; check the path and free disk space; on " \
              "network file systems try HDF5_USE_FILE_LOCKING=FALSE)", #call); \
  } while (0)

#define FSCallSys(call, what) \
  do { \
    if ((call) < 0) { \
      int fs_errno_ = errno; \
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s (%s)", (what), strerror(fs_errno_), #call); \
    } \
  } while (0)

/* jansson: a NULL or negative result, with the json_error_t's text when one is given */
#define FSCallJSON(call) \
  do { \
    if ((call) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "jansson call failed: %s (out of memory?)", #call); \
  } while (0)

/* PCRE2: negative error codes, turned into the library's message */
#define FSCallPCRE2(call) \
  do { \
    int fs_rc_ = (int)(call); \
    if (fs_rc_ < 0 && fs_rc_ != -1 /* PCRE2_ERROR_NOMATCH */) { \
      char fs_msg_[256]; \
      fs_pcre2_message(fs_rc_, fs_msg_, sizeof fs_msg_); \
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "PCRE2 call failed: %s: %s", #call, fs_msg_); \
    } \
  } while (0)

void fs_pcre2_message(int code, char *buf, size_t n_bytes);

/* allocation that fails loudly with the size asked for */
#define FSMalloc(n_bytes, ptr) PetscCall(fs_malloc_((size_t)(n_bytes), (void **)(ptr), #ptr))
#define FSCalloc(n_bytes, ptr) PetscCall(fs_calloc_((size_t)(n_bytes), (void **)(ptr), #ptr))
PetscErrorCode fs_malloc_(size_t n_bytes, void **ptr, const char *what);
PetscErrorCode fs_calloc_(size_t n_bytes, void **ptr, const char *what);
/* frees and sets the handle to NULL; accepts NULL */
#define FSFree(ptr) \
  do { \
    free(*(ptr)); \
    *(ptr) = NULL; \
  } while (0)

#endif
