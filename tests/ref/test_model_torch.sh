#!/bin/sh
# test_model_torch.sh -- the model against PyTorch (tests/ref/model_vs_torch.py) for both structures, both CPU
# backends: LLaMA with GQA (untied), LLaMA tied, GPT-2 structure (LayerNorm, learned positions, GELU, biases); and
# LoRA adapters on every adaptable layer (LLaMA) and on the GPT-2 structure's (loss, adapter gradients, 10 AdamW
# steps that leave the base weights bit-identical).
: "${TORCH_PYTHON:=/usr/bin/python3}"
"$TORCH_PYTHON" -c 'import torch, numpy' 2>/dev/null || {
  echo "SKIP: PyTorch not importable by $TORCH_PYTHON (Debian: apt-get install python3-torch)"; exit 77; }
tool=${top_builddir:-.}/tests/ref/model_tool
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
run() { # name, options...
  name=$1; shift
  mkdir -p "$tmp/$name"
  echo "== $name: $*"
  $tool -out "$tmp/$name" "$@" || { echo "FAIL $name: model_tool"; fail=1; return; }
  "$TORCH_PYTHON" "${top_srcdir:-.}/tests/ref/model_vs_torch.py" "$tmp/$name" || { echo "FAIL $name"; fail=1; }
}
llama="-num_layers 2 -hidden_size 48 -num_attention_heads 6 -num_query_groups 2 -ffn_hidden_size 72 -seq_length 19 -vocab_size 101 -make_vocab_size_divisible_by 8"
for ops in cpu-ref cpu; do
  run llama-gqa-$ops $llama -ops $ops
  run llama-tied-$ops $llama -untie_embeddings_and_output_weights false -num_query_groups 3 -ops $ops
  run gpt2-$ops -num_layers 2 -hidden_size 32 -num_attention_heads 4 -seq_length 17 -max_position_embeddings 24 \
    -vocab_size 97 -make_vocab_size_divisible_by 1 -normalization layernorm -position_embedding_type learned_absolute \
    -swiglu false -add_bias_linear -untie_embeddings_and_output_weights false -ops $ops
  run llama-lora-$ops $llama -lora_rank 4 -lora_alpha 8 -ops $ops \
    -lora_target_modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj
  run gpt2-lora-$ops -num_layers 2 -hidden_size 32 -num_attention_heads 4 -seq_length 17 -max_position_embeddings 24 \
    -vocab_size 97 -make_vocab_size_divisible_by 1 -normalization layernorm -position_embedding_type learned_absolute \
    -swiglu false -add_bias_linear -untie_embeddings_and_output_weights false -lora_rank 3 -lora_alpha 12 \
    -lora_target_modules v_proj,o_proj,up_proj,down_proj -ops $ops
done
exit $fail
