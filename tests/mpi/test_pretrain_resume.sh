#!/bin/sh
# test_pretrain_resume.sh -- checkpoints through training:
#  - 20 iterations straight == 10 + save (-exit_interval) + resume (-load) + 10, bit for bit, on 1 and on 2 ranks
#  - saved on 2 ranks, resumed on 1: the losses continue within 1e-5 relative
#  - -finetune loads the weights only (iteration 0); a checkpoint of another model is a clear error on all ranks
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
fail=0
run() { # np log-name options...
  np=$1 name=$2; shift 2
  timeout 600 $MPIEXEC -np "$np" "$bin/flagscale-pretrain" $tiny -global_batch_size 8 -train_iters 20 -lr 2e-3 \
    -lr_warmup_iters 3 -lr_decay_style cosine -eval_interval 5 -eval_iters 1 "$@" > "$tmp/$name.log" 2>&1
}
for np in 1 2; do
  run $np straight$np -metrics_file "$tmp/straight$np.jsonl" || { cat "$tmp/straight$np.log"; fail=1; }
  run $np first$np -metrics_file "$tmp/resumed$np.jsonl" -save "$tmp/ck$np" -exit_interval 10 || { cat "$tmp/first$np.log"; fail=1; }
  grep -q "stopping at iteration 10 because of -exit_interval" "$tmp/first$np.log" || { echo "FAIL: no stop at 10"; fail=1; }
  [ "$(cat "$tmp/ck$np/latest_checkpointed_iteration.txt")" = 10 ] || { echo "FAIL: tracker"; fail=1; }
  cp -r "$tmp/ck$np" "$tmp/ck${np}_at10"
  run $np second$np -metrics_file "$tmp/resumed$np.jsonl" -save "$tmp/ck$np" -load "$tmp/ck$np" || { cat "$tmp/second$np.log"; fail=1; }
  grep -q "loaded: iteration 10, 80 samples consumed" "$tmp/second$np.log" || { cat "$tmp/second$np.log"; fail=1; }
  echo "== $np rank(s): straight vs saved + resumed"
  $PYTHON "${top_srcdir:-.}/tests/mpi/same_losses.py" "$tmp/straight$np.jsonl" "$tmp/resumed$np.jsonl" || fail=1
done
echo "== saved on 2 ranks, resumed on 1"
run 1 cross -metrics_file "$tmp/cross.jsonl" -load "$tmp/ck2_at10" -exit_interval 15 || { cat "$tmp/cross.log"; fail=1; }
grep -E '"iteration": 1[1-5],' "$tmp/straight1.jsonl" > "$tmp/straight_11_15.jsonl"
$PYTHON "${top_srcdir:-.}/tests/mpi/compare_metrics.py" "$tmp/straight_11_15.jsonl" "$tmp/cross.jsonl" 1e-5 || fail=1
echo "== -finetune"
run 1 ft -load "$tmp/ck1" -finetune -train_iters 2 -lr_warmup_iters 0 || { cat "$tmp/ft.log"; fail=1; }
grep -q "iteration        2/       2" "$tmp/ft.log" || { cat "$tmp/ft.log"; echo "FAIL: finetune did not restart at 0"; fail=1; }
echo "== another model"
if run 2 wrong -load "$tmp/ck2_at10" -num_layers 3; then echo "FAIL: loaded a checkpoint of another model"; fail=1
else
  [ $? -ne 124 ] || { echo "FAIL: hang"; fail=1; }
  grep -q "holds another model: 2 layers" "$tmp/wrong.log" || { cat "$tmp/wrong.log"; echo "FAIL: no clear message"; fail=1; }
fi
exit $fail
