#!/bin/sh
# test_serve_load.sh -- flagscale-serve under load on 127.0.0.1: a tiny checkpoint is trained and served with a small
# queue (-max_queue 48, so overload answers 503) and a frequent engine recycle; 32 clients then run for
# FS_LOAD_SECONDS (default 8) after a warm-up (tests/mpi/serve_load.py: statuses, streams, /metrics agreement,
# bounded memory; the numbers go to the log); the server must then still answer and exit 0 on SIGTERM.
"$PYTHON" -c 'import json, http.client, threading' 2>/dev/null || { echo "SKIP: $PYTHON cannot run"; exit 77; }
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
fail() { echo "FAIL: $*"; [ -f "$tmp/serve.log" ] && tail -20 "$tmp/serve.log"; exit 1; }
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin/flagscale-pretrain" $tiny -train_iters 10 -init_method_std 0.3 -save "$tmp/ckpt" > "$tmp/train.log" 2>&1 || {
  cat "$tmp/train.log"; exit 1; }
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/flagscale-serve" -load "$tmp/ckpt" -host 127.0.0.1 -port "$port" -max_queue 48 -engine_recycle 100 \
  -kv_cache_mb 16 > "$tmp/serve.log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
"$PYTHON" -c '
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1] + "/health", timeout=2).read(); sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)' "$url" || fail "server not up after 20 s"
# a sanitizer build keeps freed memory in quarantine: its RSS says nothing about leaks
rss_check=1
ldd "$bin/flagscale-serve" 2>/dev/null | grep -q 'libasan' && rss_check=0
FS_LOAD_RSS_CHECK=$rss_check "$PYTHON" "${top_srcdir:-.}/tests/mpi/serve_load.py" "$url" "$pid" \
  "${FS_LOAD_SECONDS:-8}" "$tmp/load.json" || fail "load test"
kill -0 $pid 2>/dev/null || fail "server died"
kill -TERM $pid
n=0
while kill -0 $pid 2>/dev/null; do n=$((n + 1)); [ $n -gt 100 ] && fail "server still running 10 s after SIGTERM"; sleep 0.1; done
wait $pid; rc=$?
pid=
[ $rc -eq 0 ] || fail "server exit status $rc after SIGTERM"
echo "ok"
