# batch/fs-job.sh -- sourced (bash) by the Slurm and PBS job templates: what every FlagScale job does, so that a
# template is only its resource header plus one fs_run line.  Installed as $FLAGSCALE_DATA_DIR/batch/fs-job.sh.
#
#   fs_job_begin               cd to the submit dir, map the scheduler's variables, print a job header
#   fs_options_file ARG        resolve an options file: as given, relative to the submit dir, or a shipped one
#                              ($FLAGSCALE_DATA_DIR/configs/NAME[.opts]); sets FS_OPTS=(-options_file PATH) or ()
#   fs_ckpt_args APP           checkpoint options for APP (if it has -save): sets FS_CKPT=(-save D [-save_interval N]
#                              [-load D]); -load only when D/latest_checkpointed_iteration.txt exists
#   fs_run APP ARGS...         launch APP on all the job's tasks (srun --mpi=pmix, or mpirun), in the background,
#                              forwarding USR1/TERM to it; with FS_REQUEUE=1 a job that was signalled and whose app
#                              exited 0 (it saved a checkpoint) requeues itself.  Returns the app's exit status.
#
# Environment (all optional):
#   FS_LAUNCHER=srun|mpirun    Slurm default srun (--mpi=pmix); under PBS always mpirun --hostfile $PBS_NODEFILE
#   FS_CKPT_DIR                checkpoint directory (default: $FS_SUBMIT_DIR/checkpoints/$FS_JOB_NAME)
#   FS_SAVE_INTERVAL           iterations between checkpoints (default: the options file's, else 1000)
#   FS_MPIRUN_ARGS, FS_SRUN_ARGS  extra launcher arguments (e.g. "--mca btl_tcp_if_include ib0")

