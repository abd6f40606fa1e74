#!/bin/sh
# test_dist_opt_tp.sh -- the distributed optimizer under tensor parallelism: TP 2 x DP 2 with
# -use_distributed_optimizer (each rank shards its TP slice over its data-parallel pair; the gradient norm sums
# the shards over DP and TP, replicated tensors once) trains like TP 1 x DP 1: losses and grad norms within 1e-5
# relative over 20 iterations; the optimizer state per rank is a quarter of the TP 1 x DP 1 one (within 2%).
# Its checkpoint at iteration 10 (global tensors) resumed at TP 1 x DP 1 without the distributed optimizer
# continues the reference within 1e-5.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
export OMPI_MCA_mpi_yield_when_idle=1
fail=0
args="-global_batch_size 8 -train_iters 20 -lr 2e-3 -lr_warmup_iters 3 -lr_decay_style cosine -eval_interval 0"
timeout 300 $MPIEXEC -np 1 "$bin/flagscale-pretrain" $tiny $args -metrics_file "$tmp/ref.jsonl" > "$tmp/ref.log" 2>&1 ||
  { cat "$tmp/ref.log"; echo "FAIL: TP 1 x DP 1 run"; exit 1; }
# MPMD: only rank 0 (tp 0, dp 0) gets the metrics file; tp rank 1 of the same data-parallel rank would write one too
timeout 300 $MPIEXEC -np 1 "$bin/flagscale-pretrain" $tiny $args -tensor_model_parallel_size 2 \
  -use_distributed_optimizer -metrics_file "$tmp/tpdp.jsonl" -save "$tmp/ck" -save_interval 10 \
  : -np 3 "$bin/flagscale-pretrain" $tiny $args -tensor_model_parallel_size 2 -use_distributed_optimizer \
  -save "$tmp/ck" -save_interval 10 \
  > "$tmp/tpdp.log" 2>&1 || { cat "$tmp/tpdp.log"; echo "FAIL: TP 2 x DP 2 run"; exit 1; }
grep -q "distributed optimizer: .* in 2 shards" "$tmp/tpdp.log" || { echo "FAIL: not sharded over DP 2"; fail=1; }
echo "== TP 2 x DP 2 distributed vs TP 1 x DP 1"
$PYTHON "${top_srcdir:-.}/tests/mpi/compare_metrics.py" "$tmp/ref.jsonl" "$tmp/tpdp.jsonl" 1e-5 || fail=1
bytes() { sed -n 's/.*optimizer state bytes per rank: max \([0-9]*\) .*/\1/p' "$tmp/$1.log" | head -n 1; }
awk -v a="$(bytes ref)" -v b="$(bytes tpdp)" 'BEGIN {
  if (a == "" || b == "") { print "FAIL: no memory report"; exit 1 }
  printf "optimizer state bytes per rank: TP1xDP1 %d, TP2xDP2 distributed %d (%.3fx less)\n", a, b, a / b
  if (a / b < 4 * 0.98 || a / b > 4 * 1.02) { print "FAIL: not ~1/4"; exit 1 }
}' || fail=1
echo "== saved at TP 2 x DP 2 distributed (iteration 10), resumed at TP 1 x DP 1 replicated"
cp -r "$tmp/ck" "$tmp/ck10" && echo 10 > "$tmp/ck10/latest_checkpointed_iteration.txt"
timeout 300 $MPIEXEC -np 1 "$bin/flagscale-pretrain" $tiny $args -load "$tmp/ck10" -metrics_file "$tmp/back.jsonl" \
  > "$tmp/back.log" 2>&1 || { cat "$tmp/back.log"; echo "FAIL: resume"; exit 1; }
grep -q "loaded: iteration 10, 80 samples consumed" "$tmp/back.log" || { cat "$tmp/back.log"; fail=1; }
grep -E '"iteration": (1[1-9]|20),' "$tmp/ref.jsonl" > "$tmp/ref_late.jsonl"
$PYTHON "${top_srcdir:-.}/tests/mpi/compare_metrics.py" "$tmp/ref_late.jsonl" "$tmp/back.jsonl" 1e-5 || fail=1
exit $fail
