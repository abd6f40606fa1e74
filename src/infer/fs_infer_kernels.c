/* fs_infer_kernels.c -- CPU kernels for incremental decoding (see fs_infer_kernels.h) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fs_infer_kernels.h"
#include "cpu/fs_ops_cpu_impl.h" /* fs_rope_cos_sin: the same angles as the training op, bit for bit */

void fs_infer_rope(float *x, const int64_t *pos, int64_t N, int H, int D, float base)
{
  int half = D / 2;
#pragma omp parallel for schedule(static) if (N > 1) /* one token: its few angles are not worth a region */
  for (int64_t n = 0; n < N; n++) {
    for (int i = 0; i < half; i++) {
      float c, s;
      fs_rope_cos_sin(&c, &s, pos[n], i, D, base);
      for (int h = 0; h < H; h++) {
        float *xh = x + (n * H + h) * D;
        float x1 = xh[i], x2 = xh[i + half];
        xh[i] = x1 * c - x2 * s;
        xh[i + half] = x2 * c + x1 * s;
      }
    }
  }
}

void fs_infer_position_add(float *x, const float *wpe, const int64_t *pos, int64_t N, int C)
{
#pragma omp parallel for schedule(static) if (N * C > FS_PW_PAR_MIN)
  for (int64_t n = 0; n < N; n++)
    for (int j = 0; j < C; j++) x[n * C + j] += wpe[pos[n] * C + j];
}

void fs_infer_kv_store(struct fs_kv_cache *c, const float *k, const float *v, const int *seq, const int64_t *pos,
                       int64_t N, int layer)
{
  int64_t kv = (int64_t)c->n_kv_heads * c->head_dim;
  for (int64_t n = 0; n < N; n++) {
    memcpy(fs_kv_cache_k_at(c, layer, seq[n], pos[n]), k + n * kv, (size_t)kv * sizeof(float));
    memcpy(fs_kv_cache_v_at(c, layer, seq[n], pos[n]), v + n * kv, (size_t)kv * sizeof(float));
  }
}

/* One (token, head) row: scores over the cached keys block by block, a max-subtracted softmax, then the weighted
 * sum of values.  s holds pos+1 scores.  The loops over D and over the scores are vector loops (omp simd: the dot
 * products' partial sums are added in a different order from a plain loop). */
FS_CLONES static void attend_row(float *o, const float *qh, const struct fs_kv_cache *c, int seq, int64_t pos,
                                 int kvh, int layer, float scale, float *s)
{
  const int D = c->head_dim, bs = c->block_size;
  const int64_t slot = (int64_t)c->n_kv_heads * D, n = pos + 1; /* floats from one cached token to the next */
  float mx = -INFINITY;
  for (int64_t j0 = 0; j0 < n; j0 += bs) {
    const float *kb = fs_kv_cache_k_at(c, layer, seq, j0) + (int64_t)kvh * D;
    for (int64_t t = 0; t < bs && j0 + t < n; t++) {
      const float *kj = kb + t * slot;
      float dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int d = 0; d < D; d++) dot += qh[d] * kj[d];
      s[j0 + t] = dot * scale;
      mx = s[j0 + t] > mx ? s[j0 + t] : mx;
    }
  }
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; j++) {
    s[j] = fs_expf(s[j] - mx);
    sum += s[j];
  }
  float inv = (float)(1.0 / sum);
  for (int d = 0; d < D; d++) o[d] = 0;
  for (int64_t j0 = 0; j0 < n; j0 += bs) {
    const float *vb = fs_kv_cache_v_at(c, layer, seq, j0) + (int64_t)kvh * D;
    for (int64_t t = 0; t < bs && j0 + t < n; t++) {
      const float *vj = vb + t * slot;
      float p = s[j0 + t] * inv;
#pragma omp simd
      for (int d = 0; d < D; d++) o[d] += p * vj[d];
    }
  }
}

void fs_infer_paged_attention(float *out, const float *q, const struct fs_kv_cache *c, const int *seq,
                              const int64_t *pos, int64_t N, int NH, int layer)
{
  const int D = c->head_dim, group = NH / c->n_kv_heads;
  const float scale = (float)(1.0 / sqrt((double)D));
  int64_t max_len = 1;
  for (int64_t n = 0; n < N; n++)
    if (pos[n] + 1 > max_len) max_len = pos[n] + 1;
  /* short contexts: a few microseconds of work stay on this thread */
#pragma omp parallel if (N * NH * max_len * D > FS_PW_PAR_MIN)
  {
    float *s = fs_ops_scratch((size_t)max_len * sizeof(float), "paged attention scores");
#pragma omp for schedule(dynamic, 1)
    for (int64_t r = 0; r < N * NH; r++) {
      int64_t n = r / NH;
      int h = (int)(r % NH);
      attend_row(out + r * D, q + r * D, c, seq[n], pos[n], h / group, layer, scale, s);
    }
    free(s);
  }
}
