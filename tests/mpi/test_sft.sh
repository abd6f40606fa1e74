#!/bin/sh
# test_sft.sh -- flagscale-finetune end to end: a tiny model pretrained here (GPT-2 tokenizer) is fine-tuned on
# conversations made here (original FlagScale and OpenAI formats in the same file) whose replies follow a fixed
# style.  Checks: the validation loss goes down; 1 rank, 2 data-parallel ranks, TP=2 and PP=2 give the same losses
# within 1e-5 over 20 iterations; a run stopped by -exit_interval resumes from -save with bit-identical losses; a
# malformed line is reported with its line number; model options that disagree with the checkpoint are refused.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
check=${top_srcdir:-.}/tests/mpi/test_sft_check.py

# 1. the checkpoint to fine-tune
timeout 600 $MPIEXEC -np 1 "$bin/flagscale-pretrain" $tiny -global_batch_size 8 -train_iters 30 -lr 3e-3 \
  -lr_warmup_iters 3 -eval_iters 0 -save "$tmp/pre" > "$tmp/pre.log" 2>&1 || { cat "$tmp/pre.log"; echo "FAIL: pretrain"; exit 1; }

# 2. conversations: "What is the color of the NOUN?" -> "Certainly! The NOUN is COLOR." (both formats)
$PYTHON - "$tmp" <<'EOF' || exit 1
import json, sys
d = sys.argv[1]
nouns = ["sky", "grass", "sun", "snow", "night", "blood", "sea", "leaf", "coal", "milk", "rose", "lemon", "cloud",
         "sand", "ink", "salt", "fire", "ice", "tree", "wine", "gold", "rust", "ash", "plum"]
colors = ["blue", "green", "yellow", "white", "black", "red"]
def convo(i, fmt):
    n, c = nouns[i % len(nouns)], colors[i % len(colors)]
    q, a = f"What is the color of the {n}?", f"Certainly! The {n} is {c}."
    if fmt:
        return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
    return {"instruction": "", "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}
with open(f"{d}/train.jsonl", "w") as f:
    for i in range(40):
        f.write(json.dumps(convo(i, i % 2)) + "\n")
with open(f"{d}/valid.jsonl", "w") as f:
    for i in range(40, 48):
        f.write(json.dumps(convo(i, i % 2)) + "\n")
with open(f"{d}/bad.jsonl", "w") as f:
    f.write(json.dumps(convo(0, 0)) + "\n\n")
    f.write('{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant" "content": "x"}]}\n')
EOF

ft="-load $tmp/pre -train_data_path $tmp/train.jsonl -valid_data_path $tmp/valid.jsonl -chat_template chatml
  -seq_length 64 -max_position_embeddings 64 -micro_batch_size 2 -global_batch_size 8 -train_iters 20 -lr 2e-3
  -lr_decay_style linear -lr_warmup_fraction 0.1 -min_lr 0 -eval_interval 2 -eval_iters 1 -log_interval 1 -seed 5"
run() { # name np options...
  name=$1 np=$2; shift 2
  timeout 600 $MPIEXEC -np "$np" "$bin/flagscale-finetune" $ft -metrics_file "$tmp/$name.jsonl" "$@" \
    > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; echo "FAIL: $name"; exit 1; }
}
run np1 1 -save "$tmp/sft"
grep -E "fine-tuning data|loading checkpoint" "$tmp/np1.log"
$PYTHON "$check" falls "$tmp/np1.jsonl" || exit 1
run dp2 2
run tp2 2 -tensor_model_parallel_size 2
run pp2 2 -pipeline_model_parallel_size 2
$PYTHON "$check" same "$tmp/np1.jsonl" "$tmp/dp2.jsonl" 1e-5 || exit 1
$PYTHON "$check" same "$tmp/np1.jsonl" "$tmp/tp2.jsonl" 1e-5 || exit 1
$PYTHON "$check" same "$tmp/np1.jsonl" "$tmp/pp2.jsonl" 1e-5 || exit 1

# 3. preemption: stop at iteration 10, run again: resumes from -save, same losses as the straight run
run part1 1 -save "$tmp/sft2" -exit_interval 10
run part2 1 -save "$tmp/sft2"
grep -q "resuming this fine-tuning run" "$tmp/part2.log" || { cat "$tmp/part2.log"; echo "FAIL: no resume"; exit 1; }
cat "$tmp/part1.jsonl" "$tmp/part2.jsonl" > "$tmp/parts.jsonl"
$PYTHON "$check" same "$tmp/np1.jsonl" "$tmp/parts.jsonl" 0 || exit 1

# 4. the fine-tuned checkpoint names its tokenizer and loads for inference
[ -f "$tmp/sft/latest_checkpointed_iteration.txt" ] || { echo "FAIL: no checkpoint saved"; exit 1; }

# 5. errors: a malformed line (line 3), a model option that disagrees with the checkpoint, no -load
if $MPIEXEC -np 1 "$bin/flagscale-finetune" $ft -train_data_path "$tmp/bad.jsonl" > "$tmp/bad.log" 2>&1; then
  echo "FAIL: a malformed line was accepted"; exit 1
fi
grep -q "bad.jsonl:3: not valid JSON" "$tmp/bad.log" || { cat "$tmp/bad.log"; echo "FAIL: no line number"; exit 1; }
grep "bad.jsonl:3" "$tmp/bad.log" | head -n 1
if $MPIEXEC -np 1 "$bin/flagscale-finetune" $ft -hidden_size 64 > "$tmp/dis.log" 2>&1; then
  echo "FAIL: -hidden_size 64 accepted for a hidden-32 checkpoint"; exit 1
fi
grep -q "disagrees with the checkpoint" "$tmp/dis.log" || { cat "$tmp/dis.log"; echo "FAIL: disagreement message"; exit 1; }

# 6. the shipped SFT option files: every option is one flagscale-finetune knows; the demo recipe trains
help=$("$bin/flagscale-finetune" -help) || { echo "FAIL: -help"; exit 1; }
for f in aquila-34b-sft.opts demo-sft.opts; do
  for opt in $(grep -o '^-[a-z_0-9]*' "$FLAGSCALE_DATA_DIR/configs/$f"); do
    echo "$help" | grep -q -- "^  $opt " || { echo "FAIL: $f: $opt is not an option of flagscale-finetune"; exit 1; }
  done
done
$MPIEXEC -np 1 "$bin/flagscale-finetune" -options_file "$FLAGSCALE_DATA_DIR/configs/demo-sft.opts" -load "$tmp/pre" \
  -train_data_path "$tmp/train.jsonl" -valid_data_path "$tmp/valid.jsonl" -train_iters 2 -eval_interval 1 \
  -seq_length 64 -max_position_embeddings 64 \
  > "$tmp/demo.log" 2>&1 || { cat "$tmp/demo.log"; echo "FAIL: demo-sft.opts"; exit 1; }
grep -q "validation loss at iteration 2" "$tmp/demo.log" || { cat "$tmp/demo.log"; echo "FAIL: demo-sft.opts"; exit 1; }
echo "ok"
