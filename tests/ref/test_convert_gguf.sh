#!/bin/sh
# test_convert_gguf.sh -- GGUF with flagscale-convert:
#  - our GGUF export holds exactly the HF weights with llama.cpp's q/k permutation (read with the gguf package)
#  - GGUF -> flagscale -> GGUF round trip is exact (F32)
#  - a llama GGUF made by the gguf package with Q4_0/Q8_0 matrices imports, and our logits on it equal transformers'
#    logits on the same dequantized weights; its tokenizer and chat template come along
: "${TORCH_PYTHON:=/usr/bin/python3}"
$PYTHON -c 'import gguf, safetensors, numpy' 2>/dev/null || { echo "SKIP: $PYTHON lacks gguf/safetensors/numpy"; exit 77; }
"$TORCH_PYTHON" -c 'import transformers' 2>/dev/null || { echo "SKIP: $TORCH_PYTHON lacks transformers"; exit 77; }
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
convert=$bin/flagscale-convert
logits=${top_builddir:-.}/tests/ref/logits_tool
fail=0
step() { echo "== $*"; "$convert" "$@" > "$tmp/convert.log" 2>&1 || { cat "$tmp/convert.log"; echo "FAIL: $*"; fail=1; }; }
"$bin/flagscale-pretrain" $tiny -global_batch_size 4 -train_iters 3 -eval_interval 0 -save "$tmp/ck" > "$tmp/train.log" 2>&1 \
  || { cat "$tmp/train.log"; exit 1; }
step -load "$tmp/ck" -save "$tmp/hf"
step -load "$tmp/ck" -save "$tmp/gg" -save_format gguf
$PYTHON "${top_srcdir:-.}/tests/ref/gguf_make.py" "$tmp/hf" - - "$tmp/gg/model.gguf" || fail=1
step -load "$tmp/gg/model.gguf" -load_format gguf -save "$tmp/ck_from_gguf" -save_format flagscale
step -load "$tmp/ck_from_gguf" -save "$tmp/gg2" -save_format gguf
cmp -s "$tmp/gg/model.gguf" "$tmp/gg2/model.gguf" && echo "gguf -> flagscale -> gguf: identical files" \
  || { echo "FAIL: gguf round trip differs"; fail=1; }
echo "== quantized GGUF from the gguf package"
$PYTHON "${top_srcdir:-.}/tests/ref/gguf_make.py" "$tmp/hf" "$tmp/q.gguf" "$tmp/deq" || exit 1
step -load "$tmp/q.gguf" -load_format gguf -save "$tmp/ck_q" -save_format flagscale
toks=464,3139,286,262,3418,290,2097,286,17132,25,50256,13
$logits -load "$tmp/ck_q" -tokens $toks -out "$tmp/q.bin" || fail=1
"$TORCH_PYTHON" "${top_srcdir:-.}/tests/ref/convert_hf_check.py" "$tmp/q.bin" $toks "$tmp/deq" || fail=1
if command -v h5dump >/dev/null; then
  h5dump -a /chat_template "$tmp/ck_q/iter_0000000.h5" | grep -q "messages" || { echo "FAIL: chat template lost"; fail=1; }
fi
[ -f "$tmp/ck_q/tokenizer/vocab.json" ] && [ -f "$tmp/ck_q/tokenizer/merges.txt" ] || { echo "FAIL: tokenizer not extracted"; fail=1; }
exit $fail
