#!/bin/sh
# scaling_bench.sh -- run by `make bench`: weak scaling of flagscale-pretrain over CPU data-parallel ranks.  The
# same per-rank work (one micro-batch of FS_SCALING_MBS x seq samples per rank and step, OMP_NUM_THREADS=1 per
# rank) on 1 and on N ranks (FS_SCALING_RANKS, default "1 2": the reference machine has 2 cores), with the
# replicated optimizer (gradient all-reduce) and with -use_distributed_optimizer (reduce-scatter + all-gather,
# optimizer state / N).  Prints tokens/s per rank, ms per step, optimizer MB per rank, and the weak-scaling
# efficiency = tokens/s at N ranks / (N x tokens/s at 1 rank).  Model (FS_SCALING_MODEL): "small" (4 layers,
# hidden 256, GPT-2 vocabulary: ~16M parameters, 64 MB of gradients per step) or "tiny" (2 layers, hidden 64).
set -e
. "${top_srcdir:-.}/tests/bench/bench_common.sh"
: "${MPIEXEC:=mpirun}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PETSC_OPTIONS="-skip_petscrc"
ranks=${FS_SCALING_RANKS:-1 2}
model=${FS_SCALING_MODEL:-small}
fs_bench_need scaling_bench.sh flagscale-preprocess flagscale-pretrain
case $model in
  small) L=4 C=256 H=4 FFN=688 T=128 MBS=${FS_SCALING_MBS:-4} warm=2 iters=4 ;;
  tiny) L=2 C=64 H=4 FFN=176 T=64 MBS=${FS_SCALING_MBS:-8} warm=5 iters=20 ;;
  *) echo "scaling_bench.sh: unknown model '$model' (small|tiny)" >&2; exit 1 ;;
esac
fs_bench_data 20

# one run: prints "ms tokens_per_s_per_rank optimizer_MB_per_rank fwdbwd_ms gradcomm_ms optimizer_ms allgather_ms"
# (the phases from PETSc's -log_view events, max over ranks, averaged over all steps including the warm-up)
measure() { # np [options]
  np=$1; shift
  log=$tmp/run_$np$*.log
  log=$(echo "$log" | tr ' ' '_')
  $MPIEXEC -np "$np" "$bin/flagscale-pretrain" -data_path "$tmp/docs_text_document" -data_cache_path "$tmp/cache" \
    -num_layers $L -hidden_size $C -num_attention_heads $H -ffn_hidden_size $FFN -seq_length $T \
    -micro_batch_size $MBS -global_batch_size $((MBS * np)) -train_iters $((warm + iters)) -log_interval $iters \
    -eval_interval 0 -lr 1e-4 -log_view "$@" > "$log" 2>&1 || { cat "$log" >&2; echo error; return; }
  awk -v np="$np" -v tok=$((MBS * T * np)) -v steps=$((warm + iters)) '
    $1 ~ /^(FwdBwd|GradAllreduce|Optimizer|ParamAllgather)$/ && NF > 5 { ph[$1] = 1000 * $4 / steps }
    /elapsed time per iteration/ { ms = $0; sub(/.*per iteration \(ms\): /, "", ms); sub(/ .*/, "", ms) }
    /optimizer state bytes per rank: max/ { ob = $0; sub(/.*per rank: max /, "", ob); sub(/ .*/, "", ob) }
    /training done/ { done = 1 }
    END { if (!done || ms == "") print "error"; else printf "%.1f %.1f %.1f %.1f %.1f %.1f %.1f\n", ms, tok / (ms / 1000) / np, ob / 1048576,
                                         ph["FwdBwd"], ph["GradAllreduce"], ph["Optimizer"], ph["ParamAllgather"] }' "$log"
}

echo "weak scaling, model $model ($L layers, hidden $C, seq $T), micro-batch $MBS per rank, 1 thread per rank," \
  "$iters timed steps after $warm"
# other processes on the cores distort the efficiency: show how busy the machine was
echo "cores: $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo ?), load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
printf '%-6s %-12s %9s %14s %14s %11s | %8s %10s %10s %10s\n' ranks optimizer ms/step "tokens/s/rank" \
  "optim MB/rank" efficiency "fwd+bwd" "grad comm" "optimizer" "allgather"
base=
for np in $ranks; do
  for opt in replicated distributed; do
    [ "$opt" = distributed ] && [ "$np" = 1 ] && continue # nothing to shard on one rank
    flag=; [ "$opt" = distributed ] && flag=-use_distributed_optimizer
    set -- $(measure "$np" $flag)
    [ "$1" != error ] || { echo "scaling_bench.sh: run on $np rank(s) ($opt) failed" >&2; exit 1; }
    [ -n "$base" ] || base=$2
    printf '%-6s %-12s %9.1f %14.1f %14.1f %10.1f%% | %8.1f %10.1f %10.1f %10.1f\n' "$np" "$opt" "$1" "$2" "$3" \
      "$(echo "$2 $base" | awk '{print 100 * $1 / $2}')" "$4" "$5" "$6" "$7"
  done
done
echo "(phases: ms per step, max over ranks; grad comm = all-reduce, or reduce-scatter with the distributed optimizer)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
