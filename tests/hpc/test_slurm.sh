#!/bin/bash
# (driver.sh runs .sh tests with sh; this one needs bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# tests/hpc/test_slurm.sh -- a real single-node Slurm (munged, slurmctld, slurmd on localhost, private config and
# ports; tests/hpc/slurm_local.sh) runs the installed job templates:
#   1. preprocess.sbatch on a small corpus (srun --mpi=pmix, 2 ranks): the dataset equals a direct mpirun run's
#   2. pretrain.sbatch with a tiny model, 4 iterations, srun --mpi=pmix; 3. the same with FS_LAUNCHER=mpirun:
#      both COMPLETED, log <name>-<jobid>.out, 2 data-parallel ranks, and the same losses;
#   4. convert.sbatch exports the checkpoint to Hugging Face; 5. infer.sbatch generates from it;
#   PBS: preprocess.pbs submitted through slurm-wlm-torque's qsub wrapper gives the same dataset.
#   6. finetune.sbatch fine-tunes it on a few conversations; 7. serve.sbatch serves it over HTTP (health and a
#      completion), then scancel.
# Needs root (the daemons run as root) and slurm-wlm + munge; skips (77) otherwise.  Daemons are stopped by PID.
. "$top_srcdir/tests/hpc/hpc_common.sh"
fs_need_slurm
t0=$(date +%s)

fs_slurm_work
fs_tiny_opts tiny.opts "-train_iters 4"
sb=$FLAGSCALE_DATA_DIR/batch/slurm

submit() {  # submit SBATCH_ARGS... -> job id
  sbatch --parsable --time=00:03:00 "$@" | cut -d';' -f1
}
finish() {  # finish JOBID NAME: wait (bounded), check COMPLETED, show the log
  state=$(fs_slurm_wait "$1" 90)
  log=$(ls "$2-$1.out" 2>/dev/null)
  check "$2 (job $1) COMPLETED (got ${state:-nothing})" test "$state" = COMPLETED
  check "$2 log is $2-$1.out" test -s "$2-$1.out"
  [ "$state" = COMPLETED ] || { cat "$2-$1.out"; scontrol show job "$1"; tail -n 20 "$tmp/slurm/log/slurmd.log"; }
  sed 's/^/    | /' "$2-$1.out" | cut -c1-200 | head -n 30
}

j1=$(submit "$sb/preprocess.sbatch" -input "$PWD/docs.jsonl" -output_prefix "$PWD/docs" -append_eod -log_interval 0)
# the pretraining jobs wait for the dataset; one uses srun --mpi=pmix (the default), one mpirun
j2=$(submit --dependency=afterok:$j1 --job-name=pt-srun "$sb/pretrain.sbatch" tiny.opts \
       -data_path "$PWD/docs_text_document" -data_cache_path "$PWD/cache-srun" -metrics_file "$PWD/srun.jsonl")
j3=$(FS_LAUNCHER=mpirun submit --dependency=afterok:$j1 --job-name=pt-mpirun "$sb/pretrain.sbatch" tiny.opts \
       -data_path "$PWD/docs_text_document" -data_cache_path "$PWD/cache-mpirun" -metrics_file "$PWD/mpirun.jsonl")
echo "submitted: preprocess $j1, pretrain (srun) $j2, pretrain (mpirun) $j3"

finish "$j1" fs-preprocess
check "preprocess ran with srun --mpi=pmix on 2 ranks" grep -q "srun --mpi=pmix.*flagscale-preprocess" "fs-preprocess-$j1.out"
check "preprocess reports 2 ranks" grep -q "2 ranks" "fs-preprocess-$j1.out"
mkdir ref && (cd ref && mpirun -np 2 "$p/bin/flagscale-preprocess" -input ../docs.jsonl -output_prefix docs \
  -append_eod -log_interval 0 > log 2>&1)
check "dataset from the Slurm job = dataset from mpirun (.bin)" cmp docs_text_document.bin ref/docs_text_document.bin
check "dataset from the Slurm job = dataset from mpirun (.idx)" cmp docs_text_document.idx ref/docs_text_document.idx

