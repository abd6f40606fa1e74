/* fs_ops_cuda_table.c -- the CUDA op table (C, so designated initializers name every slot as the CPU tables do;
 * the kernels behind it are in the .cu files of this folder).  Semantics: fs_ops.h; device pointers: fs_ops_cuda.h */
#include "fs_ops_cuda.h"
#include "fs_ops_cuda_impl.h"

const struct fs_ops fs_ops_cuda = {
  .name = "cuda",
  .matmul_forward = fs_matmul_forward_cuda,
  .matmul_backward = fs_matmul_backward_cuda,
  .embedding_forward = fs_embedding_forward_cuda,
  .embedding_backward = fs_embedding_backward_cuda,
  .position_forward = fs_position_forward_cuda,
  .position_backward = fs_position_backward_cuda,
  .rmsnorm_forward = fs_rmsnorm_forward_cuda,
  .rmsnorm_backward = fs_rmsnorm_backward_cuda,
  .layernorm_forward = fs_layernorm_forward_cuda,
  .layernorm_backward = fs_layernorm_backward_cuda,
  .rope_forward = fs_rope_forward_cuda,
  .rope_backward = fs_rope_backward_cuda,
  .attention_forward = fs_attention_forward_cuda,
  .attention_backward = fs_attention_backward_cuda,
  .swiglu_forward = fs_swiglu_forward_cuda,
  .swiglu_backward = fs_swiglu_backward_cuda,
  .gelu_forward = fs_gelu_forward_cuda,
  .gelu_backward = fs_gelu_backward_cuda,
  .lmhead_xent = fs_lmhead_xent_cuda,
  .lmhead_logits = fs_lmhead_logits_cuda,
  .adamw_update = fs_adamw_update_cuda,
  .sum_squares = fs_sum_squares_cuda,
  .scale = fs_scale_cuda,
  .add = fs_add_cuda,
};
