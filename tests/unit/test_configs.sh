#!/bin/sh
# test_configs.sh -- every option in the shipped option files is one flagscale-pretrain knows (its -help lists it),
# and the demo configuration trains (2 iterations on a small dataset).
export FLAGSCALE_DATA_DIR="${top_srcdir:-.}/share/flagscale"
pretrain=${top_builddir:-.}/apps/flagscale-pretrain
help=$($pretrain -help) || { echo "FAIL: -help"; exit 1; }
fail=0
for f in "${top_srcdir:-.}"/share/flagscale/configs/*.opts; do
  for opt in $(grep -o '^-[a-z_0-9]*' "$f"); do
    echo "$help" | grep -q -- "^  $opt " || { echo "FAIL: $(basename "$f"): $opt is not an option of flagscale-pretrain"; fail=1; }
  done
  echo "checked $(basename "$f"): $(grep -c '^-' "$f") options"
done
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
$pretrain -options_file "${top_srcdir:-.}/share/flagscale/configs/demo-llama.opts" -data_path "$tmp/docs_text_document" \
  -data_cache_path "$tmp/cache" -train_iters 2 -lr_warmup_iters 1 -eval_interval 1 -eval_iters 1 -seq_length 32 \
  -max_position_embeddings 32 > "$tmp/demo.log" 2>&1 || { cat "$tmp/demo.log"; echo "FAIL: demo config"; fail=1; }
grep -q "validation loss at iteration 2" "$tmp/demo.log" || { cat "$tmp/demo.log"; fail=1; }
exit $fail
