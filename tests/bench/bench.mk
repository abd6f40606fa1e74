# tests/bench: benchmarks run by make bench (the scripts that run the apps source bench_common.sh)
EXTRA_DIST += tests/bench/bench_common.sh
# training tokens/s of flagscale-pretrain vs a plain PyTorch eager LLaMA, same model/batch/threads (2)
FS_BENCH_RUN += tests/bench/train_bench.sh
EXTRA_DIST += tests/bench/train_bench.sh tests/bench/train_torch.py
# weak scaling over CPU data-parallel ranks, with and without the distributed optimizer (ZeRO-1)
FS_BENCH_RUN += tests/bench/scaling_bench.sh
EXTRA_DIST += tests/bench/scaling_bench.sh
# generation: flagscale-infer vs transformers generate(), batch 1 and batch 32, same model and threads
FS_BENCH_RUN += tests/bench/infer_bench.sh
EXTRA_DIST += tests/bench/infer_bench.sh tests/bench/infer_torch.py
