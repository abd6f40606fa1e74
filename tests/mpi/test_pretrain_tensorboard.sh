#!/bin/sh
# test_pretrain_tensorboard.sh -- -tensorboard_dir writes event files that TensorBoard's own reader loads, with the
# same loss / lr / grad norm / validation loss as the metrics file; -log_view shows the training events.
$PYTHON -c 'import tensorboard' 2>/dev/null || { echo "SKIP: the tensorboard package is not importable by $PYTHON"; exit 77; }
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
timeout 600 "$bin/flagscale-pretrain" $tiny -global_batch_size 4 -train_iters 6 -eval_interval 3 -eval_iters 1 \
  -metrics_file "$tmp/m.jsonl" -tensorboard_dir "$tmp/tb" -log_view > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; exit 1; }
for ev in FwdBwd GradAllreduce Optimizer DataLoad; do
  grep -q "^$ev  *[1-9]" "$tmp/run.log" || { grep -A3 "Event  " "$tmp/run.log"; echo "FAIL: -log_view has no event $ev"; exit 1; }
done
$PYTHON "${top_srcdir:-.}/tests/ref/tensorboard_check.py" "$tmp/tb" "$tmp/m.jsonl"
