/* fs_ops_cuda_attn.cu -- causal grouped-query attention, flash style (fp32): tiles of queries and keys in shared
 * memory, online softmax, the log-sum-exp of each query row saved for backward; no T x T matrix exists anywhere.
 *
 * Layout: q, out, dq (B,T,NH,D); k, v, dk, dv (B,T,NKV,D); lse (B,NH,T).  Head sizes up to 256 (a lane of a warp
 * owns the head-size slots d = lane, lane + 32, ...: DPL = ceil(D/32) of them, a template parameter).
 *
 * forward  block = (16 queries, head h, batch b), 4 warps of 4 query rows; per key tile of 32, lane j scores key
 *          j against the warp's rows, the warp takes max and sum by shuffles, and each lane updates its slots of
 *          the output rows with the probabilities broadcast by shuffles.
 * backward D_row = dout . out per row (one warp per row), then two kernels, both without atomics (deterministic):
 *          dq:     block = (16 queries, h, b), like the forward: dq = scale * sum_j P (dP - D_row) k_j
 *          dk, dv: block = (16 keys, kv head, b), 4 warps of 4 keys, looping over the query heads of the group and
 *                  the query tiles of 32 at or after the keys (lane = query): dv_j = sum P dout, dk_j = scale *
 *                  sum P (dP - D_row) q.  Scores are recomputed from q, k and lse (P = exp(s - lse)).
 * Packed sequences (pos, fs_ops.h): query t reads keys t - pos[t] .. t.  The document start t - pos[t] never
 * decreases along a row, so the query blocks start their key loop at the tile of their first query's start, and
 * the key blocks stop their query loop at the first tile whose first query starts after the block's last key:
 * whole tiles outside every window are skipped. */
#include <cmath>
#include "fs_ops_cuda_common.cuh"

enum { A_WARPS = 4, A_THREADS = 32 * A_WARPS, A_BQ = 16, A_RQ = A_BQ / A_WARPS, A_BK = 32, A_BKK = 16,
       A_RK = A_BKK / A_WARPS, A_BQQ = 32 };

/* the first key query t of row b reads: t - pos[b,t] (0 without positions; any value past the row's end) */
__device__ __forceinline__ int attn_window_start(const int32_t *pos, int b, int T, int t)
{
  return !pos ? 0 : t < T ? t - pos[(int64_t)b * T + t] : T;
}

