# tests/gpu: GPU tests (built with CUDA; skip without a GPU)
# test_cuda_ops: every op of fs_ops_cuda against the CPU reference table (skips, 77, without a GPU)
if HAVE_CUDA
check_PROGRAMS += tests/gpu/test_cuda_ops
TESTS += tests/gpu/test_cuda_ops
endif
EXTRA_DIST += tests/gpu/test_cuda_ops.c tests/gpu/device-checks.sh
