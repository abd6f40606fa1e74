#!/bin/sh
# test_pack.sh -- packed sequences (flagscale-finetune -pack_sequences).
#  1. test_pack_model (np 2): packed loss and gradients equal the same documents one per row, no leak between
#     documents of a row, recomputation bit-identical, TP 2 (+ SP) equal TP 1, bad positions refused.
#  2. flagscale-finetune on conversations of varied length packed into -seq_length 256 (a tiny model pretrained
#     here): the packing efficiency is reported and beats one conversation per sample; the loss falls; 1 rank,
#     DP 2, TP 2 and PP 2 give the same losses within 1e-5.
#  3. One micro-batch holding the whole data set: the first training loss packed equals unpacked (1e-6): the
#     same per-token mean over the same trained tokens, now several conversations to a row.
#  4. Validation is never packed: packed and unpacked training runs with -lr 0 report equal validation losses.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
check=${top_srcdir:-.}/tests/mpi/test_sft_check.py
model=${top_builddir:-.}/tests/mpi/test_pack_model
timeout 300 $MPIEXEC -np 2 "$model" > "$tmp/model.log" 2>&1 \
  || { cat "$tmp/model.log"; echo "FAIL: test_pack_model"; exit 1; }
grep "worst relative" "$tmp/model.log"

timeout 600 $MPIEXEC -np 1 "$bin/flagscale-pretrain" $tiny -global_batch_size 8 -train_iters 30 -lr 3e-3 \
  -lr_warmup_iters 3 -eval_iters 0 -save "$tmp/pre" > "$tmp/pre.log" 2>&1 \
  || { cat "$tmp/pre.log"; echo "FAIL: pretrain"; exit 1; }

# conversations of 1 to 3 turns: "What is the color of the NOUN?" -> "The NOUN is COLOR."
$PYTHON - "$tmp" <<'PY' || exit 1
import json, sys
d = sys.argv[1]
nouns = ["sky", "grass", "sun", "snow", "night", "blood", "sea", "leaf", "coal", "milk", "rose", "lemon"]
colors = ["blue", "green", "yellow", "white", "black", "red"]
def convo(i):
    msgs = []
    for k in range(1 + i % 3):
        n, c = nouns[(i + 5 * k) % len(nouns)], colors[(i + k) % len(colors)]
        msgs += [{"role": "user", "content": f"What is the color of the {n}?"},
                 {"role": "assistant", "content": f"The {n} is {c}."}]
    return {"messages": msgs}
for name, lo, hi in (("train", 0, 30), ("valid", 30, 36)):
    with open(f"{d}/{name}.jsonl", "w") as f:
        for i in range(lo, hi):
            f.write(json.dumps(convo(i)) + "\n")
PY

ft="-load $tmp/pre -train_data_path $tmp/train.jsonl -valid_data_path $tmp/valid.jsonl -chat_template chatml
  -seq_length 256 -max_position_embeddings 256 -log_interval 1 -seed 5"
run() { # name np options...
  name=$1 np=$2; shift 2
  timeout 600 $MPIEXEC -np "$np" "$bin/flagscale-finetune" $ft -metrics_file "$tmp/$name.jsonl" "$@" \
    > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; echo "FAIL: $name"; exit 1; }
}
train="-micro_batch_size 2 -global_batch_size 4 -train_iters 12 -lr 8e-3 -lr_decay_style linear
  -lr_warmup_fraction 0.1 -min_lr 0 -eval_interval 4 -eval_iters 1 -pack_sequences"
run np1 1 $train
grep "packing:" "$tmp/np1.log" || { cat "$tmp/np1.log"; echo "FAIL: no packing report"; exit 1; }
$PYTHON - "$tmp/np1.log" <<'PY' || exit 1
import re, sys
m = re.search(r"(\d+) training conversations in (\d+) samples .* efficiency ([\d.]+)% .*; ([\d.]+)% unpacked",
              open(sys.argv[1]).read())
docs, samples, eff, unpacked = int(m[1]), int(m[2]), float(m[3]), float(m[4])
ok = samples < docs and eff > 1.5 * unpacked and eff <= 100
print(f"{docs} conversations in {samples} packed samples: efficiency {eff}% (unpacked {unpacked}%)"
      + ("" if ok else " FAIL"))
sys.exit(0 if ok else 1)
PY
$PYTHON "$check" falls "$tmp/np1.jsonl" || exit 1
run dp2 2 $train
run tp2 2 $train -tensor_model_parallel_size 2 -sequence_parallel
run pp2 2 $train -pipeline_model_parallel_size 2
for l in dp2 tp2 pp2; do $PYTHON "$check" same "$tmp/np1.jsonl" "$tmp/$l.jsonl" 1e-5 || exit 1; done

# 3. the whole data set in one micro-batch: packed rows vs one conversation per row
n_packed=$(sed -n 's/.*training conversations in \([0-9]*\) samples.*/\1/p' "$tmp/np1.log")
one="-train_iters 1 -lr 1e-3 -eval_iters 0"
run whole_packed 1 $one -micro_batch_size "$n_packed" -global_batch_size "$n_packed" -pack_sequences
run whole_plain 1 $one -micro_batch_size 30 -global_batch_size 30
$PYTHON "$check" first "$tmp/whole_packed.jsonl" "$tmp/whole_plain.jsonl" 1e-6 || exit 1

# 4. validation is the same whether training packs or not
lr0="-micro_batch_size 2 -global_batch_size 4 -train_iters 2 -lr 0 -min_lr 0 -eval_interval 1 -eval_iters 2"
run valid_packed 1 $lr0 -pack_sequences
run valid_plain 1 $lr0
$PYTHON "$check" valid "$tmp/valid_packed.jsonl" "$tmp/valid_plain.jsonl" 0 || exit 1
echo ok