template <int DPL>
__global__ void attn_forward_kernel(float *out, float *lse, const float *q, const float *k, const float *v, int T,
                                    int NH, int NKV, int D, float scale, const int32_t *pos)
{
  extern __shared__ float sm[];
  float *Qs = sm, *Ks = Qs + A_BQ * D, *Vs = Ks + A_BK * (D + 1); /* Qs (BQ,D), Ks (BK,D+1) padded, Vs (BK,D) */
  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * A_BQ, hk = h / (NH / NKV);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int i = threadIdx.x; i < A_BQ * D; i += blockDim.x) {
    int r = i / D, d = i % D, t = q0 + r;
    Qs[i] = t < T ? q[(((int64_t)b * T + t) * NH + h) * D + d] : 0.0f;
  }
  float acc[A_RQ][DPL], m[A_RQ], l[A_RQ];
  int lo[A_RQ]; /* each row's first key */
  #pragma unroll
  for (int rr = 0; rr < A_RQ; rr++) {
    lo[rr] = attn_window_start(pos, b, T, q0 + warp * A_RQ + rr);
    m[rr] = -INFINITY, l[rr] = 0;
    #pragma unroll
    for (int e = 0; e < DPL; e++) acc[rr][e] = 0;
  }
  const int qlast = (q0 + A_BQ < T ? q0 + A_BQ : T) - 1;
  for (int k0 = attn_window_start(pos, b, T, q0) / A_BK * A_BK; k0 <= qlast; k0 += A_BK) {
    __syncthreads(); /* the previous tile is consumed */
    for (int i = threadIdx.x; i < A_BK * D; i += blockDim.x) {
      int r = i / D, d = i % D, j = k0 + r;
      int64_t off = (((int64_t)b * T + j) * NKV + hk) * D + d;
      Ks[r * (D + 1) + d] = j < T ? k[off] : 0.0f;
      Vs[r * D + d] = j < T ? v[off] : 0.0f;
    }
    __syncthreads();
    const int j = k0 + lane;
    float sd[A_RQ] = {0};
    const float *kr = Ks + lane * (D + 1);
    for (int d = 0; d < D; d++) {
      float kv = kr[d];
      #pragma unroll
      for (int rr = 0; rr < A_RQ; rr++) sd[rr] += Qs[(warp * A_RQ + rr) * D + d] * kv;
    }
    #pragma unroll
    for (int rr = 0; rr < A_RQ; rr++) {
      const int t = q0 + warp * A_RQ + rr;
      const bool valid = j <= t && j >= lo[rr] && j < T;
      float s = valid ? sd[rr] * scale : -INFINITY;
      float mnew = fmaxf(m[rr], fs_warp_max(s));
      float corr = mnew == -INFINITY ? 1.0f : expf(m[rr] - mnew);
      float p = valid ? expf(s - mnew) : 0.0f;
      l[rr] = l[rr] * corr + fs_warp_sum(p);
      m[rr] = mnew;
      #pragma unroll
      for (int e = 0; e < DPL; e++) acc[rr][e] *= corr;
      for (int jj = 0; jj < A_BK; jj++) {
        float pj = __shfl_sync(0xffffffffu, p, jj);
        #pragma unroll
        for (int e = 0; e < DPL; e++) {
          int d = lane + 32 * e;
          if (d < D) acc[rr][e] += pj * Vs[jj * D + d];
        }
      }
    }
  }
  #pragma unroll
  for (int rr = 0; rr < A_RQ; rr++) {
    const int t = q0 + warp * A_RQ + rr;
    if (t >= T) continue;
    float inv = 1.0f / l[rr];
    float *o = out + (((int64_t)b * T + t) * NH + h) * D;
    #pragma unroll
    for (int e = 0; e < DPL; e++) {
      int d = lane + 32 * e;
      if (d < D) o[d] = acc[rr][e] * inv;
    }
    if (lane == 0) lse[((int64_t)b * NH + h) * T + t] = m[rr] + logf(l[rr]);
  }
}

/* drow (B,NH,T) = sum over d of dout * out, one warp per row */
__global__ void attn_drow_kernel(float *drow, const float *dout, const float *out, int B, int T, int NH, int D)
{
  const int lane = threadIdx.x & 31;
  const int64_t rows = (int64_t)B * T * NH, warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t row = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); row < rows; row += warps) {
    float acc = 0;
    for (int d = lane; d < D; d += 32) acc += dout[row * D + d] * out[row * D + d];
    acc = fs_warp_sum(acc);
    int h = (int)(row % NH);
    int64_t bt = row / NH;
    int b = (int)(bt / T), t = (int)(bt % T);
    if (lane == 0) drow[((int64_t)b * NH + h) * T + t] = acc;
  }
}

