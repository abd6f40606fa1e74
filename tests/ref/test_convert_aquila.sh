#!/bin/sh
# test_convert_aquila.sh -- an Aquila model as the original FlagScale's converter leaves it: a Hugging Face
# LlamaForCausalLM folder with the true Aquila vocabulary (100008), bos 100006 / eos 100007, the Aquila tokenizer
# files.  Made here by transformers (random weights, small dimensions); flagscale-convert imports it, recognizes
# the Aquila tokenizer, and our logits equal transformers'.
: "${TORCH_PYTHON:=/usr/bin/python3}"
"$TORCH_PYTHON" -c 'import transformers, safetensors' 2>/dev/null || { echo "SKIP: $TORCH_PYTHON lacks transformers"; exit 77; }
export FLAGSCALE_DATA_DIR="${top_srcdir:-.}/share/flagscale"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$TORCH_PYTHON" -c "
import sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
torch.manual_seed(0)
c = LlamaConfig(vocab_size=100008, hidden_size=64, intermediate_size=176, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=4, max_position_embeddings=128, rms_norm_eps=1e-5, bos_token_id=100006,
                eos_token_id=100007, tie_word_embeddings=False)
LlamaForCausalLM(c).save_pretrained(sys.argv[1], safe_serialization=True)" "$tmp/aquila-hf" || exit 1
cp "$FLAGSCALE_DATA_DIR"/tokenizers/aquila/vocab.json "$FLAGSCALE_DATA_DIR"/tokenizers/aquila/merges.txt "$tmp/aquila-hf/"
${top_builddir:-.}/apps/flagscale-convert -load "$tmp/aquila-hf" -load_format hf -save "$tmp/ck" -save_format flagscale \
  > "$tmp/convert.log" 2>&1 || { cat "$tmp/convert.log"; exit 1; }
grep -q "vocab 100008" "$tmp/convert.log" || { cat "$tmp/convert.log"; echo "FAIL: vocabulary"; exit 1; }
if command -v h5dump >/dev/null; then
  h5dump -a /tokenizer "$tmp/ck/iter_0000000.h5" | grep -q '"aquila"' || { echo "FAIL: the Aquila tokenizer was not recognized"; exit 1; }
  echo "tokenizer recognized as aquila"
fi
toks=100006,1234,99999,100007,5,77
${top_builddir:-.}/tests/ref/logits_tool -load "$tmp/ck" -tokens $toks -out "$tmp/ours.bin" || exit 1
"$TORCH_PYTHON" -c "
import sys, numpy as np, torch
from transformers import LlamaForCausalLM
m = LlamaForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float32)
toks = [int(t) for t in sys.argv[3].split(',')]
with torch.no_grad():
    hf = m(torch.tensor([toks])).logits[0].numpy().ravel()
ours = np.fromfile(sys.argv[2], dtype=np.float32)
e = float(np.linalg.norm(hf - ours) / np.linalg.norm(hf))
print(f'Aquila-shaped import: logits rel err {e:.2e}')
sys.exit(0 if e < 1e-5 else 1)" "$tmp/aquila-hf" "$tmp/ours.bin" $toks
