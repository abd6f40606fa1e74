#!/bin/sh
# test_pretrain_preempt.sh -- preemption: SIGUSR1 to mpirun (what Slurm's --signal=USR1 delivers) and SIGTERM to a
# single process make the job finish the current iteration, save, and exit 0; resuming from that checkpoint gives
# the losses of an uninterrupted run, bit for bit.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
fail=0
opts="$tiny -global_batch_size 8 -train_iters 30 -lr 2e-3 -lr_warmup_iters 3 -eval_interval 0"
wait_for_iteration() { # metrics-file n: wait (at most 120 s) until iteration n is logged
  i=0
  while [ $i -lt 1200 ]; do
    [ -f "$1" ] && [ "$(grep -c '"loss"' "$1")" -ge "$2" ] && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
preempt() { # name signal launcher...: start, signal after iteration 3, expect a clean stop with a checkpoint
  name=$1 sig=$2; shift 2
  "$@" "$bin/flagscale-pretrain" $opts -save "$tmp/ck_$name" -metrics_file "$tmp/$name.jsonl" > "$tmp/$name.log" 2>&1 &
  pid=$!
  wait_for_iteration "$tmp/$name.jsonl" 3 || { echo "FAIL: $name never reached iteration 3"; kill -9 $pid; cat "$tmp/$name.log"; fail=1; return; }
  kill -s "$sig" $pid
  wait $pid
  rc=$?
  it=$(cat "$tmp/ck_$name/latest_checkpointed_iteration.txt" 2>/dev/null)
  if [ $rc -ne 0 ] || ! grep -q "stopping at iteration $it because of a stop signal (SIGTERM/SIGUSR1) (checkpoint saved)" "$tmp/$name.log"; then
    cat "$tmp/$name.log"; echo "FAIL: $name: rc=$rc, tracker '$it'"; fail=1; return
  fi
  echo "ok: $name stopped cleanly at iteration $it (rc 0), checkpoint saved"
  [ "$it" -lt 30 ] || { echo "FAIL: $name: the signal came too late to test anything"; fail=1; }
  "$@" "$bin/flagscale-pretrain" $opts -save "$tmp/ck_$name" -load "$tmp/ck_$name" -metrics_file "$tmp/$name.jsonl" \
    > "$tmp/$name-resume.log" 2>&1 || { cat "$tmp/$name-resume.log"; echo "FAIL: $name resume"; fail=1; return; }
}
timeout 300 $MPIEXEC -np 2 "$bin/flagscale-pretrain" $opts -metrics_file "$tmp/straight2.jsonl" > "$tmp/straight2.log" 2>&1 || fail=1
timeout 300 "$bin/flagscale-pretrain" $opts -metrics_file "$tmp/straight1.jsonl" > "$tmp/straight1.log" 2>&1 || fail=1
preempt mpirun-usr1 USR1 $MPIEXEC -np 2
$PYTHON "${top_srcdir:-.}/tests/mpi/same_losses.py" "$tmp/straight2.jsonl" "$tmp/mpirun-usr1.jsonl" || fail=1
preempt single-term TERM env
$PYTHON "${top_srcdir:-.}/tests/mpi/same_losses.py" "$tmp/straight1.jsonl" "$tmp/single-term.jsonl" || fail=1
exit $fail
