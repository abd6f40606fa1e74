/* flagscale-serve -- an HTTP server (the original FlagScale's /batch_func and /stream_func, Megatron's PUT /api,
 * OpenAI-compatible /v1/completions and /v1/chat/completions) over the generation engine */
#include "fs_app.h"
#include "fs_serve_app.h"

int main(int argc, char **argv)
{
  return fs_app_main(argc, argv, "flagscale-serve",
                     "serve a flagscale-pretrain checkpoint over HTTP: /batch_func, /stream_func, PUT /api, "
                     "OpenAI-compatible /v1/completions and /v1/chat/completions, /health, /metrics; continuous "
                     "batching (CPU; under mpirun every rank runs the engine on its tensor-parallel slice, rank 0 serves "
                     "HTTP)",
                     fs_serve_run);
}
