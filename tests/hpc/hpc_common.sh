# tests/hpc/hpc_common.sh -- sourced by the HPC tests: a temp dir, the version, and `make install` into a
# temporary prefix (serialized with flock: tests may run in parallel in the same build dir); below, what the
# Slurm and PBS tests share (the private Slurm, a small corpus, a tiny model's options, waiting for training).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs-hpc.XXXXXX")
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)
top_builddir=$(cd "${top_builddir:-.}" && pwd)
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")

# fs_install PREFIX: make install prefix=PREFIX (log in PREFIX.log); fails loudly
fs_install() {
  # the test harness's make variables (jobserver, TESTS=...) must not leak into this make
  ( cd "$top_builddir" && exec env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
      flock "$top_builddir/.hpc-install.lock" "${MAKE:-make}" install prefix="$1" ) > "$1.log" 2>&1 \
    || { echo "FAIL: make install prefix=$1"; tail -n 30 "$1.log"; return 1; }
  echo "installed into $1 ($(find "$1" -type f | wc -l) files)"
}

fail=0
check() {  # check DESCRIPTION COMMAND...: run, print PASS/FAIL
  if "${@:2}"; then echo "PASS: $1"; else echo "FAIL: $1"; fail=1; fi
}

# fs_need_slurm [CMD...]: skip (77) unless root (the daemons run as root) and munge, the Slurm daemons and
# commands (and CMD...) are there; then the private Slurm of slurm_local.sh, stopped (and $tmp removed) on exit
fs_need_slurm() {
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run the Slurm daemons"; rm -rf "$tmp"; exit 77; }
  for c in munged slurmctld slurmd sbatch squeue scontrol "$@"; do
    command -v "$c" >/dev/null || { echo "SKIP: $c not found (Debian: apt-get install slurm-wlm munge)"; rm -rf "$tmp"; exit 77; }
  done
  . "$top_srcdir/tests/hpc/slurm_local.sh"
  trap 'fs_slurm_stop; rm -rf "$tmp"' EXIT
  trap 'exit 1' INT TERM
}

# fs_slurm_work: installs into p=$tmp/prefix, starts the Slurm, sets the job environment (what `module load
# flagscale` sets; test_modulefile.sh checks the module itself) and enters $tmp/work with docs.jsonl
fs_slurm_work() {
  p=$tmp/prefix
  fs_install "$p" || exit 1
  fs_slurm_start "$tmp/slurm" || exit 1
  export PATH=$p/bin:$PATH FLAGSCALE_DATA_DIR=$p/share/flagscale
  unset PETSC_OPTIONS
  mkdir -p "$tmp/work" && cd "$tmp/work" || exit 1
  fs_docs docs.jsonl
}

# fs_docs FILE: a small corpus (the first 40 documents of the bundled one)
fs_docs() {
  xz -dc "$top_srcdir/share/flagscale/data/sotu.jsonl.xz" | head -n 40 > "$1"
}

# fs_tiny_opts FILE [LINE...]: an options file for a tiny model (2 layers of width 32, sequences of 32 tokens,
# micro batches of 2, seed 7, a log line per iteration, no evaluation), then the given option lines
fs_tiny_opts() {
  f=$1; shift
  printf '%s\n' "-num_layers 2" "-hidden_size 32" "-num_attention_heads 4" "-num_query_groups 2" "-seq_length 32" \
    "-micro_batch_size 2" "-log_interval 1" "-seed 7" "-eval_interval 0" "$@" > "$f"
}

# fs_wait_iterations METRICS N SECONDS: waits until the metrics file holds N iterations; 1 after SECONDS without
fs_wait_iterations() {
  n=0
  until n_it=$(grep -c '"iteration"' "$1" 2>/dev/null); [ "${n_it:-0}" -ge "$2" ]; do
    n=$((n + 1)); [ $n -gt $(($3 * 4)) ] && return 1
    sleep 0.25
  done
}
