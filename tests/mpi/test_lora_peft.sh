#!/bin/sh
# test_lora_peft.sh -- LoRA adapters as PEFT adapter folders (doc/formats-hf-gguf.md): a tiny LLaMA pretrained here
# is fine-tuned with adapters on q,k,v,o,gate,up,down; flagscale-convert -save_format peft writes the adapters alone
# (bit for bit the checkpoint's, PEFT's names, adapter_config.json with the rank, alpha and targets); -load_adapter
# puts such a folder back on the base, loaded from a flagscale checkpoint or from its Hugging Face export: the logits
# are bit-identical to the fine-tuned checkpoint's (from an rsLoRA folder with the same scale too), and merged on
# export they equal the merged export of the original; flagscale-finetune -load_adapter trains from the folder as
# from the converted checkpoint (1 rank bit for bit, DP 2 with the distributed optimizer and TP 2 within 1e-5);
# PEFT itself (where it imports) puts the folder on transformers' model of the base and gives our logits; a folder
# for another base, DoRA, an unknown target module, adapters on a model that has some, a disagreeing -lora_rank and
# exporting a model without adapters are refused.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
: "${TORCH_PYTHON:=/usr/bin/python3}"
lcheck=${top_srcdir:-.}/tests/mpi/lora_check.py
logits=${top_builddir:-.}/tests/ref/logits_tool
convert=$bin/flagscale-convert
fail() { echo "FAIL: $*"; exit 1; }

"$bin/flagscale-pretrain" $tiny -global_batch_size 8 -train_iters 20 -lr 1e-2 -eval_iters 0 -save "$tmp/pre" \
  > "$tmp/pre.log" 2>&1 || { cat "$tmp/pre.log"; fail "pretrain"; }
head -n 2 "$tmp/docs.jsonl" > "$tmp/train.jsonl"
"$bin/flagscale-finetune" -load "$tmp/pre" -train_data_path "$tmp/train.jsonl" -finetune_dataset_type cpt \
  -seq_length 32 -micro_batch_size 2 -global_batch_size 8 -train_iters 8 -lr 1e-2 -lr_decay_style constant -seed 5 \
  -lora_rank 4 -lora_alpha 6 -lora_target_modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj \
  -save "$tmp/lora" > "$tmp/ft.log" 2>&1 || { cat "$tmp/ft.log"; fail "finetune"; }
step() { "$convert" "$@" > "$tmp/convert.log" 2>&1 || { cat "$tmp/convert.log"; fail "convert $*"; }; }
toks=464,3139,286,262,3418,290,2097,286,17132,25,50256,13
$logits -load "$tmp/lora" -tokens $toks -out "$tmp/ours.bin" > /dev/null || fail "logits_tool"

# export: the adapters alone
step -load "$tmp/lora" -save "$tmp/peft" -save_format peft -peft_base_model "$tmp/base_hf"
ls "$tmp/peft"
[ "$(ls "$tmp/peft" | tr '\n' ' ')" = "adapter_config.json adapter_model.safetensors " ] || fail "folder contents"
"$PYTHON" "$lcheck" adapter "$tmp/lora/iter_0000008.h5" "$tmp/peft" || fail "adapter folder"

# import: on the flagscale base and on its Hugging Face export, adapters kept: the fine-tuned model, bit for bit
step -load "$tmp/pre" -save "$tmp/base_hf"
for from in "-load $tmp/pre" "-load $tmp/base_hf -load_format hf"; do
  rm -rf "$tmp/back"
  step $from -load_adapter "$tmp/peft" -save "$tmp/back" -save_format flagscale -merge_lora false
  grep -q "adapters of .* attached (rank 4, alpha 6, q_proj,k_proj" "$tmp/convert.log" ||
    { cat "$tmp/convert.log"; fail "log"; }
  $logits -load "$tmp/back" -tokens $toks -out "$tmp/back.bin" > /dev/null || fail "logits_tool"
  cmp -s "$tmp/ours.bin" "$tmp/back.bin" || fail "base ($from) + PEFT folder differs from the fine-tuned checkpoint"
done
# a new model: iteration 0, no optimizer state (the base's moments were for other tensors)
[ "$(cat "$tmp/back/latest_checkpointed_iteration.txt")" = 0 ] || fail "the attached model is not at iteration 0"
# rsLoRA (scale alpha / sqrt(r)): alpha 3 with r 4 is our alpha 6, the same model bit for bit
mkdir -p "$tmp/rs"
cp "$tmp/peft/adapter_model.safetensors" "$tmp/rs/"
sed 's/"use_rslora": false/"use_rslora": true/; s/"lora_alpha": 6/"lora_alpha": 3/' "$tmp/peft/adapter_config.json" \
  > "$tmp/rs/adapter_config.json"
