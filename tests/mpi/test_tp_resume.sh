#!/bin/sh
# test_tp_resume.sh -- checkpoints across tensor-parallel layouts through flagscale-pretrain: 10 iterations at
# TP 2 saved, resumed at TP 1 for 10 more (and TP 1 -> TP 2): the losses continue those of an uninterrupted TP 1
# run within 1e-5 (the trainer saves and loads on the world communicator: every TP and DP rank).
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
export OMPI_MCA_mpi_yield_when_idle=1
args="-global_batch_size 8 -train_iters 20 -lr 3e-3 -lr_warmup_iters 3 -lr_decay_style cosine -min_lr 1e-4"
run() { # name np options...
  name=$1 np=$2
  shift 2
  set -- -np 1 "$bin/flagscale-pretrain" $tiny $args -metrics_file "$tmp/$name.jsonl" "$@"
  timeout 300 $MPIEXEC "$@" > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; echo "FAIL: $name"; exit 1; }
}
run straight 1
# np 2 with one metrics writer per TP rank: MPMD
runtp() { # name options...
  name=$1
  shift
  timeout 300 $MPIEXEC -np 1 "$bin/flagscale-pretrain" $tiny $args -metrics_file "$tmp/$name.jsonl" "$@" \
    : -np 1 "$bin/flagscale-pretrain" $tiny $args -metrics_file "$tmp/$name.rest.jsonl" "$@" \
    > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; echo "FAIL: $name"; exit 1; }
}
runtp save_tp2 -tensor_model_parallel_size 2 -save "$tmp/ck_tp2" -exit_interval 10
run load_tp1 1 -load "$tmp/ck_tp2"
run save_tp1 1 -save "$tmp/ck_tp1" -exit_interval 10
runtp load_tp2 -tensor_model_parallel_size 2 -load "$tmp/ck_tp1"
grep -E '"iteration": (1[1-9]|20),' "$tmp/straight.jsonl" > "$tmp/straight_11_20.jsonl"
$PYTHON "${top_srcdir:-.}/tests/mpi/tp_losses.py" "$tmp/straight_11_20.jsonl" "$tmp/load_tp1.jsonl" \
  "$tmp/load_tp2.jsonl"