template <int DPL>
__global__ void attn_dq_kernel(float *dq, const float *dout, const float *q, const float *k, const float *v,
                               const float *lse, const float *drow, int T, int NH, int NKV, int D, float scale,
                               const int32_t *pos)
{
  extern __shared__ float sm[];
  float *Qs = sm, *Os = Qs + A_BQ * D, *Ks = Os + A_BQ * D, *Vs = Ks + A_BK * (D + 1); /* Ks, Vs padded */
  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * A_BQ, hk = h / (NH / NKV);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int i = threadIdx.x; i < A_BQ * D; i += blockDim.x) {
    int r = i / D, d = i % D, t = q0 + r;
    int64_t off = (((int64_t)b * T + t) * NH + h) * D + d;
    Qs[i] = t < T ? q[off] : 0.0f;
    Os[i] = t < T ? dout[off] : 0.0f;
  }
  float acc[A_RQ][DPL], L[A_RQ], Dr[A_RQ];
  int lo[A_RQ];
  #pragma unroll
  for (int rr = 0; rr < A_RQ; rr++) {
    int t = q0 + warp * A_RQ + rr;
    lo[rr] = attn_window_start(pos, b, T, t);
    L[rr] = t < T ? lse[((int64_t)b * NH + h) * T + t] : 0.0f;
    Dr[rr] = t < T ? drow[((int64_t)b * NH + h) * T + t] : 0.0f;
    #pragma unroll
    for (int e = 0; e < DPL; e++) acc[rr][e] = 0;
  }
  const int qlast = (q0 + A_BQ < T ? q0 + A_BQ : T) - 1;
  for (int k0 = attn_window_start(pos, b, T, q0) / A_BK * A_BK; k0 <= qlast; k0 += A_BK) {
    __syncthreads();
    for (int i = threadIdx.x; i < A_BK * D; i += blockDim.x) {
      int r = i / D, d = i % D, j = k0 + r;
      int64_t off = (((int64_t)b * T + j) * NKV + hk) * D + d;
      Ks[r * (D + 1) + d] = j < T ? k[off] : 0.0f;
      Vs[r * (D + 1) + d] = j < T ? v[off] : 0.0f;
    }
    __syncthreads();
    const int j = k0 + lane;
    float sd[A_RQ] = {0}, dp[A_RQ] = {0};
    const float *kr = Ks + lane * (D + 1), *vr = Vs + lane * (D + 1);
    for (int d = 0; d < D; d++) {
      float kv = kr[d], vv = vr[d];
      #pragma unroll
      for (int rr = 0; rr < A_RQ; rr++) {
        sd[rr] += Qs[(warp * A_RQ + rr) * D + d] * kv;
        dp[rr] += Os[(warp * A_RQ + rr) * D + d] * vv;
      }
    }
    #pragma unroll
    for (int rr = 0; rr < A_RQ; rr++) {
      const int t = q0 + warp * A_RQ + rr;
      const bool valid = j <= t && j >= lo[rr] && j < T;
      float p = valid ? expf(sd[rr] * scale - L[rr]) : 0.0f;
      float ds = p * (dp[rr] - Dr[rr]);
      for (int jj = 0; jj < A_BK; jj++) {
        float dsj = __shfl_sync(0xffffffffu, ds, jj);
        #pragma unroll
        for (int e = 0; e < DPL; e++) {
          int d = lane + 32 * e;
          if (d < D) acc[rr][e] += dsj * Ks[jj * (D + 1) + d];
        }
      }
    }
  }
  #pragma unroll
  for (int rr = 0; rr < A_RQ; rr++) {
    const int t = q0 + warp * A_RQ + rr;
    if (t >= T) continue;
    float *o = dq + (((int64_t)b * T + t) * NH + h) * D;
    #pragma unroll
    for (int e = 0; e < DPL; e++) {
      int d = lane + 32 * e;
      if (d < D) o[d] = acc[rr][e] * scale;
    }
  }
}

