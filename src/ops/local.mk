# src/ops: the backend op table; cuda/ is compiled with nvcc when configure found CUDA
if HAVE_CUDA
libflagscale_a_SOURCES += src/ops/cuda/fs_cuda_info.cu
# the CUDA op table (fs_ops_cuda.h): kernels in .cu (nvcc), the table and the error exit in C (mpicc: mpi.h)
libflagscale_a_SOURCES += src/ops/cuda/fs_ops_cuda_util.cu src/ops/cuda/fs_ops_cuda_dense.cu \
	src/ops/cuda/fs_ops_cuda_pointwise.cu src/ops/cuda/fs_ops_cuda_norm.cu src/ops/cuda/fs_ops_cuda_rope.cu \
	src/ops/cuda/fs_ops_cuda_attn.cu src/ops/cuda/fs_ops_cuda_xent.cu src/ops/cuda/fs_ops_cuda_table.c \
	src/ops/cuda/fs_ops_cuda_fatal.c src/ops/cuda/fs_ops_cuda_impl.h src/ops/cuda/fs_ops_cuda_common.cuh
# the .cu rule tracks no header dependencies: state them
FS_CUDA_OPS_HDRS = $(srcdir)/src/ops/cuda/fs_ops_cuda_common.cuh $(srcdir)/src/ops/cuda/fs_ops_cuda_impl.h \
	$(srcdir)/src/ops/cuda/fs_ops_cuda.h $(srcdir)/src/ops/fs_ops.h
src/ops/cuda/fs_ops_cuda_util.$(OBJEXT) src/ops/cuda/fs_ops_cuda_dense.$(OBJEXT) \
	src/ops/cuda/fs_ops_cuda_pointwise.$(OBJEXT) src/ops/cuda/fs_ops_cuda_norm.$(OBJEXT) \
	src/ops/cuda/fs_ops_cuda_rope.$(OBJEXT) src/ops/cuda/fs_ops_cuda_attn.$(OBJEXT) \
	src/ops/cuda/fs_ops_cuda_xent.$(OBJEXT): $(FS_CUDA_OPS_HDRS)
endif
pkginclude_HEADERS += src/ops/cuda/fs_cuda_info.h src/ops/cuda/fs_ops_cuda.h
EXTRA_DIST += src/ops/cuda/fs_cuda_info.cu
EXTRA_DIST += src/ops/cuda/fs_ops_cuda_util.cu src/ops/cuda/fs_ops_cuda_dense.cu src/ops/cuda/fs_ops_cuda_pointwise.cu \
	src/ops/cuda/fs_ops_cuda_norm.cu src/ops/cuda/fs_ops_cuda_rope.cu src/ops/cuda/fs_ops_cuda_attn.cu \
	src/ops/cuda/fs_ops_cuda_xent.cu src/ops/cuda/fs_ops_cuda_table.c src/ops/cuda/fs_ops_cuda_fatal.c \
	src/ops/cuda/fs_ops_cuda_impl.h src/ops/cuda/fs_ops_cuda_common.cuh

# ---- the op table (fs_ops.h) and its CPU backends: the reference (plain loops, the oracle) and the fast one
pkginclude_HEADERS += src/ops/fs_ops.h
libflagscale_a_SOURCES += src/ops/cpu/fs_ops_cpu_impl.h src/ops/cpu/fs_ops_cpu_util.c \
	src/ops/cpu/fs_ops_ref_dense.c src/ops/cpu/fs_ops_ref_norm.c src/ops/cpu/fs_ops_ref_attn.c \
	src/ops/cpu/fs_ops_ref_xent.c src/ops/cpu/fs_ops_cpu_dense.c src/ops/cpu/fs_ops_cpu_skinny.c \
	src/ops/cpu/fs_ops_cpu_pointwise.c src/ops/cpu/fs_ops_cpu_norm.c src/ops/cpu/fs_ops_cpu_rope.c \
	src/ops/cpu/fs_ops_cpu_attn.c src/ops/cpu/fs_ops_cpu_xent.c src/ops/cpu/fs_ops_cpu_tables.c
# tests: fast vs reference on odd shapes
EXTRA_DIST += tests/unit/ops_test_common.h
check_PROGRAMS += tests/unit/test_ops_ref_vs_fast
TESTS += tests/unit/test_ops_ref_vs_fast
# tests: the reference's backward against finite differences of a double forward
check_PROGRAMS += tests/unit/test_ops_gradcheck
TESTS += tests/unit/test_ops_gradcheck
# tests: both CPU tables against PyTorch (skips without torch; TORCH_PYTHON, default /usr/bin/python3)
check_PROGRAMS += tests/ref/ops_tool
TESTS += tests/ref/ops_vs_torch.sh
EXTRA_DIST += tests/ref/ops_vs_torch.sh tests/ref/ops_vs_torch.py
# benchmark (make bench): fast ops' GFLOP/s and speed-up over the reference, 2 threads.
EXTRA_PROGRAMS += tests/bench/ops_bench
FS_BENCH_PROGS += tests/bench/ops_bench
FS_BENCH_RUN += tests/bench/ops_bench.sh
EXTRA_DIST += tests/bench/ops_bench.c tests/bench/ops_bench.sh
