#!/bin/bash
# (driver.sh runs .sh tests with sh; this one needs bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# tests/hpc/test_pbs.sh -- the PBS templates WITHOUT a real PBS server (none is packaged for Debian): the job
# scripts run the way pbs_mom starts them -- bash, a clean environment, cwd=$HOME, PBS_JOBID, PBS_JOBNAME,
# PBS_O_WORKDIR and PBS_NODEFILE (one line per MPI process) set by this test -- and mpirun --hostfile runs them:
#   1. #PBS lines: only options PBS Pro/OpenPBS qsub knows; select=N:...:mpiprocs=M in every template
#   2. preprocess.pbs: the dataset equals a direct mpirun run's
#   3. pretrain.pbs, SIGTERM mid-run (what PBS sends before walltime/on preemption): the app saves, exits 0, the
#      job asks for a rerun (qrerun, recorded by a stand-in); the rerun resumes from the checkpoint and finishes.
. "$top_srcdir/tests/hpc/hpc_common.sh"
trap 'rm -rf "$tmp"' EXIT
echo "NOTE: no real PBS server is used: the PBS environment is emulated by this test (see its header)"
t0=$(date +%s)
pbs=$top_srcdir/batch/pbs

# 1. directives
for f in "$pbs"/*.pbs; do
  bad=$(awk '$1 == "#PBS" && $2 !~ /^-(N|l|j|o|e|q|A|m|M|V|v|W|r|J|S|k|P|a|h|p|c|u|z)$/ { print FILENAME ":" FNR ": " $0 }' "$f")
  check "$(basename "$f"): #PBS options are qsub options" test -z "$bad"
  [ -n "$bad" ] && echo "$bad"
  check "$(basename "$f"): -l select=N:...:mpiprocs=M" grep -Eq '^#PBS -l select=[0-9]+:.*mpiprocs=[0-9]+' "$f"
  check "$(basename "$f"): bash syntax" bash -n "$f"
done

p=$tmp/prefix
fs_install "$p" || exit 1
mkdir -p "$tmp/work" "$tmp/home" "$tmp/bin" && cd "$tmp/work" || exit 1
fs_docs docs.jsonl
printf 'localhost\nlocalhost\n' > nodefile
# stand-in for PBS's qrerun: records the request
printf '#!/bin/sh\necho "$@" >> %s/qrerun.calls\n' "$tmp/work" > "$tmp/bin/qrerun"; chmod +x "$tmp/bin/qrerun"

# runpbs JOBID SCRIPT [VAR=VALUE...]: start SCRIPT like pbs_mom (in the background; pid in $pbs_pid)
runpbs() {
  id=$1 script=$2; shift 2
  name=$(awk '$1 == "#PBS" && $2 == "-N" { print $3 }' "$script")
  env -i HOME="$tmp/home" PATH="$p/bin:$tmp/bin:/usr/local/bin:/usr/bin:/bin" SHELL=/bin/bash \
    FLAGSCALE_DATA_DIR="$p/share/flagscale" PBS_JOBID="$id" PBS_JOBNAME="$name" PBS_O_WORKDIR="$tmp/work" \
    PBS_O_HOST="$(hostname)" PBS_NODEFILE="$tmp/work/nodefile" PBS_ENVIRONMENT=PBS_BATCH PBS_QUEUE=workq \
    OMPI_MCA_rmaps_base_oversubscribe=1 "$@" \
    bash -c 'cd "$HOME" && exec bash "$0"' "$script" > "$tmp/work/$name.o$id" 2>&1 &
  pbs_pid=$!
}

# 2. preprocess
runpbs 101.fake "$pbs/preprocess.pbs" FS_ARGS="-input $tmp/work/docs.jsonl -output_prefix $tmp/work/docs -append_eod -log_interval 0"
wait $pbs_pid; rc=$?
sed 's/^/    | /' fs-preprocess.o101.fake | cut -c1-200
check "preprocess.pbs exits 0" test $rc = 0
check "preprocess.pbs used mpirun --hostfile \$PBS_NODEFILE with 2 processes" \
  grep -q "mpirun -np 2 --hostfile $tmp/work/nodefile" fs-preprocess.o101.fake
mkdir ref && (cd ref && FLAGSCALE_DATA_DIR=$p/share/flagscale \
  mpirun -np 2 "$p/bin/flagscale-preprocess" -input ../docs.jsonl -output_prefix docs -append_eod -log_interval 0 > log 2>&1 || cat log)
check "dataset from preprocess.pbs = dataset from mpirun" cmp docs_text_document.bin ref/docs_text_document.bin
check "index from preprocess.pbs = index from mpirun" cmp docs_text_document.idx ref/docs_text_document.idx

# 3. pretrain, SIGTERM, rerun
fs_tiny_opts tiny.opts "-train_iters 150"
args="-data_path $tmp/work/docs_text_document -data_cache_path $tmp/work/cache -metrics_file $tmp/work/run.jsonl"
if "$p/bin/flagscale-pretrain" -help 2>/dev/null | grep -q '^ *-save '; then
  runpbs 102.fake "$pbs/pretrain.pbs" FS_OPTIONS_FILE="$tmp/work/tiny.opts" FS_SAVE_INTERVAL=0 FS_ARGS="$args"
  fs_wait_iterations run.jsonl 10 60
  kill -TERM $pbs_pid
  wait $pbs_pid; rc=$?
  sed 's/^/    | /' fs-pretrain.o102.fake | grep -v ' iteration  ' | cut -c1-200
  check "pretrain.pbs exits 0 after SIGTERM (checkpoint saved)" test $rc = 0
  check "pretrain.pbs forwarded SIGTERM to mpirun" grep -q "got SIGTERM" fs-pretrain.o102.fake
  check "pretrain.pbs asked for a rerun: qrerun 102.fake" grep -qx "102.fake" qrerun.calls
  stop=$(cat "$tmp/work/checkpoints/fs-pretrain/latest_checkpointed_iteration.txt" 2>/dev/null)
  check "a checkpoint before the end (iteration ${stop:-none})" test "${stop:-150}" -lt 150
  # the rerun: PBS starts the same job again
  mv fs-pretrain.o102.fake first.log
  runpbs 102.fake "$pbs/pretrain.pbs" FS_OPTIONS_FILE="$tmp/work/tiny.opts" FS_SAVE_INTERVAL=0 FS_ARGS="$args"
  wait $pbs_pid; rc=$?
  sed 's/^/    | /' fs-pretrain.o102.fake | grep -v ' iteration  ' | cut -c1-200
  check "the rerun exits 0" test $rc = 0
  check "the rerun resumed with -load from iteration ${stop:-?}" grep -q "resuming from .*(iteration ${stop:-x})" fs-pretrain.o102.fake
  check "the rerun finished 150 iterations" \
    test "$(cat "$tmp/work/checkpoints/fs-pretrain/latest_checkpointed_iteration.txt" 2>/dev/null)" = 150
else
  echo "SKIP (part 3): this flagscale-pretrain has no checkpointing (-save)"
fi
echo "test time: $(( $(date +%s) - t0 )) s (PBS emulated, no PBS server)"
exit $fail
