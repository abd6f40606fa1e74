/* fs_ops_cuda_dense.cu -- matmul (cuBLAS), embeddings and learned positions on the GPU.
 * Column sums (dbias, dwpe) are deterministic: fixed partition, fixed order; only embedding_backward uses atomics
 * (tokens repeat in any order, and a sort per step would cost more than the scatter). */
#include "fs_ops_cuda_common.cuh"

/* cuBLAS sizes are int: longer row counts go in chunks (K = rows for dweight, M = rows for out and dinp) */
static const int64_t ROW_CHUNK = (int64_t)1 << 30;

/* out (N,OC) += bias (OC) */
__global__ void bias_add_kernel(float *out, const float *bias, int64_t N, int OC)
{
  FS_CUDA_FOR(i, N * OC) out[i] += bias[i % OC];
}

/* Column sums of a row-major (N,C) matrix, in two passes without atomics: pass 1 gives P partial sums per column
 * (block (32,8): 32 columns, 8 row lanes; blockIdx.y = partial), pass 2 adds them in order into the output.
 * Term of row n, column c: dy[n,c], or dy[n,c] * xhat[n,c] with xhat = (x - mean[n]) * rstd[n] (mean may be NULL):
 * bias, and the norms' weight gradients. */
enum { CS_COLS = 32, CS_ROWS = 8, CS_MAXPART = 64 };

__global__ void colsum_partial_kernel(float *part, const float *dy, const float *x, const float *mean,
                                      const float *rstd, int64_t N, int C, int64_t rows_per_part)
{
  __shared__ float s[CS_ROWS][CS_COLS + 1];
  int c = blockIdx.x * CS_COLS + threadIdx.x;
  int64_t r0 = blockIdx.y * rows_per_part, r1 = r0 + rows_per_part < N ? r0 + rows_per_part : N;
  float acc = 0;
  if (c < C)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += CS_ROWS) {
      float term = dy[r * C + c];
      if (x) term *= (x[r * C + c] - (mean ? mean[r] : 0.0f)) * rstd[r];
      acc += term;
    }
  s[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int y = 1; y < CS_ROWS; y++) acc += s[y][threadIdx.x];
    part[(int64_t)blockIdx.y * C + c] = acc;
  }
}

__global__ void colsum_finish_kernel(float *out, const float *part, int P, int C)
{
  FS_CUDA_FOR(c, (int64_t)C)
  {
    float acc = 0;
    for (int p = 0; p < P; p++) acc += part[(int64_t)p * C + c];
    out[c] += acc;
  }
}

void fs_cuda_colsum(float *out, const float *dy, const float *x, const float *mean, const float *rstd, int64_t N,
                    int C)
{
  if (N <= 0 || C <= 0) return;
  int64_t P = (N + 255) / 256;
  if (P > CS_MAXPART) P = CS_MAXPART;
  int64_t rows_per_part = (N + P - 1) / P;
  float *part = (float *)fs_cuda_keep(FS_CUDA_KEEP_REDUCE, (size_t)P * C * sizeof(float), "column sums");
  dim3 grid((unsigned)((C + CS_COLS - 1) / CS_COLS), (unsigned)P), block(CS_COLS, CS_ROWS);
  colsum_partial_kernel<<<grid, block>>>(part, dy, x, mean, rstd, N, C, rows_per_part);
  FS_CUDA_LAUNCHED("colsum_partial_kernel");
  colsum_finish_kernel<<<fs_cuda_blocks(C, 256), 256>>>(out, part, (int)P, C);
  FS_CUDA_LAUNCHED("colsum_finish_kernel");
}

extern "C" void fs_matmul_forward_cuda(float *out, const float *inp, const float *weight, const float *bias, int64_t N,
                                       int C, int OC)
{
  for (int64_t r = 0; r < N; r += ROW_CHUNK) {
    int rows = (int)(N - r < ROW_CHUNK ? N - r : ROW_CHUNK);
    fs_cuda_sgemm(0, 1, rows, OC, C, 1.0f, inp + r * C, C, weight, C, 0.0f, out + r * OC, OC);
  }
  if (bias) {
    bias_add_kernel<<<fs_cuda_blocks(N * OC, 256), 256>>>(out, bias, N, OC);
    FS_CUDA_LAUNCHED("bias_add_kernel");
  }
}

