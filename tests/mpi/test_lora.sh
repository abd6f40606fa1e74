#!/bin/sh
# test_lora.sh -- LoRA fine-tuning end to end (doc/finetuning.md): a tiny model pretrained here is fine-tuned with
# adapters on every adaptable layer.  Checks: the loss falls; 1 rank, 2 data-parallel ranks with the distributed
# optimizer, TP=2 with sequence parallelism, PP=2 and TP=2 x DP=2 (distributed optimizer) give the same losses
# and gradient norms within 1e-5, activation recomputation bit-identical ones; a stopped run resumes with
# bit-identical losses; the checkpoint's base tensors are bit-identical to the base checkpoint's and only the
# adapters have optimizer state; the HF export (adapters merged) gives in transformers the logits of base +
# adapters computed here, as do the HF and GGUF exports imported back; flagscale-infer loads the adapters (on 1
# and on 2 tensor-parallel ranks, with the same tokens);
# disagreeing LoRA options are refused; the logged FLOPs per token (TFLOP/s) count frozen weights 4x, trained 6x.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
: "${TORCH_PYTHON:=/usr/bin/python3}"
check=${top_srcdir:-.}/tests/mpi/test_sft_check.py
lcheck=${top_srcdir:-.}/tests/mpi/lora_check.py
logits=${top_builddir:-.}/tests/ref/logits_tool
convert=$bin/flagscale-convert

timeout 600 $MPIEXEC -np 1 "$bin/flagscale-pretrain" $tiny -global_batch_size 8 -train_iters 40 -lr 1e-2 \
  -lr_warmup_iters 2 -eval_iters 0 -save "$tmp/pre" > "$tmp/pre.log" 2>&1 || { cat "$tmp/pre.log"; echo "FAIL: pretrain"; exit 1; }
# two documents to learn by heart (the frozen output layer of so small a model leaves the adapters little room)
head -n 2 "$tmp/docs.jsonl" > "$tmp/train.jsonl"

lora="-lora_rank 4 -lora_alpha 8 -lora_target_modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
ft="-load $tmp/pre -train_data_path $tmp/train.jsonl -valid_data_path $tmp/train.jsonl -finetune_dataset_type cpt
  -seq_length 32 -micro_batch_size 2 -global_batch_size 8 -train_iters 16 -lr 1e-2 -lr_decay_style constant
  -eval_interval 4 -eval_iters 1 -log_interval 1 -seed 5"
run() { # name np options...
  name=$1 np=$2; shift 2
  timeout 600 $MPIEXEC -np "$np" "$bin/flagscale-finetune" $ft -metrics_file "$tmp/$name.jsonl" "$@" \
    > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; echo "FAIL: $name"; exit 1; }
}
run np1 1 $lora -save "$tmp/lora"
grep -E "LoRA rank|has no LoRA adapters" "$tmp/np1.log"
$PYTHON "$check" falls "$tmp/np1.jsonl" 0.03 || exit 1
# the TFLOP/s count: frozen weights have no weight gradient
$PYTHON "$lcheck" flops "$tmp/np1.log" || exit 1
$PYTHON "$lcheck" flops "$tmp/pre.log" || exit 1
# layouts (at a smaller learning rate: Adam amplifies the rounding differences of the reductions at 1e-2, with or
# without LoRA)
run ref 1 $lora -lr 2e-3
run dp2 2 $lora -lr 2e-3 -use_distributed_optimizer
run tp2 2 $lora -lr 2e-3 -tensor_model_parallel_size 2 -sequence_parallel
run pp2 2 $lora -lr 2e-3 -pipeline_model_parallel_size 2
run tp2dp2 4 $lora -lr 2e-3 -tensor_model_parallel_size 2 -use_distributed_optimizer
for r in dp2 tp2 pp2 tp2dp2; do $PYTHON "$check" same "$tmp/ref.jsonl" "$tmp/$r.jsonl" 1e-5 || exit 1; done
# activation recomputation keeps the adapters' activations too: bit-identical
run full 1 $lora -lr 2e-3 -recompute_granularity full -train_iters 4
run sel 1 $lora -lr 2e-3 -recompute_granularity selective -train_iters 4
head -n 5 "$tmp/ref.jsonl" > "$tmp/ref4.jsonl"
for r in full sel; do $PYTHON "$check" same "$tmp/ref4.jsonl" "$tmp/$r.jsonl" 0 || exit 1; done

# a stopped run started again with the same options resumes from -save
run part1 1 $lora -save "$tmp/lora2" -exit_interval 8
run part2 1 $lora -save "$tmp/lora2"
grep -q "resuming this fine-tuning run" "$tmp/part2.log" || { cat "$tmp/part2.log"; echo "FAIL: no resume"; exit 1; }
cat "$tmp/part1.jsonl" "$tmp/part2.jsonl" > "$tmp/parts.jsonl"
$PYTHON "$check" same "$tmp/np1.jsonl" "$tmp/parts.jsonl" 0 || exit 1

