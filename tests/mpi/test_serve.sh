#!/bin/sh
# test_serve.sh -- flagscale-serve end to end over HTTP on 127.0.0.1 (a free port): a tiny checkpoint is trained,
# prompted through flagscale-infer, then served: /health; /batch_func (plain and double-encoded bodies) gives
# flagscale-infer's tokens (greedy and seeded sampling) and scoring log-probabilities; /stream_func chunks
# concatenate to the batch text; PUT /api; /v1/completions and /v1/chat/completions with and without streaming
# (streamed logprobs, n = 2 and stop strings included, equal the non-streamed ones);
# top_logprobs (completions and chat) are the true top-N of the checkpoint's logits (logits_tool), in order;
# concurrent requests equal their one-at-a-time results; bad input gives 400/404 with a JSON error; /metrics
# counts the requests; a client that goes away (streaming or not) is cancelled (cache freed); SIGTERM during a request
# finishes it, then ends the server with status 0.  Checks in tests/mpi/serve_check.py and serve_drain.py.
# FS_SERVE_NP=2 (test_serve_tp.sh): the server runs tensor-parallel on 2 ranks, the references on 1.
command -v curl > /dev/null || { echo "SKIP: curl not found"; exit 77; }
"$PYTHON" -c 'import json, socket' 2>/dev/null || { echo "SKIP: $PYTHON cannot run"; exit 77; }
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
fail() { echo "FAIL: $*"; [ -f "$tmp/serve.log" ] && tail -20 "$tmp/serve.log"; exit 1; }
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin/flagscale-pretrain" $tiny -train_iters 30 -lr 1e-2 -min_lr 1e-2 -init_method_std 0.3 -save "$tmp/ckpt" > "$tmp/train.log" 2>&1 || {
  cat "$tmp/train.log"; exit 1; }
# reference: flagscale-infer, one prompt per line (each alone is what the server's answers must equal)
cat > "$tmp/p.jsonl" <<'P'
{"prompt": "The state of the union", "temperature": 0}
{"prompt": "We must", "seed": 7, "top_k": 50, "top_p": 0.95, "temperature": 1.0}
{"prompt": "Our economy is strong", "max_new_tokens": 0}
{"prompt": "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.\n\n### Human: Tonight\n### Assistant: ", "max_new_tokens": 0}
P
i=0
while read -r line; do
  i=$((i + 1)); printf "%s\n" "$line" > "$tmp/p$i.jsonl"
  "$bin/flagscale-infer" -load "$tmp/ckpt" -prompts_file "$tmp/p$i.jsonl" -max_new_tokens 12 -output "$tmp/infer$i.jsonl" \
    > "$tmp/infer.log" 2>&1 || { cat "$tmp/infer.log"; fail "flagscale-infer"; }
done < "$tmp/p.jsonl"
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
np=${FS_SERVE_NP:-1}
launch=
[ "$np" -gt 1 ] && launch="$MPIEXEC -n $np"
$launch "$bin/flagscale-serve" -load "$tmp/ckpt" -host 127.0.0.1 -port "$port" -model_name tiny > "$tmp/serve.log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
n=0
until curl -sf "$url/health" > "$tmp/health.json" 2>/dev/null; do
  n=$((n + 1)); [ $n -gt 100 ] && fail "server not up after 20 s"
  kill -0 $pid 2>/dev/null || fail "server exited"
  sleep 0.2
done
o="$tmp/out"; mkdir -p "$o"
post() { curl -s -o "$o/$1" -w '%{http_code}' -X "${3:-POST}" "$url$2" -H 'Content-Type: application/json' -d @-; }
A='"prompt": "The state of the union", "max_new_tokens": 12, "temperature": 0'
B='"prompt": "We must", "max_new_tokens": 12, "seed": 7, "top_k_per_token": 50, "top_p": 0.95, "temperature": 1.0'
echo "{$A}" | post batch_a.json /batch_func > /dev/null
"$PYTHON" -c 'import json, sys; print(json.dumps(sys.stdin.read()))' <<EOF2 | post batch_a2.json /batch_func > /dev/null
{$A}
EOF2
echo "{$B}" | post batch_b.json /batch_func > /dev/null
echo '{"prompt": ["Our economy is strong"], "max_new_tokens": 0}' | post score.json /batch_func > /dev/null
echo '{"prompt": "Tonight", "max_new_tokens": 0, "sft": true}' | post score_sft.json /batch_func > /dev/null
echo "{$A}" | curl -s --raw -N -X POST "$url/stream_func" -d @- > "$o/stream_raw.txt"
echo '{"prompts": ["The state of the union"], "tokens_to_generate": 12, "temperature": 0, "logprobs": true}' |
  post api.json /api PUT > /dev/null