extern "C" void fs_matmul_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout,
                                        const float *inp, const float *weight, int64_t N, int C, int OC)
{
  for (int64_t r = 0; r < N; r += ROW_CHUNK) {
    int rows = (int)(N - r < ROW_CHUNK ? N - r : ROW_CHUNK);
    if (dinp) /* dinp (rows,C) = dout (rows,OC) @ weight (OC,C) */
      fs_cuda_sgemm(0, 0, rows, C, OC, 1.0f, dout + r * OC, OC, weight, C, 0.0f, dinp + r * C, C);
    if (dweight) /* dweight (OC,C) += dout^T (OC,rows) @ inp (rows,C) */
      fs_cuda_sgemm(1, 0, OC, C, rows, 1.0f, dout + r * OC, OC, inp + r * C, C, 1.0f, dweight, C);
  }
  if (dbias) fs_cuda_colsum(dbias, dout, NULL, NULL, NULL, N, OC);
}

__global__ void embedding_forward_kernel(float *out, const int32_t *tokens, const float *wte, int64_t N, int C)
{
  FS_CUDA_FOR(i, N * C) out[i] = wte[(int64_t)tokens[i / C] * C + i % C];
}

__global__ void embedding_backward_kernel(float *dwte, const float *dout, const int32_t *tokens, int64_t N, int C)
{
  FS_CUDA_FOR(i, N * C) atomicAdd(&dwte[(int64_t)tokens[i / C] * C + i % C], dout[i]);
}

extern "C" void fs_embedding_forward_cuda(float *out, const int32_t *tokens, const float *wte, int64_t N, int C)
{
  embedding_forward_kernel<<<fs_cuda_blocks(N * C, 256), 256>>>(out, tokens, wte, N, C);
  FS_CUDA_LAUNCHED("embedding_forward_kernel");
}

extern "C" void fs_embedding_backward_cuda(float *dwte, const float *dout, const int32_t *tokens, int64_t N, int C)
{
  embedding_backward_kernel<<<fs_cuda_blocks(N * C, 256), 256>>>(dwte, dout, tokens, N, C);
  FS_CUDA_LAUNCHED("embedding_backward_kernel");
}

/* out (B,T,C) += wpe[t], or wpe[pos[b,t]] with packed positions */
__global__ void position_forward_kernel(float *out, const float *wpe, int64_t n, int64_t TC, int C, const int32_t *pos)
{
  FS_CUDA_FOR(i, n) out[i] += pos ? wpe[(int64_t)pos[i / C] * C + i % C] : wpe[i % TC];
}

/* dwpe[t,c] += sum over b of dout[b,t,c]: one thread per (t,c), the batch in order */
__global__ void position_backward_kernel(float *dwpe, const float *dout, int B, int64_t TC)
{
  FS_CUDA_FOR(i, TC)
  {
    float acc = 0;
    for (int b = 0; b < B; b++) acc += dout[b * TC + i];
    dwpe[i] += acc;
  }
}

extern "C" void fs_position_forward_cuda(float *out, const float *wpe, int B, int T, int C, const int32_t *pos)
{
  int64_t TC = (int64_t)T * C, n = B * TC;
  position_forward_kernel<<<fs_cuda_blocks(n, 256), 256>>>(out, wpe, n, TC, C, pos);
  FS_CUDA_LAUNCHED("position_forward_kernel");
}

extern "C" void fs_position_backward_cuda(float *dwpe, const float *dout, int B, int T, int C, const int32_t *pos)
{
  int64_t TC = (int64_t)T * C;
  if (pos) { /* packed: each token's row goes to its position's row, as an embedding gradient by position */
    fs_embedding_backward_cuda(dwpe, dout, pos, (int64_t)B * T, C);
    return;
  }
  position_backward_kernel<<<fs_cuda_blocks(TC, 256), 256>>>(dwpe, dout, B, TC);
  FS_CUDA_LAUNCHED("position_backward_kernel");
}