template <int DPL>
__global__ void attn_dkdv_kernel(float *dk, float *dv, const float *dout, const float *q, const float *k,
                                 const float *v, const float *lse, const float *drow, int T, int NH, int NKV, int D,
                                 float scale, const int32_t *pos)
{
  extern __shared__ float sm[];
  /* Ks, Vs (BKK,D): this block's keys; Qs, Os (BQQ,D+1) padded: a query tile of one head; Ls, Ds (BQQ) */
  float *Ks = sm, *Vs = Ks + A_BKK * D, *Qs = Vs + A_BKK * D, *Os = Qs + A_BQQ * (D + 1), *Ls = Os + A_BQQ * (D + 1),
        *Ds = Ls + A_BQQ;
  const int b = blockIdx.z, hk = blockIdx.y, k0 = blockIdx.x * A_BKK, group = NH / NKV;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int i = threadIdx.x; i < A_BKK * D; i += blockDim.x) {
    int r = i / D, d = i % D, j = k0 + r;
    int64_t off = (((int64_t)b * T + j) * NKV + hk) * D + d;
    Ks[i] = j < T ? k[off] : 0.0f;
    Vs[i] = j < T ? v[off] : 0.0f;
  }
  float gk[A_RK][DPL], gv[A_RK][DPL];
  #pragma unroll
  for (int rr = 0; rr < A_RK; rr++)
    #pragma unroll
    for (int e = 0; e < DPL; e++) gk[rr][e] = gv[rr][e] = 0;
  for (int h = hk * group; h < (hk + 1) * group; h++)
    for (int t0 = k0 / A_BQQ * A_BQQ; t0 < T && attn_window_start(pos, b, T, t0) < k0 + A_BKK; t0 += A_BQQ) {
      __syncthreads(); /* the previous query tile is consumed (and the keys are loaded on the first pass) */
      for (int i = threadIdx.x; i < A_BQQ * D; i += blockDim.x) {
        int r = i / D, d = i % D, t = t0 + r;
        int64_t off = (((int64_t)b * T + t) * NH + h) * D + d;
        Qs[r * (D + 1) + d] = t < T ? q[off] : 0.0f;
        Os[r * (D + 1) + d] = t < T ? dout[off] : 0.0f;
      }
      for (int i = threadIdx.x; i < A_BQQ; i += blockDim.x) {
        int t = t0 + i;
        Ls[i] = t < T ? lse[((int64_t)b * NH + h) * T + t] : 0.0f;
        Ds[i] = t < T ? drow[((int64_t)b * NH + h) * T + t] : 0.0f;
      }
      __syncthreads();
      const int t = t0 + lane, lo = attn_window_start(pos, b, T, t); /* this lane's query and its first key */
      float sd[A_RK] = {0}, dp[A_RK] = {0};
      const float *qr = Qs + lane * (D + 1), *orow = Os + lane * (D + 1);
      for (int d = 0; d < D; d++) {
        float qv = qr[d], ov = orow[d];
        #pragma unroll
        for (int rr = 0; rr < A_RK; rr++) {
          sd[rr] += qv * Ks[(warp * A_RK + rr) * D + d];
          dp[rr] += ov * Vs[(warp * A_RK + rr) * D + d];
        }
      }
      #pragma unroll
      for (int rr = 0; rr < A_RK; rr++) {
        const int j = k0 + warp * A_RK + rr;
        const bool valid = t < T && j <= t && j >= lo;
        float p = valid ? expf(sd[rr] * scale - Ls[lane]) : 0.0f;
        float ds = p * (dp[rr] - Ds[lane]);
        for (int ii = 0; ii < A_BQQ; ii++) {
          float pi = __shfl_sync(0xffffffffu, p, ii), dsi = __shfl_sync(0xffffffffu, ds, ii);
          #pragma unroll
          for (int e = 0; e < DPL; e++) {
            int d = lane + 32 * e;
            if (d < D) {
              gv[rr][e] += pi * Os[ii * (D + 1) + d];
              gk[rr][e] += dsi * Qs[ii * (D + 1) + d];
            }
          }
        }
      }
    }
  #pragma unroll
  for (int rr = 0; rr < A_RK; rr++) {
    const int j = k0 + warp * A_RK + rr;
    if (j >= T) continue;
    int64_t off = (((int64_t)b * T + j) * NKV + hk) * D;
    #pragma unroll
    for (int e = 0; e < DPL; e++) {
      int d = lane + 32 * e;
      if (d < D) dk[off + d] = gk[rr][e] * scale, dv[off + d] = gv[rr][e];
    }
  }
}

/* dynamic shared memory above the 48 KiB default must be asked for per kernel */
template <typename K> static void allow_smem(K kernel, size_t bytes, const char *name)
{
  if (bytes > 48 * 1024) FS_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                            (int)bytes));
  (void)name;
}

template <int DPL>
static void attn_forward_launch(float *out, float *lse, const float *q, const float *k, const float *v, int B, int T,
                                int NH, int NKV, int D, const int32_t *pos)
{
  size_t smem = (size_t)(A_BQ * D + A_BK * (D + 1) + A_BK * D) * sizeof(float);
  allow_smem(attn_forward_kernel<DPL>, smem, "attn_forward_kernel");
  dim3 grid((unsigned)((T + A_BQ - 1) / A_BQ), (unsigned)NH, (unsigned)B);
  attn_forward_kernel<DPL><<<grid, A_THREADS, smem>>>(out, lse, q, k, v, T, NH, NKV, D, 1.0f / sqrtf((float)D),
                                                              pos);
  FS_CUDA_LAUNCHED("attn_forward_kernel");
}

