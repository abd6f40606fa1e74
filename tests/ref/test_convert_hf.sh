#!/bin/sh
# test_convert_hf.sh -- flagscale-convert with Hugging Face folders: a trained checkpoint exported to HF loads in
# transformers with the same logits and a working tokenizer; HF -> flagscale -> HF is bit-exact; bf16 and sharded
# exports load; flagscale -> flagscale with -drop_optimizer keeps the weights.
: "${TORCH_PYTHON:=/usr/bin/python3}"
"$TORCH_PYTHON" -c 'import transformers, safetensors, h5py' 2>/dev/null || {
  echo "SKIP: $TORCH_PYTHON cannot import transformers, safetensors and h5py"; exit 77; }
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
convert=$bin/flagscale-convert
logits=${top_builddir:-.}/tests/ref/logits_tool
check=${top_srcdir:-.}/tests/ref/convert_hf_check.py
fail=0
"$bin/flagscale-pretrain" $tiny -global_batch_size 4 -train_iters 3 -eval_interval 0 -save "$tmp/ck" > "$tmp/train.log" 2>&1 \
  || { cat "$tmp/train.log"; exit 1; }
toks=464,3139,286,262,3418,290,2097,286,17132,25,50256,13
$logits -load "$tmp/ck" -tokens $toks -out "$tmp/ours.bin" || exit 1
step() { echo "== $*"; "$convert" "$@" > "$tmp/convert.log" 2>&1 || { cat "$tmp/convert.log"; echo "FAIL: $*"; fail=1; }; }
step -load "$tmp/ck" -save "$tmp/hf"
step -load "$tmp/hf" -load_format hf -save "$tmp/ck2" -save_format flagscale
step -load "$tmp/ck2" -save "$tmp/hf2"
"$TORCH_PYTHON" "$check" "$tmp/ours.bin" $toks "$tmp/hf" "$tmp/hf2" "$tmp/ck/iter_0000003.h5" "$tmp/ck2/iter_0000000.h5" || fail=1
step -load "$tmp/ck" -save "$tmp/hf_bf16_sharded" -save_dtype bf16 -max_shard_size_mb 1
ls "$tmp/hf_bf16_sharded"
[ -f "$tmp/hf_bf16_sharded/model.safetensors.index.json" ] || { echo "FAIL: no shard index"; fail=1; }
"$TORCH_PYTHON" -c "
import sys, torch
from transformers import LlamaForCausalLM
m = LlamaForCausalLM.from_pretrained(sys.argv[1], torch_dtype='auto')
print('bf16 sharded export loads:', m.dtype, sum(p.numel() for p in m.parameters()), 'parameters')
assert m.dtype == torch.bfloat16" "$tmp/hf_bf16_sharded" || { echo "FAIL: bf16 sharded export"; fail=1; }
step -load "$tmp/ck" -save "$tmp/ck_weights" -save_format flagscale -drop_optimizer -save_dtype bf16
if command -v h5ls >/dev/null; then
  h5ls -r "$tmp/ck_weights/iter_0000000.h5" | grep -q optimizer && { echo "FAIL: optimizer kept"; fail=1; }
  h5ls -r "$tmp/ck2/iter_0000000.h5" | grep -c "^/model/" | sed 's/^/tensors in the imported checkpoint: /'
fi
$logits -load "$tmp/ck_weights" -tokens $toks -out "$tmp/bf16.bin" || { echo "FAIL: bf16 checkpoint does not load"; fail=1; }
exit $fail
