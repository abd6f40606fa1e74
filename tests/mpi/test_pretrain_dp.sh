#!/bin/sh
# test_pretrain_dp.sh -- data parallelism: 1 rank and 2 ranks on the same global batch give the same loss
# sequence within 1e-5 relative over 20 iterations (gradient accumulation on 1 rank vs all-reduce on 2).
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
run() { # name np
  timeout 600 $MPIEXEC -np "$2" "$bin/flagscale-pretrain" $tiny -global_batch_size 8 -train_iters 20 -lr 3e-3 \
    -lr_warmup_iters 3 -lr_decay_style cosine -min_lr 1e-4 -eval_interval 10 -eval_iters 1 \
    -metrics_file "$tmp/$1.jsonl" > "$tmp/$1.log" 2>&1 || { cat "$tmp/$1.log"; echo "FAIL: $1"; exit 1; }
}
run np1 1
run np2 2
tail -n 3 "$tmp/np2.log"
$PYTHON "${top_srcdir:-.}/tests/mpi/compare_metrics.py" "$tmp/np1.jsonl" "$tmp/np2.jsonl" 1e-5