rm -rf "$tmp/back"
step -load "$tmp/pre" -load_adapter "$tmp/rs" -save "$tmp/back" -save_format flagscale -merge_lora false
$logits -load "$tmp/back" -tokens $toks -out "$tmp/back.bin" > /dev/null || fail "logits_tool"
cmp -s "$tmp/ours.bin" "$tmp/back.bin" || fail "rsLoRA alpha 3 differs from alpha 6"
# merged on export: the same bytes as merging the original
step -load "$tmp/lora" -save "$tmp/merged_a"
step -load "$tmp/base_hf" -load_format hf -load_adapter "$tmp/peft" -save "$tmp/merged_b"
cmp "$tmp/merged_a/model.safetensors" "$tmp/merged_b/model.safetensors" || fail "merged exports differ"

# flagscale-finetune -load_adapter starts from the folder: the same losses as from the converted checkpoint (bit
# for bit), on 2 data-parallel ranks with the distributed optimizer and on TP 2 within 1e-5
check=${top_srcdir:-.}/tests/mpi/test_sft_check.py
ft() { # name np options...
  name=$1 np=$2; shift 2
  timeout 600 $MPIEXEC -np "$np" "$bin/flagscale-finetune" -train_data_path "$tmp/train.jsonl" \
    -finetune_dataset_type cpt -seq_length 32 -micro_batch_size 2 -global_batch_size 8 -train_iters 4 -lr 2e-3 \
    -lr_decay_style constant -seed 5 -log_interval 1 -metrics_file "$tmp/$name.jsonl" "$@" > "$tmp/$name.log" 2>&1 ||
    { cat "$tmp/$name.log"; fail "$name"; }
}
rm -rf "$tmp/kept"
step -load "$tmp/pre" -load_adapter "$tmp/peft" -save "$tmp/kept" -save_format flagscale -merge_lora false
ft via_convert 1 -load "$tmp/kept"
ft adapter 1 -load "$tmp/pre" -load_adapter "$tmp/peft"
grep -q "LoRA adapters from .*peft (rank 4, alpha 6)" "$tmp/adapter.log" || { cat "$tmp/adapter.log"; fail "log"; }
$PYTHON "$check" same "$tmp/via_convert.jsonl" "$tmp/adapter.jsonl" 0 || fail "-load_adapter != converted checkpoint"
ft adapter_dp2 2 -load "$tmp/pre" -load_adapter "$tmp/peft" -use_distributed_optimizer
ft adapter_tp2 2 -load "$tmp/pre" -load_adapter "$tmp/peft" -tensor_model_parallel_size 2
for r in adapter_dp2 adapter_tp2; do $PYTHON "$check" same "$tmp/adapter.jsonl" "$tmp/$r.jsonl" 1e-5 || fail "$r"; done
if $MPIEXEC -np 1 "$bin/flagscale-finetune" -load "$tmp/pre" -load_adapter "$tmp/peft" -lora_rank 8 \
    -train_data_path "$tmp/train.jsonl" -finetune_dataset_type cpt -seq_length 32 > "$tmp/dis.log" 2>&1; then
  fail "-lora_rank 8 accepted with a rank-4 adapter"
fi
grep -q "disagrees" "$tmp/dis.log" || { cat "$tmp/dis.log"; fail "no message for -lora_rank 8"; }

# PEFT itself
if "$TORCH_PYTHON" -c 'import peft, transformers, torch' 2>/dev/null; then
  "$TORCH_PYTHON" "$lcheck" hf "$tmp/ours.bin" $toks "$tmp/base_hf" "$tmp/peft" || fail "PEFT"
else
  echo "peft not importable by $TORCH_PYTHON: the comparison with PEFT is skipped"
fi

# refusals, each with its message
refused() { # what message convert-options...
  what=$1 msg=$2; shift 2
  if "$convert" "$@" > "$tmp/bad.log" 2>&1; then fail "$what accepted"; fi
  grep -q "$msg" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "$what: no message '$msg'"; }
}
refused "no adapters" "has no LoRA adapters" -load "$tmp/pre" -save "$tmp/x1" -save_format peft
"$bin/flagscale-pretrain" $tiny -num_layers 3 -train_iters 1 -eval_iters 0 -save "$tmp/pre3" > "$tmp/pre3.log" 2>&1 ||
  { cat "$tmp/pre3.log"; fail "pretrain 3 layers"; }
refused "another base" "another base model" -load "$tmp/pre3" -load_adapter "$tmp/peft" -save "$tmp/x2"
mkdir -p "$tmp/dora" "$tmp/lmhead"
cp "$tmp/peft/adapter_model.safetensors" "$tmp/dora/"
cp "$tmp/peft/adapter_model.safetensors" "$tmp/lmhead/"
sed 's/"use_dora": false/"use_dora": true/' "$tmp/peft/adapter_config.json" > "$tmp/dora/adapter_config.json"
sed 's/"q_proj",/"q_proj", "lm_head",/' "$tmp/peft/adapter_config.json" > "$tmp/lmhead/adapter_config.json"
refused "DoRA" "DoRA is not supported" -load "$tmp/pre" -load_adapter "$tmp/dora" -save "$tmp/x3"
refused "lm_head" "target module 'lm_head' cannot be adapted" -load "$tmp/pre" -load_adapter "$tmp/lmhead" \
  -save "$tmp/x4"
refused "adapters twice" "already has LoRA adapters" -load "$tmp/lora" -load_adapter "$tmp/peft" -save "$tmp/x5"
echo "ok"
