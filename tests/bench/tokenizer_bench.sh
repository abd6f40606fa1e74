#!/bin/sh
# tokenizer_bench.sh -- tokens/s of our tokenizer vs Hugging Face tokenizers on the bundled corpus, one thread
# each, the same text, in the same run; prints both and the ratio (ours / HF; the target is >= 1).
set -e
: "${PYTHON:=python3}"
repeat=${FS_BENCH_REPEAT:-3}
prog=$top_builddir/tests/bench/tokenizer_bench
tk=$top_srcdir/share/flagscale/tokenizers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xz -dc "$top_srcdir/share/flagscale/data/sotu.jsonl.xz" > "$tmp/sotu.jsonl"
hf_ok=1
"$PYTHON" -c 'import tokenizers' 2>/dev/null || { hf_ok=0; echo "note: Python tokenizers missing: ours only"; }
for name in gpt2 aquila; do
  ours=$("$prog" -tokenizer "$tk/$name" -input "$tmp/sotu.jsonl" -repeat "$repeat")
  echo "$ours"
  [ $hf_ok = 1 ] || continue
  hf=$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$PYTHON" "$top_srcdir/tests/bench/tokenizer_bench.py" \
    "$tk/$name" "$tmp/sotu.jsonl" "$repeat")
  echo "$hf"
  printf '%s\n%s\n' "$ours" "$hf" | awk -v name="$name" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] } }
    END { printf "ratio %s ours/hf: cold %.2fx warm %.2fx (tokens ours %s hf %s)\n", name,
          v[1, "cold_tok_per_s"] / v[2, "cold_tok_per_s"], v[1, "warm_tok_per_s"] / v[2, "warm_tok_per_s"],
          v[1, "tokens"], v[2, "tokens"] }'
done