# --- where we are: Slurm, PBS (or Slurm's qsub wrapper, which sets no PBS_* variables), or nothing
fs_job_begin() {
  if [ -n "${PBS_JOBID:-}" ]; then
    FS_SCHED=pbs FS_JOB_ID=$PBS_JOBID FS_SUBMIT_DIR=${PBS_O_WORKDIR:-$PWD} FS_JOB_NAME=${PBS_JOBNAME:-flagscale}
    FS_NTASKS=$(wc -l < "${PBS_NODEFILE:?PBS_NODEFILE is not set: not started by PBS?}")
  elif [ -n "${SLURM_JOB_ID:-}" ]; then
    FS_SCHED=slurm FS_JOB_ID=$SLURM_JOB_ID FS_SUBMIT_DIR=${SLURM_SUBMIT_DIR:-$PWD} FS_JOB_NAME=${SLURM_JOB_NAME:-flagscale}
    FS_NTASKS=${SLURM_NTASKS:-1}
  else
    FS_SCHED=none FS_JOB_ID=local.$$ FS_SUBMIT_DIR=$PWD FS_JOB_NAME=flagscale FS_NTASKS=${FS_NTASKS:-1}
  fi
  cd "$FS_SUBMIT_DIR" || return 1
  # one thread per rank unless the job asked for more cores per task
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
  export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
  # Open MPI refuses to start as root without both of these (containers, test clusters)
  [ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  echo "== $FS_SCHED job $FS_JOB_ID ($FS_JOB_NAME) on $(hostname): $FS_NTASKS tasks," \
    "restart ${SLURM_RESTART_COUNT:-0}, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  [ "$FS_SCHED" = pbs ] && echo "   nodes: $(sort -u "$PBS_NODEFILE" | tr '\n' ' ')"
  [ "$FS_SCHED" = slurm ] && echo "   nodes: ${SLURM_JOB_NODELIST:-?}"
  return 0
}

fs_options_file() {
  FS_OPTS=()
  [ -n "${1:-}" ] || return 0
  for f in "$1" "$FS_SUBMIT_DIR/$1" "${FLAGSCALE_DATA_DIR:-/nonexistent}/configs/$1" \
           "${FLAGSCALE_DATA_DIR:-/nonexistent}/configs/$1.opts"; do
    if [ -f "$f" ]; then
      case $f in /*) ;; *) f=$PWD/$f ;; esac
      FS_OPTS=(-options_file "$f"); echo "   options file: $f"; return 0
    fi
  done
  echo "error: options file '$1' not found (looked in $FS_SUBMIT_DIR and ${FLAGSCALE_DATA_DIR:-<FLAGSCALE_DATA_DIR unset>}/configs)" >&2
  return 1
}

fs_ckpt_args() {
  FS_CKPT=()
  if ! "$1" -help 2>/dev/null | grep -q '^ *-save '; then
    echo "   note: this $1 has no -save option: no checkpoints, a preempted job cannot resume" >&2
    return 0
  fi
  FS_CKPT_DIR=${FS_CKPT_DIR:-$FS_SUBMIT_DIR/checkpoints/$FS_JOB_NAME}
  mkdir -p "$FS_CKPT_DIR" || return 1
  FS_CKPT=(-save "$FS_CKPT_DIR")
  if [ -n "${FS_SAVE_INTERVAL:-}" ]; then
    FS_CKPT+=(-save_interval "$FS_SAVE_INTERVAL")
  elif [ ${#FS_OPTS[@]} = 0 ] || ! grep -q '^[[:space:]]*-save_interval' "${FS_OPTS[1]}"; then
    FS_CKPT+=(-save_interval 1000)
  fi
  if [ -f "$FS_CKPT_DIR/latest_checkpointed_iteration.txt" ]; then
    FS_CKPT+=(-load "$FS_CKPT_DIR")
    echo "   resuming from $FS_CKPT_DIR (iteration $(cat "$FS_CKPT_DIR/latest_checkpointed_iteration.txt"))"
  fi
  echo "   checkpoints: $FS_CKPT_DIR"
}

# the launcher command line for this scheduler, in FS_LAUNCH=( ... )
fs_launch_cmd() {
  launcher=${FS_LAUNCHER:-srun}
  [ "$FS_SCHED" = slurm ] || launcher=mpirun
  if [ "$launcher" = srun ]; then
    # PMIx: Debian's (and most) Open MPI have no Slurm PMI-2 support.  Tasks, GPUs per task and GPU binding
    # come from the #SBATCH lines; --kill-on-bad-exit stops every rank when one fails.
    # --export=ALL: the steps get the environment this script set up (module load), even when the job was
    # submitted with --export=none (as the qsub wrapper of slurm-wlm-torque does)
    # shellcheck disable=SC2206
    FS_LAUNCH=(srun --mpi=pmix --export=ALL --kill-on-bad-exit=1 --cpu-bind=cores ${FS_SRUN_ARGS:-})
  elif [ "$FS_SCHED" = slurm ]; then
    # Open MPI reads the Slurm allocation (tasks per node) itself
    # shellcheck disable=SC2206
    FS_LAUNCH=(mpirun -np "$FS_NTASKS" --map-by "slot:PE=${SLURM_CPUS_PER_TASK:-1}" --bind-to core
               -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS ${FS_MPIRUN_ARGS:-})
  else
    # PBS: Debian's Open MPI has no TM support, so hand it the node file (one line per MPI process)
    hf=()
    [ "$FS_SCHED" = pbs ] && hf=(--hostfile "$PBS_NODEFILE")
    # the environment the ranks on other nodes need (ssh starts them with a bare one)
    for v in OMP_NUM_THREADS OPENBLAS_NUM_THREADS FLAGSCALE_DATA_DIR LD_LIBRARY_PATH PATH; do
      [ -n "${!v:-}" ] && hf+=(-x "$v")
    done
    # shellcheck disable=SC2206
    FS_LAUNCH=(mpirun -np "$FS_NTASKS" "${hf[@]}" --bind-to core ${FS_MPIRUN_ARGS:-})
  fi
}

# The app treats SIGUSR1 and SIGTERM alike (finish the iteration, save, exit 0).  Both launchers are sent USR1:
# srun and mpirun pass it on to every rank, while mpirun takes a SIGTERM as "abort the job" and exits 1.
fs_on_signal() {
  FS_SIGNALLED=$1
  echo "== $(date -u '+%H:%M:%S') got SIG$1: asking the app to save and stop (SIGUSR1 to $FS_APP_PID)"
  [ -n "${FS_APP_PID:-}" ] && kill -s USR1 "$FS_APP_PID" 2>/dev/null
}

fs_run() {
  fs_launch_cmd
  echo "== $(date -u '+%H:%M:%S') ${FS_LAUNCH[*]} $*"
  FS_SIGNALLED=
  trap 'fs_on_signal USR1' USR1
  trap 'fs_on_signal TERM' TERM
  # in the background, so this shell can take the scheduler's signals while the app runs
  "${FS_LAUNCH[@]}" "$@" &
  FS_APP_PID=$!
  while :; do
    wait "$FS_APP_PID"; rc=$?
    # a trapped signal interrupts wait (status > 128) while the app still runs: wait again
    if [ $rc -gt 128 ] && kill -0 "$FS_APP_PID" 2>/dev/null; then continue; fi
    break
  done
  trap - USR1 TERM
  echo "== $(date -u '+%H:%M:%S') app exited with status $rc"
  if [ -n "$FS_SIGNALLED" ] && [ "${FS_REQUEUE:-0}" = 1 ]; then
    if [ $rc = 0 ]; then
      case $FS_SCHED in
        slurm) echo "== requeueing job $FS_JOB_ID: it resumes from the latest checkpoint"
               scontrol requeue "$FS_JOB_ID" ;;
        pbs)   echo "== rerunning job $FS_JOB_ID (needs #PBS -r y): it resumes from the latest checkpoint"
               qrerun "$FS_JOB_ID" ;;
      esac
    else
      echo "== not requeueing: the app did not exit cleanly after SIG$FS_SIGNALLED" >&2
    fi
  fi
  return $rc
}
