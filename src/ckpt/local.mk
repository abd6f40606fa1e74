# src/ckpt: parallel-HDF5 checkpoints (fs_ckpt.h; schema in doc/checkpoint-format.md)
libflagscale_a_SOURCES += src/ckpt/fs_ckpt_impl.h src/ckpt/fs_ckpt_util.c src/ckpt/fs_ckpt_sum.c src/ckpt/fs_ckpt_write.c \
	src/ckpt/fs_ckpt_read.c src/ckpt/fs_ckpt_dir.c
pkginclude_HEADERS += src/ckpt/fs_ckpt.h
# test_ckpt: one rank by itself; tests/mpi/test_ckpt.sh runs it on 2 and 3 ranks and crosses writer/reader counts
check_PROGRAMS += tests/unit/test_ckpt
tests_unit_test_ckpt_SOURCES = tests/unit/test_ckpt.c
TESTS += tests/unit/test_ckpt tests/mpi/test_ckpt.sh tests/mpi/test_ckpt_kill.sh tests/ref/ckpt_h5py.py
EXTRA_DIST += tests/mpi/test_ckpt.sh tests/mpi/test_ckpt_kill.sh tests/ref/ckpt_h5py.py
# benchmark (make bench): checkpoint write/read GB/s from 2 ranks vs a plain sequential write of the same bytes
EXTRA_PROGRAMS += tests/bench/ckpt_bench
FS_BENCH_PROGS += tests/bench/ckpt_bench
FS_BENCH_RUN += tests/bench/ckpt_bench.sh
tests_bench_ckpt_bench_SOURCES = tests/bench/ckpt_bench.c
EXTRA_DIST += tests/bench/ckpt_bench.sh
