/* fs_ops_cpu_util.c -- helpers shared by the reference and the fast CPU ops: the float32 rotary angle of HF
 * LLaMA and scratch allocation for void ops. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <mpi.h>
#include "fs_ops_cpu_impl.h"

void fs_rope_cos_sin(float *c, float *s, int64_t pos, int i, int D, float base)
{
  /* PyTorch: inv_freq = 1.0 / (base ** (arange(0, D, 2).float() / D)), all float32; freqs = pos.float() * inv_freq.
   * pow is evaluated in double and rounded once, i.e. correctly rounded like torch's float pow (up to ties). */
  float expo = (float)(2 * i) / (float)D;
  float p = (float)pow((double)base, (double)expo);
  float inv_freq = 1.0f / p;
  float angle = (float)pos * inv_freq;
  *c = (float)cos((double)angle);
  *s = (float)sin((double)angle);
}

void *fs_ops_scratch(size_t n_bytes, const char *what)
{
  void *p = malloc(n_bytes ? n_bytes : 1);
  if (!p) {
    int inited = 0;
    fprintf(stderr, "flagscale ops: out of memory allocating %zu bytes of scratch for %s; reduce the micro-batch "
                    "size or sequence length\n", n_bytes, what);
    MPI_Initialized(&inited);
    if (inited) MPI_Abort(MPI_COMM_WORLD, 1);
    abort();
  }
  return p;
}
