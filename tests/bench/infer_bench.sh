#!/bin/sh
# infer_bench.sh -- run by `make bench`: CPU generation with flagscale-infer against Hugging Face transformers'
# generate() on the same model, prompts, thread count and number of new tokens, in the same run.  The model is a
# random small LLaMA (6 layers, hidden 384, 6 heads, 2 kv heads, ffn 1024, GPT-2 vocabulary) saved by
# flagscale-pretrain and exported with flagscale-convert to Hugging Face safetensors (tests/bench/infer_torch.py
# loads the export).  Two cases, greedy, no stop token:
#   batch 1:  one prompt, 128 new tokens -- decode speed of a single sequence
#   batch 32: 32 prompts, 64 new tokens each, all in one batch -- throughput
# Both sides report generated tokens/s over the generation's wall time (prefill included); ours also prints the
# engine's decode-only tokens/s.  Prints the ratio ours/transformers.  FS_BENCH_THREADS (default 2); TORCH_PYTHON
# (default /usr/bin/python3).  Without torch/transformers ours is still measured, then exit 77.
set -e
. "${top_srcdir:-.}/tests/bench/bench_common.sh"
py=${TORCH_PYTHON:-/usr/bin/python3}
threads=${FS_BENCH_THREADS:-2}
fs_bench_need infer_bench.sh flagscale-preprocess flagscale-pretrain flagscale-convert flagscale-infer
hf_ok=1
"$py" -c "import torch, transformers, safetensors" >/dev/null 2>&1 || hf_ok=0
unset OPENBLAS_NUM_THREADS
export OMP_NUM_THREADS=$threads
fs_bench_data 3
"$bin/flagscale-pretrain" -data_path "$tmp/docs_text_document" -data_cache_path "$tmp/cache" -num_layers 6 \
  -hidden_size 384 -num_attention_heads 6 -num_query_groups 2 -ffn_hidden_size 1024 -seq_length 256 \
  -micro_batch_size 1 -train_iters 1 -eval_interval 0 -lr 1e-4 -save "$tmp/ckpt" > "$tmp/log" 2>&1 || {
  cat "$tmp/log"; exit 1; }
"$bin/flagscale-convert" -load "$tmp/ckpt" -save "$tmp/hf" > "$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
# prompts: the first 12 words of 32 speeches
xz -dc "$top_srcdir/share/flagscale/data/sotu.jsonl.xz" | head -n 32 | "${PYTHON:-python3}" -c '
import json, sys
for line in sys.stdin:
    print(json.dumps({"prompt": " ".join(json.loads(line)["text"].split()[:12])}))' > "$tmp/p32.jsonl"
head -n 1 "$tmp/p32.jsonl" > "$tmp/p1.jsonl"
for case in "1 128" "32 64"; do
  set -- $case
  B=$1 N=$2
  "$bin/flagscale-infer" -load "$tmp/ckpt" -prompts_file "$tmp/p$B.jsonl" -max_new_tokens $N -temperature 0 \
    -stop_on_eod false -max_batch_size $B -max_step_tokens 1024 -output "$tmp/out$B.jsonl" > "$tmp/infer$B.log" 2>&1 ||
    { cat "$tmp/infer$B.log"; exit 1; }
  ours=$(awk -v n=$((B * N)) '/^prefill:/ {
      d = $0; sub(/.*decode: [0-9]+ tokens, /, "", d); sub(/ tokens\/s.*/, "", d)
      w = $NF == "s" ? $(NF - 1) : $NF; sub(/s$/, "", w)
      printf "tokens_per_s=%.1f seconds=%.3f decode_tokens_per_s=%s", n / w, w, d }' "$tmp/infer$B.log")
  [ -n "$ours" ] || { echo "infer_bench.sh: no timing in the flagscale-infer log:"; cat "$tmp/infer$B.log"; exit 1; }
  echo "infer batch $B ours:         $ours"
  if [ $hf_ok = 1 ]; then
    theirs=$("$py" "$top_srcdir/tests/bench/infer_torch.py" "$tmp/hf" "$tmp/out$B.jsonl" $threads)
    echo "infer batch $B transformers: $theirs"
    printf '%s\n%s\n' "$ours" "$theirs" | awk -v B=$B -v N=$N -v th=$threads '
      { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] } }
      END { printf "ratio infer batch %d ours/transformers: %.2fx generated tokens/s (ours %.0f, transformers %.0f; %d new tokens each; greedy tokens equal %.0f%%; %d threads)\n",
            B, v[1, "tokens_per_s"] / v[2, "tokens_per_s"], v[1, "tokens_per_s"], v[2, "tokens_per_s"], N,
            100 * v[2, "same"], th }'
  fi
done
if [ $hf_ok = 0 ]; then
  echo "SKIP: $py cannot import torch, transformers and safetensors: no comparison (set TORCH_PYTHON)"
  exit 77
fi
