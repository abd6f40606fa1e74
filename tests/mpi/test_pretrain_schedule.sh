#!/bin/sh
# test_pretrain_schedule.sh -- learning-rate warmup + decay and batch-size ramp-up, as logged by the trainer at
# every iteration, against an independent implementation of Megatron's formulas (tests/ref/schedule_ref.py);
# and a typo in an option stops the job before it trains.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
fail=0
check() { # name style ramp-options... -- runs on 2 ranks
  name=$1 style=$2; shift 2
  timeout 600 $MPIEXEC -np 2 "$bin/flagscale-pretrain" $tiny -lr 1e-3 -min_lr 1e-4 -lr_decay_style $style \
    -eval_interval 0 -metrics_file "$tmp/$name.jsonl" "$@" > "$tmp/$name.log" 2>&1 \
    || { cat "$tmp/$name.log"; echo "FAIL: $name did not run"; fail=1; return; }
}
check cosine-ramp cosine -global_batch_size 16 -rampup_batch_size 4,4,48 -train_samples 160 -lr_warmup_samples 40 \
  -lr_decay_samples 120
$PYTHON "${top_srcdir:-.}/tests/ref/schedule_ref.py" "$tmp/cosine-ramp.jsonl" 1e-3 1e-4 40 120 cosine 4 4 48 16 || fail=1
check linear linear -global_batch_size 8 -train_iters 12 -lr_warmup_iters 2 -lr_decay_iters 10
$PYTHON "${top_srcdir:-.}/tests/ref/schedule_ref.py" "$tmp/linear.jsonl" 1e-3 1e-4 16 80 linear 0 0 0 8 || fail=1
check constant constant -global_batch_size 4 -train_iters 6 -lr_warmup_fraction 0.5
$PYTHON "${top_srcdir:-.}/tests/ref/schedule_ref.py" "$tmp/constant.jsonl" 1e-3 1e-4 12 24 constant 0 0 0 4 || fail=1
if timeout 120 $MPIEXEC -np 2 "$bin/flagscale-pretrain" $tiny -train_iters 2 -lr_decay_stlye cosine > "$tmp/typo.log" 2>&1; then
  echo "FAIL: a misspelt option was accepted"; fail=1
else
  grep -q "lr_decay_stlye.*was set but" "$tmp/typo.log" || { cat "$tmp/typo.log"; echo "FAIL: no clear message"; fail=1; }
fi
exit $fail
