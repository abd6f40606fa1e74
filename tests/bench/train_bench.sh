#!/bin/sh
# train_bench.sh -- run by `make bench`: training tokens/s of flagscale-pretrain (fast CPU ops) against a plain
# PyTorch eager LLaMA (train_torch.py) on the same model, batch and thread count, in the same run.  Two models of
# the CPU anchors (measured on the development machine; doc/benchmarks.md), GPT-2 vocabulary padded to 50304:
#   tiny:  2 layers, hidden 64, 4 heads, 2 kv heads, ffn 176, batch 8 x 64
#   small: 6 layers, hidden 384, 6 heads, ffn 1024, batch 8 x 256
# Each side runs warm-up steps, then the timed ones; prints tokens/s, ms/step and model TFLOP/s (the trainer's
# count: 6 x matmul parameters + attention) of both and the ratio ours/torch (target >= 2).
# FS_BENCH_THREADS (default 2) threads on both sides; FS_BENCH_MODELS (default "tiny small"); TORCH_PYTHON
# (default /usr/bin/python3, Debian's python3-torch).  Without torch ours is still measured, then exit 77.
set -e
. "${top_srcdir:-.}/tests/bench/bench_common.sh"
py=${TORCH_PYTHON:-/usr/bin/python3}
threads=${FS_BENCH_THREADS:-2}
models=${FS_BENCH_MODELS:-tiny small}
fs_bench_need train_bench.sh flagscale-preprocess flagscale-pretrain
torch_ok=1
"$py" -c "import torch" >/dev/null 2>&1 || torch_ok=0
# a small GPT-2-tokenized dataset from the bundled corpus (20 speeches, about 180k tokens)
fs_bench_data 20

# OpenMP is the only thread pool of the fast ops (OpenBLAS is made single-threaded by the ops themselves);
# OPENBLAS_NUM_THREADS is cleared so that the run shows the default behaviour.
unset OPENBLAS_NUM_THREADS
export OMP_NUM_THREADS=$threads

for model in $models; do
  case $model in
    tiny) L=2 C=64 H=4 KV=2 FFN=176 BS=8 T=64 iters=10 warm=20 twarm=3 titers=8 ;;
    small) L=6 C=384 H=6 KV=6 FFN=1024 BS=8 T=256 iters=3 warm=3 twarm=1 titers=3 ;;
    *) echo "train_bench.sh: unknown model '$model' (tiny|small)" >&2; exit 1 ;;
  esac
  # -log_interval = the timed count: the last log line averages only the steps after the warm-up
  "$bin/flagscale-pretrain" -data_path "$tmp/docs_text_document" -data_cache_path "$tmp/cache" -num_layers $L \
    -hidden_size $C -num_attention_heads $H -num_query_groups $KV -ffn_hidden_size $FFN -seq_length $T \
    -micro_batch_size $BS -make_vocab_size_divisible_by 128 -train_iters $((warm + iters)) -log_interval $iters \
    -eval_interval 0 -lr 1e-4 > "$tmp/$model.log" 2>&1 || { cat "$tmp/$model.log"; exit 1; }
  ours=$(awk -v bs=$BS -v T=$T '
    /elapsed time per iteration/ {
      ms = $0; sub(/.*per iteration \(ms\): /, "", ms); sub(/ .*/, "", ms)
      tf = $0; sub(/.*TFLOP\/s per rank: /, "", tf)
    }
    /training done/ { done = 1 }
    END {
      if (!done || ms == "") { print "error"; exit }
      printf "ms_per_step=%.1f tokens_per_s=%.1f tflops=%.4f", ms, bs * T / (ms / 1000), tf
    }' "$tmp/$model.log")
  [ "$ours" != error ] || { echo "train_bench.sh: could not read the timing from the training log:"; cat "$tmp/$model.log"; exit 1; }
  echo "train $model ours:  $ours"
  if [ $torch_ok = 1 ]; then
    theirs=$("$py" "$top_srcdir/tests/bench/train_torch.py" --layers $L --hidden $C --heads $H --kv_heads $KV --ffn $FFN \
      --vocab 50304 --batch $BS --seq $T --warmup $twarm --iters $titers --threads $threads)
    echo "train $model torch: $theirs"
    printf '%s\n%s\n' "$ours" "$theirs" | awk -v model=$model -v th=$threads '
      { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] } }
      END { printf "ratio train %s ours/torch: %.2fx tokens/s (ours %.0f, torch %.0f; TFLOP/s ours %.3f, torch %.3f; %d threads)\n",
            model, v[1, "tokens_per_s"] / v[2, "tokens_per_s"], v[1, "tokens_per_s"], v[2, "tokens_per_s"],
            v[1, "tflops"], v[2, "tflops"], th }'
  fi
done
if [ $torch_ok = 0 ]; then
  echo "SKIP: $py cannot import torch: no PyTorch comparison (apt-get install python3-torch, or set TORCH_PYTHON)"
  exit 77
fi