template <int DPL>
static void attn_backward_launch(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                                 const float *v, const float *lse, const float *drow, int B, int T, int NH, int NKV,
                                 int D, const int32_t *pos)
{
  const float scale = 1.0f / sqrtf((float)D);
  size_t smem_q = (size_t)(2 * A_BQ * D + 2 * A_BK * (D + 1)) * sizeof(float);
  allow_smem(attn_dq_kernel<DPL>, smem_q, "attn_dq_kernel");
  dim3 grid_q((unsigned)((T + A_BQ - 1) / A_BQ), (unsigned)NH, (unsigned)B);
  attn_dq_kernel<DPL><<<grid_q, A_THREADS, smem_q>>>(dq, dout, q, k, v, lse, drow, T, NH, NKV, D, scale, pos);
  FS_CUDA_LAUNCHED("attn_dq_kernel");
  size_t smem_kv = (size_t)(2 * A_BKK * D + 2 * A_BQQ * (D + 1) + 2 * A_BQQ) * sizeof(float);
  allow_smem(attn_dkdv_kernel<DPL>, smem_kv, "attn_dkdv_kernel");
  dim3 grid_kv((unsigned)((T + A_BKK - 1) / A_BKK), (unsigned)NKV, (unsigned)B);
  attn_dkdv_kernel<DPL><<<grid_kv, A_THREADS, smem_kv>>>(dk, dv, dout, q, k, v, lse, drow, T, NH, NKV, D, scale,
                                                                 pos);
  FS_CUDA_LAUNCHED("attn_dkdv_kernel");
}

static int slots_per_lane(int NH, int NKV, int D)
{
  FS_CUDA_REQUIRE(D > 0 && D <= 256, "attention supports head sizes 1..256");
  FS_CUDA_REQUIRE(NKV > 0 && NH % NKV == 0, "attention needs NH to be a multiple of NKV");
  int s = (D + 31) / 32;
  return s <= 1 ? 1 : s <= 2 ? 2 : s <= 4 ? 4 : 8;
}

extern "C" void fs_attention_forward_cuda(float *out, float *lse, const float *q, const float *k, const float *v,
                                          int B, int T, int NH, int NKV, int D, const int32_t *pos)
{
  int dpl = slots_per_lane(NH, NKV, D);
  if (B <= 0 || T <= 0 || NH <= 0) return;
  switch (dpl) {
  case 1: attn_forward_launch<1>(out, lse, q, k, v, B, T, NH, NKV, D, pos); break;
  case 2: attn_forward_launch<2>(out, lse, q, k, v, B, T, NH, NKV, D, pos); break;
  case 4: attn_forward_launch<4>(out, lse, q, k, v, B, T, NH, NKV, D, pos); break;
  default: attn_forward_launch<8>(out, lse, q, k, v, B, T, NH, NKV, D, pos); break;
  }
}

extern "C" void fs_attention_backward_cuda(float *dq, float *dk, float *dv, const float *dout, const float *q,
                                           const float *k, const float *v, const float *out, const float *lse, int B,
                                           int T, int NH, int NKV, int D, const int32_t *pos)
{
  int dpl = slots_per_lane(NH, NKV, D);
  if (B <= 0 || T <= 0 || NH <= 0) return;
  int64_t rows = (int64_t)B * T * NH;
  float *drow = (float *)fs_cuda_keep(FS_CUDA_KEEP_ATTN, (size_t)rows * sizeof(float), "attention backward rows");
  attn_drow_kernel<<<fs_cuda_blocks(rows * 32, 256), 256>>>(drow, dout, out, B, T, NH, D);
  FS_CUDA_LAUNCHED("attn_drow_kernel");
  switch (dpl) {
  case 1: attn_backward_launch<1>(dq, dk, dv, dout, q, k, v, lse, drow, B, T, NH, NKV, D, pos); break;
  case 2: attn_backward_launch<2>(dq, dk, dv, dout, q, k, v, lse, drow, B, T, NH, NKV, D, pos); break;
  case 4: attn_backward_launch<4>(dq, dk, dv, dout, q, k, v, lse, drow, B, T, NH, NKV, D, pos); break;
  default: attn_backward_launch<8>(dq, dk, dv, dout, q, k, v, lse, drow, B, T, NH, NKV, D, pos); break;
  }
}
