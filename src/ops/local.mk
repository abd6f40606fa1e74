# src/ops: the backend op table; cuda/ is compiled with nvcc when configure found CUDA
if HAVE_CUDA
libflagscale_a_SOURCES += src/ops/cuda/fs_cuda_info.cu
endif
pkginclude_HEADERS += src/ops/cuda/fs_cuda_info.h
EXTRA_DIST += src/ops/cuda/fs_cuda_info.cu
