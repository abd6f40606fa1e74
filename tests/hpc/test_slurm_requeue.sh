#!/bin/bash
# (driver.sh runs .sh tests with sh; this one needs bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# tests/hpc/test_slurm_requeue.sh -- preemption under a real single-node Slurm: pretrain.sbatch (tiny model) is
# sent SIGUSR1 in its batch shell (scancel --signal=USR1 --batch: what #SBATCH --signal=B:USR1@120 does before
# the time limit).  The template passes it to the ranks, the app saves and exits 0, the job requeues itself,
# the second run resumes from latest_checkpointed_iteration.txt and finishes; its losses after the resume equal
# those of an uninterrupted run.  Skips (77) without root, Slurm, or an app with -save.
. "$top_srcdir/tests/hpc/hpc_common.sh"
"$top_builddir/apps/flagscale-pretrain" -help 2>/dev/null | grep -q '^ *-save ' \
  || { echo "SKIP: this flagscale-pretrain has no checkpointing (-save)"; rm -rf "$tmp"; exit 77; }
fs_need_slurm scancel
t0=$(date +%s)
iters=${FS_REQUEUE_ITERS:-100}

fs_slurm_work
mpirun -np 2 flagscale-preprocess -input docs.jsonl -output_prefix docs -append_eod -log_interval 0 > pre.log 2>&1 \
  || { cat pre.log; exit 1; }
fs_tiny_opts tiny.opts "-lr_decay_style cosine"
common=(-options_file "$PWD/tiny.opts" -train_iters "$iters" -data_path "$PWD/docs_text_document"
        -data_cache_path "$PWD/cache")
# the reference: the same training, uninterrupted
mpirun -np 2 flagscale-pretrain "${common[@]}" -metrics_file "$PWD/ref.jsonl" > ref.log 2>&1 || { cat ref.log; exit 1; }

j=$(FS_SAVE_INTERVAL=0 sbatch --parsable --time=00:30:00 --job-name=pt-requeue "$FLAGSCALE_DATA_DIR/batch/slurm/pretrain.sbatch" \
     "$PWD/tiny.opts" -train_iters "$iters" -data_path "$PWD/docs_text_document" -data_cache_path "$PWD/cache" \
     -metrics_file "$PWD/run.jsonl")
log=pt-requeue-$j.out
echo "submitted job $j"
# signal it once it is training (iteration >= 10), well before the end
fs_wait_iterations run.jsonl 10 300 || { echo "FAIL: job $j did not start training in 300 s"; cat "$log"; exit 1; }
scancel --signal=USR1 --batch "$j"
echo "sent SIGUSR1 to the batch shell of job $j"
# Slurm holds a requeued job back until the credentials of its last run have expired (BeginTime): cred_expire=20
# in the test cluster's AuthInfo makes that 20 s instead of 120 (starting it earlier fails: credential revoked)
n=0
until scontrol show job "$j" | grep -q 'Restarts=1'; do
  n=$((n + 1)); [ $n -gt 480 ] && break; sleep 0.25
done
scontrol show job "$j" | grep -o 'JobState=[A-Z]* Reason=[A-Za-z]*'
# wait for the second run to end (bounded, generously: other tests may load the machine)
state=$(fs_slurm_wait "$j" 600)
sed 's/^/    | /' "$log" | grep -v ' iteration  ' | cut -c1-200
check "job COMPLETED after the requeue (got ${state:-nothing})" test "$state" = COMPLETED
check "the template forwarded SIGUSR1" grep -q "got SIGUSR1" "$log"
check "the app saved on the signal and exited 0" grep -q "app exited with status 0" "$log"
check "the job requeued itself" grep -q "requeueing job $j" "$log"
restarts=$(scontrol show job "$j" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
check "Slurm counts one restart (Restarts=$restarts)" test "$restarts" = 1
check "the second run resumed from the checkpoint" grep -q "resuming from .*checkpoints/pt-requeue (iteration [1-9]" "$log"
check "the second run passed -load" grep -q -- "-load .*checkpoints/pt-requeue" "$log"
check "training finished: $iters iterations" test "$(cat checkpoints/pt-requeue/latest_checkpointed_iteration.txt 2>/dev/null)" = "$iters"
stop=$(grep -m1 -o 'resuming from .*(iteration [0-9]*' "$log" | sed 's/.*iteration //')
echo "stopped at iteration ${stop:-?} of $iters"
check "stopped early (before iteration $iters)" test "${stop:-$iters}" -lt "$iters"
# every iteration is in the metrics once per run: after the resume, the losses must be the uninterrupted run's
loss() { sed -n 's/.*"iteration": \([0-9]*\),.*"loss": \([^,]*\),.*/\1 \2/p' "$1"; }
loss ref.jsonl > ref.txt
loss run.jsonl | awk -v s="${stop:-0}" '$1 > s' > resumed.txt
check "the resumed run logged iterations $((${stop:-0} + 1))..$iters" test "$(wc -l < resumed.txt)" = $((iters - ${stop:-0}))
check "losses after the resume = uninterrupted run's (rel. 1e-5)" awk 'NR == FNR { r[$1] = $2; next }
  { if (!($1 in r)) bad = 1; d = $2 - r[$1]; if (d < 0) d = -d; if (d > 1e-5 * r[$1]) { bad = 1; print "iteration " $1 ": " $2 " vs " r[$1] } }
  END { exit bad }' ref.txt resumed.txt
if [ $fail != 0 ]; then  # what Slurm saw, for the record
  scontrol show job "$j" | head -n 30
  for f in "$tmp"/slurm/log/slurmctld.log "$tmp"/slurm/log/slurmd.log; do echo "== $f"; tail -n 40 "$f"; done
fi
echo "test time: $(( $(date +%s) - t0 )) s"
exit $fail