C='"prompt": "The state of the union", "max_tokens": 12, "temperature": 0'
echo "{$C}" | post cmpl.json /v1/completions > /dev/null
echo "{$C, \"stream\": true}" | curl -s -N -X POST "$url/v1/completions" -d @- > "$o/cmpl_stream.txt"
M='"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tonight"}], "max_tokens": 10, "temperature": 0.8, "seed": 3'
echo "{$M}" | post chat.json /v1/chat/completions > /dev/null
echo "{$M, \"stream\": true}" | curl -s -N -X POST "$url/v1/chat/completions" -d @- > "$o/chat_stream.txt"
curl -s -o "$o/models.json" "$url/v1/models"
# streamed logprobs == non-streamed ones: seeded sampling, n = 2, stop strings that hold text back (and match)
L='"prompt": "The state of the union", "max_tokens": 12, "temperature": 0.9, "seed": 11, "n": 2, "logprobs": 3, "stop": [" dangerous wx", " a province"]'
echo "{$L}" | post cmpl_lp.json /v1/completions > /dev/null
echo "{$L, \"stream\": true}" | curl -s -N -X POST "$url/v1/completions" -d @- > "$o/cmpl_lp_stream.txt"
echo "{$M, \"n\": 2, \"logprobs\": true, \"top_logprobs\": 2}" | post chat_lp.json /v1/chat/completions > /dev/null
echo "{$M, \"n\": 2, \"logprobs\": true, \"top_logprobs\": 2, \"stream\": true}" |
  curl -s -N -X POST "$url/v1/chat/completions" -d @- > "$o/chat_lp_stream.txt"
# top_logprobs: the server's alternatives against the checkpoint's own logits (logits_tool on prompt + greedy ids)
echo "{$C, \"logprobs\": 5}" | post cmpl_top.json /v1/completions > /dev/null
M0='"messages": [{"role": "user", "content": "Tonight"}], "max_tokens": 6, "temperature": 0'
echo "{$M0, \"logprobs\": true, \"top_logprobs\": 3}" | post chat_top.json /v1/chat/completions > /dev/null
ids=$("$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(",".join(map(str, r["prompt_ids"] + r["tokens"])))' \
  "$tmp/infer1.jsonl")
"${top_builddir:-.}/tests/ref/logits_tool" -load "$tmp/ckpt" -tokens "$ids" -out "$tmp/a.logits" > "$tmp/tool.log" 2>&1 ||
  { cat "$tmp/tool.log"; fail "logits_tool"; }
echo "$ids" > "$tmp/a.ids"
# concurrency: one at a time, then all at once in the background
for k in 1 2 3 4 5 6; do
  echo "{\"prompt\": \"Prompt number $k of the union\", \"max_new_tokens\": 16, \"seed\": $k, \"temperature\": 1.0}" > "$o/c$k.req"
  post "seq$k.json" /batch_func < "$o/c$k.req" > /dev/null
done
t0=$("$PYTHON" -c 'import time; print(time.time())')
pids=
for k in 1 2 3 4 5 6; do post "par$k.json" /batch_func < "$o/c$k.req" > "$o/par$k.code" & pids="$pids $!"; done
wait $pids
"$PYTHON" -c "import time; print('6 concurrent requests (16 tokens each): %.3f s' % (time.time() - $t0))"
# errors
echo '{"prompt": "x", "max_new' | post err_json.json /batch_func > "$o/err_json.code"
echo '{"prompt": "x y z"}' | post err_missing.json /batch_func > "$o/err_missing.code"
echo '{"prompt": "x y z", "max_new_tokens": 3, "top_p": 3}' | post err_range.json /batch_func > "$o/err_range.code"
echo '[1, 2]' | post err_type.json /v1/completions > "$o/err_type.code"
echo "{$M0, \"top_logprobs\": 3}" | post err_top.json /v1/chat/completions > "$o/err_top.code"
echo "{$C, \"logprobs\": 21}" | post err_top2.json /v1/completions > "$o/err_top2.code"
echo "{$C, \"echo\": true, \"stream\": true}" | post err_echo.json /v1/completions > "$o/err_echo.code"
"$PYTHON" -c 'import json; print(json.dumps({"prompt": ["x"] * 257, "max_new_tokens": 0}))' |  # > -max_queue 256
  post err_queue.json /batch_func > "$o/err_queue.code"
curl -s -o "$o/err_path.json" -w '%{http_code}' "$url/no/such/path" > "$o/err_path.code"
curl -s -o "$o/health2.json" "$url/health"
curl -s -o "$o/metrics.txt" "$url/metrics"
"$PYTHON" "${top_srcdir:-.}/tests/mpi/serve_check.py" "$tmp" || fail "checks"
[ "$np" -eq 1 ] || grep -q "$np tensor-parallel ranks" "$tmp/serve.log" || fail "not tensor-parallel on $np ranks"
rank0=$(sed -n 's/.*listening on .*; pid \([0-9]*\)).*/\1/p' "$tmp/serve.log")
[ -n "$rank0" ] || fail "no pid in the log"
# cancellation, then SIGTERM to rank 0 during a request (mpirun would kill the job on a signal)
"$PYTHON" "${top_srcdir:-.}/tests/mpi/serve_drain.py" "$url" "$rank0" || fail "cancel / drain checks"
n=0
while kill -0 $pid 2>/dev/null; do n=$((n + 1)); [ $n -gt 100 ] && fail "server still running 10 s after SIGTERM"; sleep 0.1; done
wait $pid; rc=$?
pid=
[ $rc -eq 0 ] || fail "server exit status $rc after SIGTERM"
grep -q 'bye' "$tmp/serve.log" || fail "no orderly shutdown in the log"
grep -q '(2 cancelled' "$tmp/serve.log" || fail "the log does not count the 2 cancelled requests"
echo "ok"
