#!/bin/sh
# ops_bench.sh -- run by `make bench`: the fast CPU ops' GFLOP/s and speed-up over the reference, on 2 threads.
: "${top_builddir:=.}"
OMP_NUM_THREADS=${FS_BENCH_THREADS:-2} OPENBLAS_NUM_THREADS=${FS_BENCH_THREADS:-2}
export OMP_NUM_THREADS OPENBLAS_NUM_THREADS
exec "$top_builddir/tests/bench/ops_bench"
