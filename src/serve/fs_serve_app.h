/* fs_serve_app.h -- flagscale-serve: an HTTP server over the generation engine (see doc/serving.md).
 * Under mpirun with several ranks this release serves from rank 0 only; the other ranks load nothing and wait,
 * without spinning, until rank 0 shuts down. */
#ifndef FS_SERVE_APP_H
#define FS_SERVE_APP_H

#include <stddef.h>
#include <mpi.h>
#include "fs_error.h"

struct fs_serve;
struct MHD_Daemon;

PetscErrorCode fs_serve_run(MPI_Comm comm, const char *app, const char *summary);
/* starts libmicrohttpd (thread per connection) on host:port (0: any free port); *bound: the port it got.
 * NULL with a message in err when it cannot. */
struct MHD_Daemon *fs_serve_http_start(struct fs_serve *s, const char *host, int port, int max_conn, int *bound,
                                       char *err, size_t n_err);

#endif
