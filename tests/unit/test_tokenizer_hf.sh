#!/bin/sh
# test_tokenizer_hf.sh -- our ids equal Hugging Face tokenizers' on the whole bundled corpus and on hard strings,
# and on 2000 random documents mixing scripts, emoji, odd spaces, controls and special tokens,
# for both bundled vocabularies (GPT-2, Aquila); decode(encode(x)) == x on every document (checked by the tool).
# Skips (77) when Python's tokenizers package is missing.
set -e
: "${PYTHON:=python3}"
if ! "$PYTHON" -c 'import tokenizers' 2>/dev/null; then
  echo "SKIP: $PYTHON cannot import the 'tokenizers' package (pip install tokenizers)"
  exit 77
fi
command -v xz >/dev/null || { echo "SKIP: xz is not installed (needed to unpack the corpus)"; exit 77; }
tool=$top_builddir/tests/ref/tokenizer_tool
tk=$top_srcdir/share/flagscale/tokenizers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xz -dc "$top_srcdir/share/flagscale/data/sotu.jsonl.xz" > "$tmp/sotu.jsonl"
"$PYTHON" "$top_srcdir/tests/ref/tokenizer_hf.py" --fuzz "$tmp/fuzz.jsonl" 2000 "${FS_TOKENIZER_FUZZ_SEED:-1234}"
for name in gpt2 aquila; do
  if [ -f "$tk/$name/special_tokens.txt" ]; then sp=$tk/$name/special_tokens.txt; spopt="-special_tokens_file $sp"
  else sp=-; spopt=; fi
  for input in "$tmp/sotu.jsonl" "$top_srcdir/tests/ref/tokenizer_hard.jsonl" "$tmp/fuzz.jsonl"; do
    echo "== $name $(basename "$input")"
    # shellcheck disable=SC2086
    "$tool" -vocab_file "$tk/$name/vocab.json" -merge_file "$tk/$name/merges.txt" $spopt \
      -input "$input" -output "$tmp/ours.ids"
    "$PYTHON" "$top_srcdir/tests/ref/tokenizer_hf.py" "$tk/$name/vocab.json" "$tk/$name/merges.txt" "$sp" \
      "$input" "$tmp/ours.ids"
  done
done
echo "test_tokenizer_hf: PASS"
