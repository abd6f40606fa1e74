# tests/hpc/slurm_local.sh -- sourced: a private single-node Slurm on localhost for the tests (no systemd, no
# cgroups: proctrack/linuxproc, task/affinity; recipe: deps-recipes.md section 3). Everything lives under $1 (config, munge socket and key, spool,
# logs, pid files), the ports are free ones, and SLURM_CONF points the client commands at it, so it never touches
# /etc/slurm or a Slurm already running here.  Daemons are started and stopped by PID (fs_slurm_stop).
#   fs_slurm_start DIR   -> exports SLURM_CONF; sets FS_SLURM_PIDS ("munged PID slurmctld PID slurmd PID")
#   fs_slurm_stop        -> cancels the jobs still there, then kills exactly those PIDs (call it from an EXIT trap)
#   fs_slurm_wait JOBID SECONDS -> waits until the job has left the queue; prints its final state

fs_free_port() {  # a TCP port nobody listens on, from a range unlikely to be used
  p=$(( 20000 + ($$ * 7 + $1) % 20000 ))
  while (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p + 1)); done
  echo $p
}

fs_slurm_start() {
  d=$1
  mkdir -p "$d/spool/ctld" "$d/spool/d" "$d/log" "$d/run" "$d/munge"
  chmod 700 "$d/munge"
  # munge: a private key and socket (munged insists on a key only its owner can read)
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 2>/dev/null
  chmod 600 "$d/munge/munge.key"
  munged --force --socket="$d/munge/sock" --key-file="$d/munge/munge.key" --pid-file="$d/munge/munged.pid" \
    --log-file="$d/log/munged.log" --seed-file="$d/munge/seed" || return 1
  # the node line: the real topology from slurmd -C (Slurm complains about a CPU count alone)
  topo=$(slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]* //' -e 's/RealMemory=[0-9]*/RealMemory=1000/')
  ctld_port=$(fs_free_port 1); d_port=$(fs_free_port 2)
  [ "$d_port" = "$ctld_port" ] && d_port=$((ctld_port + 1))
  cat > "$d/slurm.conf" <<EOC
# private test cluster (tests/hpc/slurm_local.sh)
ClusterName=fstest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/sock,cred_expire=20
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=5
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
StateSaveLocation=$d/spool/ctld
SlurmdSpoolDir=$d/spool/d
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 $topo State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOC
  export SLURM_CONF=$d/slurm.conf
  FS_SLURM_PIDS="munged $(cat "$d/munge/munged.pid")"
  slurmctld -f "$SLURM_CONF" || return 1
  slurmd -f "$SLURM_CONF" -N localhost || return 1
  i=0
  while [ ! -s "$d/run/slurmctld.pid" ] || [ ! -s "$d/run/slurmd.pid" ]; do
    i=$((i + 1)); [ $i -gt 40 ] && break; sleep 0.25
  done
  FS_SLURM_PIDS="$FS_SLURM_PIDS slurmctld $(cat "$d/run/slurmctld.pid" 2>/dev/null) slurmd $(cat "$d/run/slurmd.pid" 2>/dev/null)"
  i=0
  until sinfo -h -o %t 2>/dev/null | grep -qx idle; do
    i=$((i + 1))
    if [ $i -gt 120 ]; then
      echo "Slurm node did not become idle in 30 s; logs:"; tail -n 20 "$d"/log/*.log; return 1
    fi
    sleep 0.25
  done
  echo "Slurm up: $FS_SLURM_PIDS (ports $ctld_port/$d_port, SLURM_CONF=$SLURM_CONF)"
}

fs_slurm_stop() {
  # jobs first: a job step outlives a killed slurmd (its slurmstepd is not slurmd's child)
  if [ -n "${FS_SLURM_PIDS:-}" ] && squeue -h 2>/dev/null | grep -q .; then
    scancel --full --signal=KILL --state=RUNNING $(squeue -h -o %i) 2>/dev/null
    scancel $(squeue -h -o %i) 2>/dev/null
    i=0; while squeue -h 2>/dev/null | grep -q . && [ $i -lt 60 ]; do sleep 0.25; i=$((i + 1)); done
  fi
  # slurmd first, munged last (the others need it to shut down cleanly)
  for name in slurmd slurmctld munged; do
    eval "set -- ${FS_SLURM_PIDS:-}"
    while [ $# -ge 2 ]; do
      if [ "$1" = "$name" ] && [ -n "$2" ]; then
        kill "$2" 2>/dev/null
        i=0; while kill -0 "$2" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
        kill -0 "$2" 2>/dev/null && kill -9 "$2" 2>/dev/null
      fi
      shift 2
    done
  done
  FS_SLURM_PIDS=
}

fs_slurm_wait() {
  job=$1; limit=$2; t=0
  while squeue -h -j "$job" 2>/dev/null | grep -q .; do
    t=$((t + 1))
    if [ $t -gt $((limit * 2)) ]; then echo TIMEOUT; return 1; fi
    sleep 0.5
  done
  scontrol show job "$job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1
}
