/* fs_ops_cpu_tables.c -- the two CPU op tables: the reference (plain loops, the tests' oracle) and the fast one
 * (OpenMP + OpenBLAS).  Both have the same semantics, stated in fs_ops.h. */
#include "fs_ops.h"
#include "fs_ops_cpu_impl.h"

#define FS_OPS_TABLE(NAME, SFX) \
  { \
    .name = NAME, .matmul_forward = fs_matmul_forward_##SFX, .matmul_backward = fs_matmul_backward_##SFX, \
    .embedding_forward = fs_embedding_forward_##SFX, .embedding_backward = fs_embedding_backward_##SFX, \
    .position_forward = fs_position_forward_##SFX, .position_backward = fs_position_backward_##SFX, \
    .rmsnorm_forward = fs_rmsnorm_forward_##SFX, .rmsnorm_backward = fs_rmsnorm_backward_##SFX, \
    .layernorm_forward = fs_layernorm_forward_##SFX, .layernorm_backward = fs_layernorm_backward_##SFX, \
    .rope_forward = fs_rope_forward_##SFX, .rope_backward = fs_rope_backward_##SFX, \
    .attention_forward = fs_attention_forward_##SFX, .attention_backward = fs_attention_backward_##SFX, \
    .swiglu_forward = fs_swiglu_forward_##SFX, .swiglu_backward = fs_swiglu_backward_##SFX, \
    .gelu_forward = fs_gelu_forward_##SFX, .gelu_backward = fs_gelu_backward_##SFX, \
    .lmhead_xent = fs_lmhead_xent_##SFX, .lmhead_logits = fs_lmhead_logits_##SFX, \
    .adamw_update = fs_adamw_update_##SFX, .sum_squares = fs_sum_squares_##SFX, .scale = fs_scale_##SFX, \
    .add = fs_add_##SFX, \
  }

const struct fs_ops fs_ops_cpu_ref = FS_OPS_TABLE("cpu-ref", ref);
const struct fs_ops fs_ops_cpu = FS_OPS_TABLE("cpu", cpu);
