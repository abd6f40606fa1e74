#!/bin/sh
# ckpt_bench.sh -- run by `make bench`: write/read GB/s of a ~1 GB checkpoint from 2 ranks vs a plain sequential
# write (+fsync) / read of the same bytes on the same disk (target: write ratio >= 80%).
# FS_BENCH_DIR picks the disk (default: the build directory); FS_CKPT_BENCH_MB the size.
: "${top_builddir:=.}"
dir=$(mktemp -d "${FS_BENCH_DIR:-$top_builddir}/ckpt_bench.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
$MPIEXEC -n 2 "$top_builddir/tests/bench/ckpt_bench" -dir "$dir" -mb "${FS_CKPT_BENCH_MB:-1024}"
