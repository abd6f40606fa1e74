/* fs_ops_cuda_impl.h -- internal to src/ops/cuda: the functions the CUDA op table is filled with (one group per
 * .cu file) and the error reporter shared by them.  C-callable; the table itself is C (fs_ops_cuda_table.c). */
#ifndef FS_OPS_CUDA_IMPL_H
#define FS_OPS_CUDA_IMPL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fs_ops_cuda_dense.cu */
void fs_matmul_forward_cuda(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int C,
                            int OC);
void fs_matmul_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *weight, int64_t N, int C, int OC);
void fs_embedding_forward_cuda(float *out, const int32_t *tokens, const float *wte, int64_t N, int C);
void fs_embedding_backward_cuda(float *dwte, const float *dout, const int32_t *tokens, int64_t N, int C);
void fs_position_forward_cuda(float *out, const float *wpe, int B, int T, int C, const int32_t *pos);
void fs_position_backward_cuda(float *dwpe, const float *dout, int B, int T, int C, const int32_t *pos);
/* fs_ops_cuda_pointwise.cu */
void fs_swiglu_forward_cuda(float *out, const float *gate, const float *up, int64_t n);
void fs_swiglu_backward_cuda(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                             int64_t n);
void fs_gelu_forward_cuda(float *out, const float *inp, int64_t n);
void fs_gelu_backward_cuda(float *dinp, const float *dout, const float *inp, int64_t n);
void fs_adamw_update_cuda(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                          float beta2, float eps, float weight_decay, int64_t t);
double fs_sum_squares_cuda(const float *x, int64_t n);
void fs_scale_cuda(float *x, float s, int64_t n);
void fs_add_cuda(float *out, const float *a, const float *b, int64_t n);
/* fs_ops_cuda_norm.cu */
void fs_rmsnorm_forward_cuda(float *out, float *rstd, const float *inp, const float *weight, int64_t N, int C,
                             float eps);
void fs_rmsnorm_backward_cuda(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                              const float *rstd, int64_t N, int C);
void fs_layernorm_forward_cuda(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                               const float *bias, int64_t N, int C, float eps);
void fs_layernorm_backward_cuda(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                const float *weight, const float *mean, const float *rstd, int64_t N, int C);
/* fs_ops_cuda_rope.cu */
void fs_rope_forward_cuda(float *x, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos);
void fs_rope_backward_cuda(float *dx, int B, int T, int H, int D, float base, int pos_offset, const int32_t *pos);
/* fs_ops_cuda_attn.cu */
void fs_attention_forward_cuda(float *out, float *lse, const float *q, const float *k, const float *v, int B, int T,
                               int NH, int NKV, int D, const int32_t *pos);
void fs_attention_backward_cuda(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                                const float *v, const float *out, const float *lse, int B, int T, int NH, int NKV,
                                int D, const int32_t *pos);
/* fs_ops_cuda_xent.cu */
void fs_lmhead_xent_cuda(float *losses, float *dinp, float *dweight, const float *inp, const float *weight,
                         const int32_t *targets, const float *row_weight, int64_t N, int C, int V);
void fs_lmhead_logits_cuda(float *logits, const float *inp, const float *weight, int64_t N, int C, int V);

/* fs_ops_cuda_util.cu; declared for users in fs_ops_cuda.h (repeated here: nvcc does not see src/ops, so the .cu
 * files cannot include fs_ops.h) */
void fs_ops_cuda_sync(void);

/* fs_ops_cuda_fatal.c (compiled by mpicc: nvcc does not see MPI's headers).  Prints "flagscale cuda ops: CALL
 * failed at FILE:LINE: ERROR", then HINT, then MPI_Abort (abort() when MPI is not initialized).  Never returns. */
void fs_cuda_fatal(const char *call, const char *error, const char *hint, const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif
