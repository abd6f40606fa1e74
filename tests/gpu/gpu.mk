# tests/gpu: GPU tests (built with CUDA; skip without a GPU)
