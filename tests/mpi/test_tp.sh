#!/bin/sh
# test_tp.sh -- tensor and sequence parallelism, activation recomputation.
#  1. test_tp_model (np 2 and np 4): TP 2 gradients/logits against TP 1, replicated gradients identical on the TP
#     ranks, recomputation bit-identical, checkpoints TP 2 <-> TP 1, an indivisible head count is an error.
#  2. flagscale-pretrain, LLaMA GQA (4 heads, 2 kv heads) and GPT-2 style: the loss sequences of 20 iterations at
#     TP 2, TP 2 + SP, TP 2 x DP 2 (+ SP), TP 2 with full / selective recomputation equal TP 1's within 1e-5.
#  3. -num_attention_heads 3 at TP 2: a clear error.
# Gradient clipping is on (1.0): the norm is global over the TP ranks, and compared too.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
export OMPI_MCA_mpi_yield_when_idle=1
model=${top_builddir:-.}/tests/mpi/test_tp_model
for np in 2 4; do
  timeout 300 $MPIEXEC -np $np "$model" -dir "$tmp" > "$tmp/model$np.log" 2>&1 \
    || { cat "$tmp/model$np.log"; echo "FAIL: test_tp_model np $np"; exit 1; }
done
grep -e "worst relative" -e "gradient bytes" "$tmp/model2.log"
args="-global_batch_size 8 -train_iters 20 -lr 3e-3 -lr_warmup_iters 3 -lr_decay_style cosine -min_lr 1e-4"
# run NAME NP OPTIONS...: rank 0 logs to NAME.jsonl, the others to NAME.rest.jsonl (MPMD: one file per writer)
run() {
  name=$1 np=$2
  shift 2
  if [ "$np" = 1 ]; then
    set -- -np 1 "$bin/flagscale-pretrain" $tiny $args $model_opts -metrics_file "$tmp/$name.jsonl" "$@"
  else
    set -- -np 1 "$bin/flagscale-pretrain" $tiny $args $model_opts -metrics_file "$tmp/$name.jsonl" "$@" \
      : -np $((np - 1)) "$bin/flagscale-pretrain" $tiny $args $model_opts -metrics_file "$tmp/$name.rest.jsonl" "$@"
  fi
  timeout 300 $MPIEXEC "$@" > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; echo "FAIL: $name"; exit 1; }
}
for structure in llama gpt2; do
  if [ $structure = llama ]; then model_opts=""
  else model_opts="-num_query_groups 4 -normalization layernorm -position_embedding_type learned_absolute -swiglu false
    -add_bias_linear -untie_embeddings_and_output_weights false"; fi
  run ${structure}_tp1 1
  run ${structure}_tp2 2 -tensor_model_parallel_size 2
  run ${structure}_tp2sp 2 -tensor_model_parallel_size 2 -sequence_parallel
  run ${structure}_tp2dp2 4 -tensor_model_parallel_size 2
  run ${structure}_tp2dp2sp 4 -tensor_model_parallel_size 2 -sequence_parallel
  run ${structure}_full 2 -tensor_model_parallel_size 2 -recompute_granularity full -recompute_method uniform
  run ${structure}_selective 2 -tensor_model_parallel_size 2 -sequence_parallel -recompute_granularity selective
  echo "== $structure"
  $PYTHON "${top_srcdir:-.}/tests/mpi/tp_losses.py" "$tmp/${structure}_tp1.jsonl" "$tmp/${structure}_tp2.jsonl" \
    "$tmp/${structure}_tp2sp.jsonl" "$tmp/${structure}_tp2dp2.jsonl" \
    "$tmp/${structure}_tp2dp2sp.jsonl" "$tmp/${structure}_full.jsonl" "$tmp/${structure}_selective.jsonl" || exit 1
done
grep "memory per rank" "$tmp/llama_tp1.log" "$tmp/llama_tp2sp.log" | head -n 2
# 3 heads do not split over 2 ranks
model_opts="-num_attention_heads 3 -num_query_groups 3 -hidden_size 24"
if $MPIEXEC -np 2 "$bin/flagscale-pretrain" $tiny $args $model_opts -tensor_model_parallel_size 2 \
  > "$tmp/bad.log" 2>&1; then
  echo "FAIL: 3 heads accepted at TP 2"
  exit 1
fi
grep -q "tensor-parallel size 2 must divide the attention heads (3)" "$tmp/bad.log" \
  || { cat "$tmp/bad.log"; echo "FAIL: no clear error for 3 heads at TP 2"; exit 1; }
echo "3 heads at TP 2: clear error"
