#!/bin/sh
# test_sft_mask.sh -- SFT loss masks through the trainer (tests/ref/sft_mask_tool.c): the loss and every gradient of
# a global batch (2 micro-batches of 2 ChatML conversations: padded, truncated inside a reply, truncated inside a
# prompt, several turns) equal a PyTorch reference that drops the masked targets (tests/ref/sft_mask_torch.py).
# Changing the final token where its target is masked leaves the loss and gradients bit-identical; where it is
# trained the loss changes (the check can fail).  Changing every masked token (also inputs of later positions)
# still matches the reference on the changed tokens: a masked token acts only as an input.
: "${TORCH_PYTHON:=/usr/bin/python3}"
"$TORCH_PYTHON" -c 'import torch, numpy' 2>/dev/null || {
  echo "SKIP: PyTorch not importable by $TORCH_PYTHON (Debian: apt-get install python3-torch)"; exit 77; }
export FLAGSCALE_DATA_DIR="${top_srcdir:-.}/share/flagscale"
tool=${top_builddir:-.}/tests/ref/sft_mask_tool
ref=${top_srcdir:-.}/tests/ref/sft_mask_torch.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/data.jsonl" <<'EOF'
{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
{"messages": [{"role": "user", "content": "Tell a story"}, {"role": "assistant", "content": "Once upon a time there was a small robot who lived in a lighthouse and counted the waves every night until the sea grew calm"}]}
{"instruction": "", "conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4."}, {"from": "human", "value": "Now a long question that will not fit in the sequence at all, with many words after words after words"}, {"from": "gpt", "value": "never seen"}]}
{"messages": [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "B."}, {"role": "user", "content": "C?"}, {"role": "assistant", "content": "D."}]}
EOF
model="-num_layers 2 -hidden_size 32 -num_attention_heads 4 -num_query_groups 2 -ffn_hidden_size 64
  -seq_length 48 -micro_batch_size 2 -global_batch_size 4 -seed 11 -data $tmp/data.jsonl"
fail=0
for p in none last_masked last_any masked; do
  mkdir -p "$tmp/$p"
  $tool $model -perturb $p -out "$tmp/$p" || { echo "FAIL: sft_mask_tool -perturb $p"; exit 1; }
done
for p in none masked; do
  "$TORCH_PYTHON" "$ref" "$tmp/$p" || fail=1
done
loss() { sed -n 's/.*"loss": "\(.*\)".*/\1/p' "$1/meta.json"; }
if [ "$(loss "$tmp/none")" = "$(loss "$tmp/last_masked")" ] && cmp -s "$tmp/none/grads.bin" "$tmp/last_masked/grads.bin"
then echo "masked final targets changed: loss and gradients bit-identical ($(loss "$tmp/none"))"
else echo "FAIL: changing a masked target changed the loss ($(loss "$tmp/none") vs $(loss "$tmp/last_masked")) or gradients"; fail=1
fi
if grep -q '"tokens"' "$tmp/none/meta.json" && ! cmp -s "$tmp/none/meta.json" "$tmp/last_masked/meta.json"
then echo "(the changed tokens did reach the trainer)"
else echo "FAIL: -perturb last_masked changed nothing: the check above is vacuous"; fail=1
fi
if [ "$(loss "$tmp/none")" != "$(loss "$tmp/last_any")" ]
then echo "trained final targets changed: loss $(loss "$tmp/none") -> $(loss "$tmp/last_any") (as it must)"
else echo "FAIL: changing trained targets left the loss unchanged"; fail=1
fi
exit $fail