# the PBS template through slurm-wlm-torque's qsub wrapper (a PBS front end on Slurm; no real PBS server exists
# here): same dataset as the Slurm template's
if command -v qsub >/dev/null; then
  mkdir -p qsub
  # the wrapper passes -v values unquoted and exports nothing else (--export=none): the options go in a file and
  # the job loads the installed module by its path
  printf -- '-input %s\n-output_prefix %s\n-append_eod\n-log_interval 0\n' "$PWD/docs.jsonl" "$PWD/qsub/docs" > qsub/pp.opts
  qsub -v "FS_OPTIONS_FILE=$PWD/qsub/pp.opts,FS_MODULE=$p/share/modulefiles/flagscale/$(ls "$p/share/modulefiles/flagscale")" \
    -l walltime=00:03:00 "$FLAGSCALE_DATA_DIR/batch/pbs/preprocess.pbs" > qsub.out 2> qsub.err
  echo "qsub said: $(cat qsub.out qsub.err)"
  jq=$(grep -o '^[0-9][0-9]*' qsub.out | head -n 1)
  check "qsub (slurm-wlm-torque) accepted preprocess.pbs" test -n "$jq"
  state=$(fs_slurm_wait "$jq" 90)
  check "preprocess.pbs through qsub (slurm-wlm-torque) COMPLETED (job ${jq:-none}: ${state:-nothing})" test "$state" = COMPLETED
  check "preprocess.pbs through qsub: same dataset as preprocess.sbatch" cmp qsub/docs_text_document.bin docs_text_document.bin
  [ "$state" = COMPLETED ] || { ls; cat preprocess.pbs.o"$jq" preprocess.pbs.e"$jq" 2>/dev/null | tail -n 20; }
else
  echo "NOTE: no qsub (Debian: slurm-wlm-torque): the PBS template is run only by test_pbs.sh's emulation"
fi

finish "$j2" pt-srun
finish "$j3" pt-mpirun
check "pretrain (srun) launched with srun --mpi=pmix" grep -q "srun --mpi=pmix.*flagscale-pretrain" "pt-srun-$j2.out"
check "pretrain (mpirun) launched with mpirun" grep -q "== .* mpirun -np 2 .*flagscale-pretrain" "pt-mpirun-$j3.out"
for l in srun mpirun; do
  log=$(ls pt-$l-*.out)
  check "pretrain ($l): 2 data-parallel ranks" grep -q "memory per rank.* 2 data-parallel x 1 tensor-parallel" "$log"
  check "pretrain ($l): 4 iterations done" grep -q "training done: 4 iterations" "$log"
  check "pretrain ($l): options file passed in (-options_file .../tiny.opts)" grep -q -- "-options_file .*tiny.opts" "$log"
  check "pretrain ($l): metrics for 4 iterations" test "$(grep -c '"iteration"' $l.jsonl 2>/dev/null)" = 4
done
# same seed, same ranks: the two launchers must give the same training
loss() { sed -n 's/.*"loss": \([^,]*\),.*/\1/p' "$1"; }
paste <(loss srun.jsonl) <(loss mpirun.jsonl) > losses.txt
cat losses.txt
check "srun and mpirun runs have the same losses (rel. 1e-6)" \
  awk 'NF != 2 { bad = 1 } { d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6 * ($1 < 0 ? -$1 : $1)) bad = 1 }
       END { exit (bad || NR != 4) }' losses.txt
# the other templates on the checkpoint the srun job saved (one task each)
j4=$(submit "$sb/convert.sbatch" -load "$PWD/checkpoints/pt-srun" -save "$PWD/hf" -save_format hf)
j5=$(submit "$sb/infer.sbatch" -load "$PWD/checkpoints/pt-srun" -prompt "Fellow-Citizens" -max_new_tokens 4 \
       -temperature 0 -output "$PWD/infer.jsonl")
finish "$j4" fs-convert
check "convert.sbatch wrote a Hugging Face folder" test -s hf/config.json -a -s hf/model.safetensors
finish "$j5" fs-infer
check "infer.sbatch wrote a completion" grep -q '"text"' infer.jsonl
for i in $(seq 1 24); do
  printf '{"messages": [{"role": "user", "content": "What is %s?"}, {"role": "assistant", "content": "It is %s."}]}\n' $i $i
done > chats.jsonl
j7=$(submit "$sb/finetune.sbatch" demo-sft -load "$PWD/checkpoints/pt-srun" -train_data_path "$PWD/chats.jsonl" \
       -train_iters 3 -eval_interval 0 -micro_batch_size 2 -global_batch_size 4)
finish "$j7" fs-finetune
check "finetune.sbatch trained 3 iterations and saved" test -s checkpoints/fs-finetune/latest_checkpointed_iteration.txt
port=$((20000 + $$ % 20000))
j6=$(submit "$sb/serve.sbatch" -load "$PWD/checkpoints/pt-srun" -host 127.0.0.1 -port $port)
ok=1
for i in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/health" > health.json 2>/dev/null && { ok=0; break; }
  sleep 0.5
done
check "serve.sbatch answers /health on port $port" test $ok = 0
curl -sf -X POST "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
  -d '{"prompt": "Fellow-Citizens", "max_tokens": 3, "temperature": 0}' > completion.json 2>/dev/null
check "serve.sbatch completes a request" grep -q '"choices"' completion.json
scancel "$j6"
echo "test time: $(( $(date +%s) - t0 )) s"
exit $fail
