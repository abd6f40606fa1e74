"""serve_drain.py URL PID -- cancellation and shutdown of a running flagscale-serve (stdlib only):
1. a streaming client that goes away after a few events, then a client of a (non-streaming) completion that goes
   away while it runs: /metrics soon shows each request cancelled, nothing running and every KV cache block free
   (the engine did not generate their 100000 tokens);
2. SIGTERM to PID (rank 0) while a 2000-token request runs: that request is still answered in full."""
import http.client
import json
import os
import re
import signal
import sys
import threading
import time
from urllib.parse import urlparse

u = urlparse(sys.argv[1])
pid = int(sys.argv[2])
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def request(method, path, body=None, timeout=120):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    return c, c.getresponse()


def metrics():
    c, r = request("GET", "/metrics")
    text = r.read().decode()
    c.close()
    get = lambda pat: float(re.search(pat, text).group(1))
    return {"cancelled": get(r"flagscale_cancelled_total (\d+)"),
            "running": get(r"flagscale_running_sequences (\d+)"),
            "used": get(r'flagscale_kv_cache_blocks\{state="used"\} (\d+)'),
            "generated": get(r"flagscale_generated_tokens_total (\d+)")}


def wait_cancelled(before, what):
    t0 = time.time()
    m = metrics()
    while time.time() - t0 < 20 and (m["cancelled"] == before["cancelled"] or m["running"] or m["used"]):
        time.sleep(0.05)
        m = metrics()
    check(m["cancelled"] == before["cancelled"] + 1, "%s: its request is cancelled (%.2f s)" % (what, time.time() - t0))
    check(m["running"] == 0 and m["used"] == 0, "nothing runs and the KV cache is free again (%d blocks used)" %
          m["used"])
    check(m["generated"] - before["generated"] < 100000, "the cancelled request stopped early (%d tokens)" %
          (m["generated"] - before["generated"]))


long = {"prompt": "The state of the union", "max_tokens": 100000, "temperature": 1.0, "seed": 5,
        "ignore_eos": True, "stream": True}
before = metrics()
c, r = request("POST", "/v1/completions", long)
events = 0
while events < 3:
    line = r.readline()
    if not line:
        check(False, "the stream ended before 3 events")
        break
    events += line.startswith(b"data: ")
c.sock.shutdown(2)
c.close()
wait_cancelled(before, "a streaming client that went away")

before = metrics()
long["stream"] = False
c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
c.request("POST", "/v1/completions", body=json.dumps(long), headers={"Content-Type": "application/json"})
t0 = time.time()
while time.time() - t0 < 20 and not metrics()["running"]:
    time.sleep(0.02)
c.sock.shutdown(2)
c.close()
wait_cancelled(before, "a client that went away while its completion ran")

# SIGTERM while a request runs: it is answered in full, then the server exits (the caller checks the status)
reply = {}


def run():
    c, r = request("POST", "/v1/completions", {"prompt": "We must", "max_tokens": 2000, "temperature": 1.0,
                                               "ignore_eos": True}, timeout=300)
    reply["status"], reply["body"] = r.status, json.loads(r.read())


th = threading.Thread(target=run)
th.start()
t0 = time.time()
while time.time() - t0 < 20 and not metrics()["running"]:
    time.sleep(0.02)
os.kill(pid, signal.SIGTERM)
th.join()
check(reply.get("status") == 200 and reply["body"]["usage"]["completion_tokens"] == 2000 and
      reply["body"]["choices"][0]["finish_reason"] == "length",
      "SIGTERM during a request: it is finished (%s)" % (reply.get("body", {}).get("usage")))
sys.exit(1 if failures else 0)
