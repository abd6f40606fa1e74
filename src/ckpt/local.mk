# src/ckpt: parallel-HDF5 checkpoints (fs_ckpt.h)
