#!/bin/sh
# test_pp_resume.sh -- checkpoints across (TP, PP, DP) layouts through flagscale-pretrain.  LLaMA, 4 layers:
# 10 iterations at (2,2,2) with the distributed optimizer, saved; resumed at (1,1,1) and at (1,2,4) (distributed
# optimizer) for 10 more.  GPT-2 with tied embeddings: saved at (1,2,1) (the embedding lives on both end stages,
# written once), resumed at (1,1,1).  The losses and gradient norms continue those of an uninterrupted (1,1,1) run
# within 1e-5.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
export OMPI_MCA_mpi_yield_when_idle=1
args="-num_layers 4 -global_batch_size 8 -train_iters 20 -lr 3e-3 -lr_warmup_iters 3 -lr_decay_style cosine
  -min_lr 1e-4 -clip_grad 1.0"
gpt2="-num_query_groups 4 -normalization layernorm -position_embedding_type learned_absolute -swiglu false
  -add_bias_linear -untie_embeddings_and_output_weights false"
run() { # name tp pp dp options...
  name=$1 tp=$2 pp=$3 dp=$4
  shift 4
  timeout 300 $MPIEXEC -np $((tp * pp * dp)) "$bin/flagscale-pretrain" $tiny $args -metrics_file "$tmp/$name.jsonl" \
    -tensor_model_parallel_size $tp -pipeline_model_parallel_size $pp "$@" > "$tmp/$name.log" 2>&1 \
    || { cat "$tmp/$name.log"; echo "FAIL: $name"; exit 1; }
}
second_half() { grep -E '"iteration": (1[1-9]|20),' "$1" > "$2"; }
run straight 1 1 1
run save_222 2 2 2 -use_distributed_optimizer -save "$tmp/ck_222" -exit_interval 10
grep -q "stopping at iteration 10" "$tmp/save_222.log" || { cat "$tmp/save_222.log"; echo "FAIL: no stop at 10"; exit 1; }
run load_111 1 1 1 -load "$tmp/ck_222"
run load_124 1 2 4 -use_distributed_optimizer -load "$tmp/ck_222"
second_half "$tmp/straight.jsonl" "$tmp/straight_11_20.jsonl"
echo "== LLaMA: saved at (2,2,2) + distributed optimizer, resumed at (1,1,1) and (1,2,4) + distributed optimizer"
$PYTHON "${top_srcdir:-.}/tests/mpi/tp_losses.py" "$tmp/straight_11_20.jsonl" "$tmp/load_111.jsonl" \
  "$tmp/load_124.jsonl" || exit 1
run g_straight 1 1 1 $gpt2
run g_save_121 1 2 1 $gpt2 -save "$tmp/ck_g121" -exit_interval 10
run g_load_111 1 1 1 $gpt2 -load "$tmp/ck_g121"
second_half "$tmp/g_straight.jsonl" "$tmp/g_straight_11_20.jsonl"
echo "== GPT-2 (tied embeddings): saved at (1,2,1), resumed at (1,1,1)"
$PYTHON "${top_srcdir:-.}/tests/mpi/tp_losses.py" "$tmp/g_straight_11_20.jsonl" "$tmp/g_load_111.jsonl" || exit 1
