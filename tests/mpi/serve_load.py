"""serve_load.py URL PID SECONDS OUT.json -- a load test of flagscale-serve on loopback (stdlib only): 32 client
threads for SECONDS mix /v1/completions, streamed /v1/chat/completions (some n = 2 with logprobs), /batch_func
with 1-3 prompts, GET /health and /metrics, and bad requests (malformed JSON, a missing field, a value out of
range, an unknown path).
Checks: every reply has the status its request calls for (200, or 400/404 for the bad ones; 503 only when the
queue is full -- the documented overload reply, with Retry-After: 1; 400 for more prompts than the queue holds), streams end with [DONE], no connection fails, the server's
/metrics counts the same 5xx replies as the clients saw, and its resident memory (VmRSS, sampled after a warm-up,
in the middle and at the end) stays bounded: the end is at most the warm-up's + 64 MiB.  Why that bound: after
the warm-up every buffer the server keeps has reached its working size (the KV cache blocks in use, the
connection threads, the engine's results until -engine_recycle recreates it); what the requests of the run add is
transient.  A leak of even 1 KiB per request would pass it only below ~65000 requests, several times what a run
makes, so the margin is explicit.  Writes requests/s and latency percentiles to OUT.json and prints them."""
import http.client
import json
import os
import random
import sys
import threading
import time

url, pid, seconds, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
host, port = url.split("//")[1].split(":")
port = int(port)
N_CLIENTS = 32
lock = threading.Lock()
lat = {}           # kind -> [seconds]
errors = []        # what went wrong
n503 = [0]
tokens = [0]


def rss_kib():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request(conn, method, path, body):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status == 503 and r.getheader("Retry-After") != "1":
        with lock:
            errors.append("%s %s: 503 without Retry-After: 1" % (method, path))
    return r.status, r.read()


def one(conn, rng):
    """one request of a random kind: (kind, ok, status)"""
    k = rng.random()
    if k < 0.3:
        kind = "completions"
        st, b = request(conn, "POST", "/v1/completions", json.dumps({
            "prompt": "The state of the union %d" % rng.randrange(1000), "max_tokens": rng.randrange(1, 12),
            "temperature": rng.choice([0, 0.7, 1.0]), "seed": rng.randrange(100), "logprobs": rng.choice([None, 2])}))
        ok = st == 503 or (st == 200 and json.loads(b)["choices"][0]["finish_reason"] in ("stop", "length"))
        if st == 200:
            tokens[0] += json.loads(b)["usage"]["completion_tokens"]
    elif k < 0.55:
        kind = "chat_stream"
        extra = rng.choice([{}, {"n": 2, "logprobs": True, "top_logprobs": 2}])  # streamed logprobs, 2 choices
        st, b = request(conn, "POST", "/v1/chat/completions", json.dumps(dict({
            "messages": [{"role": "user", "content": "Tonight %d" % rng.randrange(1000)}],
            "max_tokens": rng.randrange(1, 12), "stream": True, "seed": rng.randrange(100)}, **extra)))
        ok = st == 503 or (st == 200 and b.endswith(b"data: [DONE]\n\n"))
    elif k < 0.8:
        kind = "batch_func"
        n = rng.randrange(1, 4)
        st, b = request(conn, "POST", "/batch_func", json.dumps({
            "prompt": ["We must %d" % rng.randrange(1000) for _ in range(n)], "max_new_tokens": rng.randrange(0, 10),
            "temperature": 1.0, "seed": rng.randrange(100)}))
        ok = st == 503 or (st == 200 and len(json.loads(b)["completions"]) == n)
    elif k < 0.9:
        kind = "bad"
        path, body, want = rng.choice([("/batch_func", '{"prompt": "x", "max_new', 400),
                                       ("/batch_func", '{"prompt": "x y z"}', 400),
                                       ("/v1/completions", '{"prompt": "x", "top_p": 3}', 400),
                                       ("/v1/chat/completions", '{"messages": []}', 400),
                                       ("/batch_func", json.dumps({"prompt": ["x"] * 49, "max_new_tokens": 0}), 400),
                                       ("/no/such/path", "{}", 404)])
        st, b = request(conn, "POST", path, body)
        ok = st == want and "message" in json.loads(b)["error"]
    else:
        kind = "get"
        st, b = request(conn, "GET", rng.choice(["/health", "/metrics", "/v1/models"]), None)
        ok = st == 200
    return kind, ok, st


def client(i, until):
    rng = random.Random(i)
    conn = http.client.HTTPConnection(host, port, timeout=60)
    while time.time() < until:
        t0 = time.time()
        try:
            kind, ok, st = one(conn, rng)
        except Exception as e:  # a refused or broken connection is a failure
            with lock:
                errors.append("client %d: %r" % (i, e))
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=60)
            continue
        dt = time.time() - t0
        with lock:
            lat.setdefault(kind, []).append(dt)
            if st == 503:
                n503[0] += 1
            if not ok:
                errors.append("client %d: %s -> %d" % (i, kind, st))
        if st == 503:  # overloaded: back off as a client should
            time.sleep(0.05)
    conn.close()


def run(secs):
    until = time.time() + secs
    ts = [threading.Thread(target=client, args=(i, until)) for i in range(N_CLIENTS)]
    for t in ts:
        t.start()
    return ts


# warm-up (a quarter of the time), then the measured run with RSS in the middle
for t in run(max(1.0, seconds / 4)):
    t.join()
lat.clear()
rss = [rss_kib()]
t0 = time.time()
ts = run(seconds)
time.sleep(seconds / 2)
rss.append(rss_kib())
for t in ts:
    t.join()
wall = time.time() - t0
rss.append(rss_kib())
conn = http.client.HTTPConnection(host, port, timeout=60)
st, met = request(conn, "GET", "/metrics", None)
m5 = [l for l in met.decode().splitlines() if l.startswith('flagscale_request_errors_total{class="5xx"}')]
server5xx = int(m5[0].split()[-1]) if m5 else -1


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))] if xs else 0.0


n = sum(len(v) for v in lat.values())
res = {"clients": N_CLIENTS, "seconds": round(wall, 2), "requests": n, "requests_per_s": round(n / wall, 1),
       "generated_tokens_per_s": round(tokens[0] / wall, 1), "n_503": n503[0], "server_5xx": server5xx,
       "rss_mib": [round(r / 1024.0, 1) for r in rss], "errors": errors[:20],
       "latency_ms": {k: {"n": len(v), "p50": round(1e3 * pct(v, 50), 1), "p99": round(1e3 * pct(v, 99), 1)}
                      for k, v in sorted(lat.items())}}
with open(out, "w") as f:
    json.dump(res, f, indent=1)
print(json.dumps(res, indent=1))
failures = []
if errors:
    failures.append("%d failed requests, e.g. %s" % (len(errors), errors[:3]))
if server5xx != n503[0]:
    failures.append("the server counts %d 5xx replies, the clients saw %d (all 503)" % (server5xx, n503[0]))
if n < 100:
    failures.append("only %d requests in %.1f s" % (n, wall))
if os.environ.get("FS_LOAD_RSS_CHECK", "1") != "0" and rss[2] > rss[0] + 64 * 1024:
    failures.append("RSS grew from %.1f to %.1f MiB" % (rss[0] / 1024.0, rss[2] / 1024.0))
for f in failures:
    print("FAIL " + f)
print("ok" if not failures else "FAILED")
sys.exit(1 if failures else 0)
