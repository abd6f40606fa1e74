#!/bin/sh
# test_pretrain_nan.sh -- a diverging run (absurd learning rate: the weights overflow after the first step) is
# caught: -on_nan stop ends the job on every rank with a clear message and a non-zero exit; -on_nan skip skips
# the steps and counts them in the log line and the metrics.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
fail=0
timeout 300 $MPIEXEC -np 2 "$bin/flagscale-pretrain" $tiny -global_batch_size 4 -train_iters 4 -lr 1e38 -clip_grad 0 \
  -lr_decay_style constant -eval_interval 0 > "$tmp/stop.log" 2>&1
rc=$?
if [ $rc -eq 0 ] || [ $rc -eq 124 ] || ! grep -q "not finite" "$tmp/stop.log"; then
  cat "$tmp/stop.log"; echo "FAIL: -on_nan stop (rc=$rc)"; fail=1
else echo "ok: -on_nan stop ended the job (rc=$rc)"; fi
timeout 300 $MPIEXEC -np 2 "$bin/flagscale-pretrain" $tiny -global_batch_size 4 -train_iters 4 -lr 1e38 -clip_grad 0 \
  -lr_decay_style constant -eval_interval 0 -on_nan skip -metrics_file "$tmp/skip.jsonl" > "$tmp/skip.log" 2>&1 \
  || { cat "$tmp/skip.log"; echo "FAIL: -on_nan skip did not finish"; fail=1; }
last=$(tail -n 1 "$tmp/skip.jsonl")
echo "$last"
echo "$last" | grep -q '"loss": null' && echo "$last" | grep -q '"skipped_iterations": 3, "nan_iterations": 3' || { echo "FAIL: expected 3 skipped NaN iterations"; fail=1; }
grep -q "number of nan iterations:   3" "$tmp/skip.log" || { echo "FAIL: log line does not count them"; fail=1; }
exit $fail
