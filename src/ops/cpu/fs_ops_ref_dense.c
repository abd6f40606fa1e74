/* fs_ops_ref_dense.c -- reference (oracle) ops: matmul, embeddings, pointwise activations, optimizer and vector
 * helpers.  Plain loops with double accumulators; speed does not matter here, being obviously right does. */
#include <math.h>
#include "fs_ops_cpu_impl.h"

void fs_matmul_forward_ref(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C,
                           int OC)
{
  for (int64_t n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      double acc = bias ? bias[o] : 0.0;
      for (int c = 0; c < C; c++) acc += (double)inp[n * C + c] * weight[(int64_t)o * C + c];
      out[n * OC + o] = (float)acc;
    }
}

void fs_matmul_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int64_t N, int C, int OC)
{
  if (dinp)
    for (int64_t n = 0; n < N; n++)
      for (int c = 0; c < C; c++) {
        double acc = 0;
        for (int o = 0; o < OC; o++) acc += (double)dout[n * OC + o] * weight[(int64_t)o * C + c];
        dinp[n * C + c] = (float)acc;
      }
  if (dweight)
    for (int o = 0; o < OC; o++)
      for (int c = 0; c < C; c++) {
        double acc = 0;
        for (int64_t n = 0; n < N; n++) acc += (double)dout[n * OC + o] * inp[n * C + c];
        dweight[(int64_t)o * C + c] += (float)acc;
      }
  if (dbias)
    for (int o = 0; o < OC; o++) {
      double acc = 0;
      for (int64_t n = 0; n < N; n++) acc += dout[n * OC + o];
      dbias[o] += (float)acc;
    }
}

void fs_embedding_forward_ref(float *out, const int32_t *tokens, const float *wte, int64_t N, int C)
{
  for (int64_t n = 0; n < N; n++)
    for (int c = 0; c < C; c++) out[n * C + c] = wte[(int64_t)tokens[n] * C + c];
}

void fs_embedding_backward_ref(float *dwte, const float *dout, const int32_t *tokens, int64_t N, int C)
{
  for (int64_t n = 0; n < N; n++)
    for (int c = 0; c < C; c++) dwte[(int64_t)tokens[n] * C + c] += dout[n * C + c];
}

void fs_position_forward_ref(float *out, const float *wpe, int B, int T, int C, const int32_t *pos)
{
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int c = 0; c < C; c++)
        out[((int64_t)b * T + t) * C + c] += wpe[(int64_t)(pos ? pos[(int64_t)b * T + t] : t) * C + c];
}

void fs_position_backward_ref(float *dwpe, const float *dout, int B, int T, int C, const int32_t *pos)
{
  if (pos) { /* packed: each token's row goes to its position's row, as an embedding gradient by position */
    fs_embedding_backward_ref(dwpe, dout, pos, (int64_t)B * T, C);
    return;
  }
  for (int t = 0; t < T; t++)
    for (int c = 0; c < C; c++) {
      double acc = 0;
      for (int b = 0; b < B; b++) acc += dout[((int64_t)b * T + t) * C + c];
      dwpe[(int64_t)t * C + c] += (float)acc;
    }
}

void fs_swiglu_forward_ref(float *out, const float *gate, const float *up, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    double g = gate[i], sig = 1.0 / (1.0 + exp(-g));
    out[i] = (float)(g * sig * up[i]);
  }
}

void fs_swiglu_backward_ref(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                            int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    double g = gate[i], sig = 1.0 / (1.0 + exp(-g));
    double dsilu = sig * (1.0 + g * (1.0 - sig)); /* d/dg (g * sigmoid(g)) */
    double d = dout[i];
    dgate[i] = (float)(d * up[i] * dsilu);
    dup[i] = (float)(d * g * sig);
  }
}

#define FS_GELU_K 0.7978845608028654 /* sqrt(2/pi) */

void fs_gelu_forward_ref(float *out, const float *inp, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    double x = inp[i];
    out[i] = (float)(0.5 * x * (1.0 + tanh(FS_GELU_K * (x + 0.044715 * x * x * x))));
  }
}

void fs_gelu_backward_ref(float *dinp, const float *dout, const float *inp, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    double x = inp[i], u = FS_GELU_K * (x + 0.044715 * x * x * x), th = tanh(u);
    double du = FS_GELU_K * (1.0 + 3.0 * 0.044715 * x * x);
    double grad = 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du;
    dinp[i] = (float)(grad * dout[i]);
  }
}

void fs_adamw_update_ref(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t t)
{
  double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
  for (int64_t i = 0; i < n; i++) {
    double g = grad[i];
    double mi = beta1 * (double)m[i] + (1.0 - beta1) * g;
    double vi = beta2 * (double)v[i] + (1.0 - beta2) * g * g;
    m[i] = (float)mi;
    v[i] = (float)vi;
    double mhat = (double)m[i] / bc1, vhat = (double)v[i] / bc2;
    param[i] = (float)(param[i] - lr * (mhat / (sqrt(vhat) + eps) + weight_decay * (double)param[i]));
  }
}

double fs_sum_squares_ref(const float *x, int64_t n)
{
  double acc = 0;
  for (int64_t i = 0; i < n; i++) acc += (double)x[i] * x[i];
  return acc;
}

void fs_scale_ref(float *x, float s, int64_t n)
{
  for (int64_t i = 0; i < n; i++) x[i] *= s;
}

void fs_add_ref(float *out, const float *a, const float *b, int64_t n)
{
  for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