# the checkpoint: base tensors untouched, adapters with PEFT's names, optimizer state of the adapters only
$PYTHON "$lcheck" ckpt "$tmp/pre/iter_0000040.h5" "$tmp/lora/iter_0000016.h5" || exit 1

# merge: ours (base + adapters) vs the exports
toks=464,3139,286,262,3418,290,2097,286,17132,25,50256,13
$logits -load "$tmp/lora" -tokens $toks -out "$tmp/ours.bin" || exit 1
step() { "$convert" "$@" > "$tmp/convert.log" 2>&1 || { cat "$tmp/convert.log"; echo "FAIL: convert $*"; exit 1; }; }
step -load "$tmp/lora" -save "$tmp/hf"
grep "merged" "$tmp/convert.log"
step -load "$tmp/hf" -load_format hf -save "$tmp/back" -save_format flagscale
$logits -load "$tmp/back" -tokens $toks -out "$tmp/back.bin" || exit 1
step -load "$tmp/lora" -save "$tmp/gguf" -save_format gguf
step -load "$tmp/gguf/model.gguf" -load_format gguf -save "$tmp/gback" -save_format flagscale
$logits -load "$tmp/gback" -tokens $toks -out "$tmp/gback.bin" || exit 1
$logits -load "$tmp/pre" -tokens $toks -out "$tmp/base.bin" || exit 1
$PYTHON "$lcheck" logits "$tmp/ours.bin" "$tmp/base.bin" "$tmp/back.bin" "$tmp/gback.bin" || exit 1
if "$TORCH_PYTHON" -c 'import transformers, torch' 2>/dev/null; then
  "$TORCH_PYTHON" "$lcheck" hf "$tmp/ours.bin" $toks "$tmp/hf" || exit 1
else
  echo "transformers not importable by $TORCH_PYTHON: HF comparison skipped"
fi
step -load "$tmp/lora" -save "$tmp/kept" -save_format flagscale -merge_lora false
$logits -load "$tmp/kept" -tokens $toks -out "$tmp/kept.bin" || exit 1
cmp -s "$tmp/ours.bin" "$tmp/kept.bin" || { echo "FAIL: -merge_lora false changed the model"; exit 1; }
if "$convert" -load "$tmp/lora" -save "$tmp/hf3" -merge_lora false > "$tmp/nomerge.log" 2>&1; then
  echo "FAIL: HF export with unmerged adapters accepted"; exit 1
fi
grep -q "needs them merged" "$tmp/nomerge.log" || { cat "$tmp/nomerge.log"; echo "FAIL: message"; exit 1; }

# inference merges at load
echo '{"prompt": "The state of the union", "temperature": 0}' > "$tmp/p.jsonl"
"$bin/flagscale-infer" -load "$tmp/lora" -prompts_file "$tmp/p.jsonl" -max_new_tokens 4 -output "$tmp/o.jsonl" \
  > "$tmp/infer.log" 2>&1 || { cat "$tmp/infer.log"; echo "FAIL: infer"; exit 1; }
grep -q "merged into the base weights" "$tmp/infer.log" || { cat "$tmp/infer.log"; echo "FAIL: infer merge"; exit 1; }
# ... and on 2 tensor-parallel ranks each rank merges its slices: the same tokens as 1 rank
$MPIEXEC -np 2 "$bin/flagscale-infer" -load "$tmp/lora" -prompts_file "$tmp/p.jsonl" -max_new_tokens 4 \
  -output "$tmp/o2.jsonl" > "$tmp/infer2.log" 2>&1 || { cat "$tmp/infer2.log"; echo "FAIL: infer TP 2"; exit 1; }
"$PYTHON" "${top_srcdir:-.}/tests/mpi/same_infer.py" "$tmp/o.jsonl" "$tmp/o2.jsonl" || { echo "FAIL: LoRA TP 2 infer"; exit 1; }

# resuming LoRA with another rank is refused
if $MPIEXEC -np 1 "$bin/flagscale-finetune" $ft -load "$tmp/lora" -lora_rank 8 > "$tmp/dis.log" 2>&1; then
  echo "FAIL: -lora_rank 8 accepted for a rank-4 checkpoint"; exit 1
fi
grep -q "disagrees with the checkpoint" "$tmp/dis.log" || { cat "$tmp/dis.log"; echo "FAIL: disagreement message"; exit 1; }

# the shipped demo recipe trains
$MPIEXEC -np 1 "$bin/flagscale-finetune" -options_file "$FLAGSCALE_DATA_DIR/configs/demo-lora.opts" -load "$tmp/pre" \
  -train_data_path "$tmp/train.jsonl" -valid_data_path "$tmp/train.jsonl" -finetune_dataset_type cpt -train_iters 2 \
  -eval_interval 1 -seq_length 32 > "$tmp/demo.log" 2>&1 || { cat "$tmp/demo.log"; echo "FAIL: demo-lora.opts"; exit 1; }
grep -q "validation loss at iteration 2" "$tmp/demo.log" || { cat "$tmp/demo.log"; echo "FAIL: demo-lora.opts"; exit 1; }
echo "ok"
