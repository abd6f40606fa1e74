/* fs_ops.h -- the backend op table (DESIGN.md principle 3).  The model calls ops only through a struct fs_ops;
 * the CPU reference (plain loops, the test oracle), the fast CPU backend (OpenMP + OpenBLAS) and later the CUDA
 * backend fill the same table.
 *
 * Conventions (llm.c style): outputs first, then inputs, then weights, then sizes.  fp32, row-major.
 * Activations are (N, C) with N = B*T rows (token-major); attention tensors are (B, T, H, D).
 * Linear weights have PyTorch's / Hugging Face's (out, in) shape, so checkpoints map by name only.
 * Accumulation rule: parameter gradients use += (zeroed by the caller once per step); activation gradients
 * are written with = .  A parameter gradient output (dweight, dbias, dwte ...) may be NULL where the parameter
 * is frozen (LoRA): it is then not computed; embedding_backward/position_backward are simply not called.  Buffers passed as outputs must not alias inputs unless an op says so. */
#ifndef FS_OPS_H
#define FS_OPS_H

#include <stdint.h>

struct fs_ops {
  const char *name; /* "cpu-ref", "cpu", "cuda" */

  /* out (N,OC) = inp (N,C) @ weight (OC,C)^T + bias (OC) [bias may be NULL] */
  void (*matmul_forward)(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C,
                         int OC);
  /* dinp (N,C) = dout @ weight (written; may be NULL = not needed); dweight (OC,C) += dout^T @ inp (NULL: frozen);
   * dbias (OC) += sum over rows of dout (NULL when there is no bias or it is frozen) */
  void (*matmul_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                          const float *weight, int64_t N, int C, int OC);

  /* out (N,C) = wte[tokens[n]] ; tokens in [0, V) */
  void (*embedding_forward)(float *out, const int32_t *tokens, const float *wte, int64_t N, int C);
  /* dwte (V,C) += scatter of dout rows by token */
  void (*embedding_backward)(float *dwte, const float *dout, const int32_t *tokens, int64_t N, int C);
  /* learned absolute positions (GPT-2): out (B,T,C) += wpe[pos[b,t]] (wpe[t] when pos is NULL) */
  void (*position_forward)(float *out, const float *wpe, int B, int T, int C, const int32_t *pos);
  /* dwpe (maxT,C) += dout (B,T,C) summed into the rows of their positions */
  void (*position_backward)(float *dwpe, const float *dout, int B, int T, int C, const int32_t *pos);

  /* RMSNorm: rstd (N) = 1/sqrt(mean(x^2) + eps); out = x * rstd * weight */
  void (*rmsnorm_forward)(float *out, float *rstd, const float *inp, const float *weight, int64_t N, int C,
                          float eps);
  void (*rmsnorm_backward)(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                           const float *rstd, int64_t N, int C);
  /* LayerNorm: mean, rstd (N); out = (x - mean) * rstd * weight + bias */
  void (*layernorm_forward)(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                            const float *bias, int64_t N, int C, float eps);
  void (*layernorm_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *weight, const float *mean, const float *rstd, int64_t N, int C);

  /* RoPE, rotate-half (GPT-NeoX / HF LLaMA layout) on x (B,T,H,D), in place; position of token t is
   * pos_offset + pos[b,t] (pos_offset + t when pos is NULL); inv_freq[i] = base^(-2i/D), i < D/2.  backward
   * applies the inverse rotation to dx in place. */
  void (*rope_forward)(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos);
  void (*rope_backward)(float *dx, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos);

  /* causal self-attention with grouped-query heads: q (B,T,NH,D), k and v (B,T,NKV,D), NH % NKV == 0, query
   * head h reads kv head h / (NH/NKV); scale 1/sqrt(D).  out (B,T,NH,D); lse (B,NH,T) = log-sum-exp of the
   * scaled scores of each query row, saved for backward.  Tiled: no T x T matrix per head is held.  With pos, query
   * t attends keys t - pos[t] .. t only, and key tiles outside every query's window are skipped. */
  void (*attention_forward)(float *out, float *lse, const float *q, const float *k, const float *v, int B, int T,
                            int NH, int NKV, int D, const int32_t *pos);
  /* dq (B,T,NH,D), dk, dv (B,T,NKV,D): written (=) */
  void (*attention_backward)(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                             const float *v, const float *out, const float *lse, int B, int T, int NH, int NKV,
                             int D, const int32_t *pos);

  /* SwiGLU: out = silu(gate) * up, n elements */
  void (*swiglu_forward)(float *out, const float *gate, const float *up, int64_t n);
  void (*swiglu_backward)(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                          int64_t n);
  /* GELU, tanh approximation (GPT-2's gelu_new) */
  void (*gelu_forward)(float *out, const float *inp, int64_t n);
  void (*gelu_backward)(float *dinp, const float *dout, const float *inp, int64_t n);

  /* Fused output layer + cross-entropy, never holding the (N,V) logits: logits = inp (N,C) @ weight (V,C)^T,
   * losses (N) = logsumexp(logits) - logits[target] for rows with target >= 0 (0 where target < 0).
   * When dinp/dweight are not NULL also the backward of L = sum_n row_weight[n] * losses[n]:
   * dinp (N,C) written, dweight (V,C) +=.  row_weight (N) (e.g. 1/number of counted tokens, 0 for masked rows). */
  void (*lmhead_xent)(float *losses, float *dinp, float *dweight, const float *inp, const float *weight,
                      const int32_t *targets, const float *row_weight, int64_t N, int C, int V);
  /* logits (N,V) = inp @ weight^T, for inference and tests */
  void (*lmhead_logits)(float *logits, const float *inp, const float *weight, int64_t N, int C, int V);

  /* AdamW (decoupled weight decay, PyTorch's): step t >= 1; param -= lr * (mhat / (sqrt(vhat) + eps) + wd * param)
   * where mhat = m / (1 - beta1^t), vhat = v / (1 - beta2^t); m, v updated in place */
  void (*adamw_update)(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                       float beta2, float eps, float weight_decay, int64_t t);
  /* sum of squares of x (n), in double */
  double (*sum_squares)(const float *x, int64_t n);
  /* x (n) *= s */
  void (*scale)(float *x, float s, int64_t n);
  /* out (n) = a + b  (out may alias a) */
  void (*add)(float *out, const float *a, const float *b, int64_t n);
};

extern const struct fs_ops fs_ops_cpu_ref; /* plain loops: the numerical reference */
extern const struct fs_ops fs_ops_cpu;     /* OpenMP + OpenBLAS */

#endif
