#!/bin/sh
# test_infer_hf.sh -- flagscale-infer against Hugging Face transformers: a tiny LLaMA (GQA) is trained a few
# steps, saved, and prompted greedily for 32 tokens (no stop token); tests/ref/infer_hf.py rebuilds the model in
# LlamaForCausalLM from the checkpoint (h5py) and checks that generate(do_sample=False) gives the same ids.
: "${TORCH_PYTHON:=/usr/bin/python3}"
"$TORCH_PYTHON" -c 'import torch, transformers, h5py' 2>/dev/null || {
  echo "SKIP: torch, transformers or h5py not importable by $TORCH_PYTHON (set TORCH_PYTHON)"; exit 77; }
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
"$bin/flagscale-pretrain" $tiny -train_iters 30 -lr 1e-2 -min_lr 1e-2 -init_method_std 0.3 -save "$tmp/ckpt" > "$tmp/train.log" 2>&1 || {
  cat "$tmp/train.log"; exit 1; }
cat > "$tmp/prompts.jsonl" <<'P'
{"prompt": "The state of the union"}
{"prompt": "We must"}
{"prompt": "Mr. Speaker, Mr. Vice President, members of Congress, and my fellow Americans: tonight"}
{"prompt": "Our economy is"}
P
"$bin/flagscale-infer" -load "$tmp/ckpt" -prompts_file "$tmp/prompts.jsonl" -max_new_tokens 32 -temperature 0 \
  -stop_on_eod false -max_batch_size 3 -output "$tmp/out.jsonl" > "$tmp/infer.log" 2>&1 || { cat "$tmp/infer.log"; exit 1; }
cat "$tmp/infer.log"
"$TORCH_PYTHON" "${top_srcdir:-.}/tests/ref/infer_hf.py" "$tmp/ckpt/iter_0000030.h5" "$tmp/out.jsonl"
