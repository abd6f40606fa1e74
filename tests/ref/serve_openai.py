"""serve_openai.py -- the `openai` Python client against flagscale-serve: a tiny checkpoint is trained, the server
started on a free 127.0.0.1 port, then completions, chat completions (with top_logprobs) and both streamed go through the client
(the streamed text and logprobs must equal the non-streamed ones).  Skips (77) without the openai module."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import openai
except ImportError:
    print("SKIP: the openai module is not installed for %s (pip install openai)" % sys.executable)
    sys.exit(77)

src = os.environ.get("top_srcdir", ".")
bin_dir = os.path.join(os.environ.get("top_builddir", "."), "apps")
os.environ["FLAGSCALE_DATA_DIR"] = os.path.join(src, "share", "flagscale")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(args, log):
    with open(log, "w") as f:
        if subprocess.call(args, stdout=f, stderr=subprocess.STDOUT):
            print(open(log).read())
            sys.exit(1)


with tempfile.TemporaryDirectory() as tmp:
    docs = os.path.join(tmp, "docs.jsonl")
    with open(docs, "wb") as f:
        xz = subprocess.run(["xz", "-dc", os.path.join(src, "share/flagscale/data/sotu.jsonl.xz")],
                            stdout=subprocess.PIPE, check=True).stdout
        f.write(b"\n".join(xz.split(b"\n")[:40]) + b"\n")
    run([bin_dir + "/flagscale-preprocess", "-input", docs, "-output_prefix", tmp + "/docs", "-append_eod",
         "-log_interval", "0"], tmp + "/pre.log")
    run([bin_dir + "/flagscale-pretrain", "-data_path", tmp + "/docs_text_document", "-data_cache_path",
         tmp + "/cache", "-num_layers", "2", "-hidden_size", "32", "-num_attention_heads", "4",
         "-num_query_groups", "2", "-seq_length", "32", "-micro_batch_size", "2", "-log_interval", "1", "-seed",
         "7", "-train_iters", "10", "-init_method_std", "0.3", "-save", tmp + "/ckpt"], tmp + "/train.log")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(tmp + "/serve.log", "w")
    srv = subprocess.Popen([bin_dir + "/flagscale-serve", "-load", tmp + "/ckpt", "-host", "127.0.0.1", "-port",
                            str(port), "-model_name", "tiny"], stdout=log, stderr=subprocess.STDOUT)
    try:
        base = "http://127.0.0.1:%d" % port
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/health", timeout=2).read()
                break
            except OSError:
                if srv.poll() is not None:
                    break
                time.sleep(0.2)
        client = openai.OpenAI(base_url=base + "/v1", api_key="none", timeout=60, max_retries=0)
        check([m.id for m in client.models.list()] == ["tiny"], "models.list")
        c = client.completions.create(model="tiny", prompt="The state of the union", max_tokens=12, temperature=0)
        check(c.choices[0].finish_reason in ("stop", "length") and c.usage.completion_tokens >= 1,
              "completions.create: %r" % c.choices[0].text)
        t = "".join(ch.choices[0].text for ch in client.completions.create(
            model="tiny", prompt="The state of the union", max_tokens=12, temperature=0, stream=True))
        check(t == c.choices[0].text, "streamed completion == completion")
        msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tonight"}]
        r = client.chat.completions.create(model="tiny", messages=msgs, max_tokens=10, temperature=0.7, seed=5)
        check(r.choices[0].message.role == "assistant" and r.usage.prompt_tokens > 0,
              "chat.completions.create: %r" % r.choices[0].message.content)
        t = "".join(ch.choices[0].delta.content or "" for ch in client.chat.completions.create(
            model="tiny", messages=msgs, max_tokens=10, temperature=0.7, seed=5, stream=True) if ch.choices)
        check(t == r.choices[0].message.content, "streamed chat == chat")
        c = client.completions.create(model="tiny", prompt="The state of the union", max_tokens=4, temperature=0,
                                      logprobs=3)
        lp = c.choices[0].logprobs
        check(len(lp.top_logprobs) == len(lp.tokens) and all(len(d) == 3 for d in lp.top_logprobs) and
              all(abs(d[t] - l) < 1e-6 for d, t, l in zip(lp.top_logprobs, lp.tokens, lp.token_logprobs)),
              "completions logprobs=3: 3 alternatives per token, the greedy choice among them")
        r = client.chat.completions.create(model="tiny", messages=msgs, max_tokens=4, temperature=0, logprobs=True,
                                           top_logprobs=2)
        content = r.choices[0].logprobs.content
        check(len(content) >= 1 and all(len(x.top_logprobs) == 2 and x.top_logprobs[0].token == x.token and
                                         x.top_logprobs[0].logprob >= x.top_logprobs[1].logprob for x in content),
              "chat logprobs + top_logprobs=2: the greedy choice first")
        # streamed logprobs (two choices each) == the non-streamed ones, through the client's chunk objects
        kw = dict(model="tiny", prompt="The state of the union", max_tokens=8, temperature=0.9, seed=4, n=2,
                  logprobs=2, stop=[" the"])
        c = client.completions.create(**kw)
        got = {}
        for ch in client.completions.create(stream=True, **kw):
            for x in ch.choices:
                g = got.setdefault(x.index, {"text": "", "tokens": [], "token_logprobs": [], "top_logprobs": [],
                                             "text_offset": []})
                g["text"] += x.text
                for k in ("tokens", "token_logprobs", "top_logprobs", "text_offset"):
                    g[k] += getattr(x.logprobs, k)
        check(all(got[x.index] == dict(text=x.text, **x.logprobs.model_dump()) for x in c.choices) and len(got) == 2,
              "streamed completions logprobs (n = 2) == non-streamed")
        kw = dict(model="tiny", messages=msgs, max_tokens=6, temperature=0.8, seed=9, n=2, logprobs=True,
                  top_logprobs=2)
        r = client.chat.completions.create(**kw)
        got = {}
        for ch in client.chat.completions.create(stream=True, **kw):
            for x in ch.choices:
                got.setdefault(x.index, []).extend(x.logprobs.content if x.logprobs else [])
        check(all([t.model_dump() for t in got[x.index]] == [t.model_dump() for t in x.logprobs.content]
                  for x in r.choices) and len(got) == 2, "streamed chat logprobs.content (n = 2) == non-streamed")
        try:
            client.completions.create(model="tiny", prompt="x", max_tokens=3, top_p=5)
            check(False, "top_p 5 refused")
        except openai.BadRequestError as e:
            check(e.status_code == 400, "top_p 5 -> BadRequestError 400")
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            rc = srv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.kill()
            rc = -1
        log.close()
    check(rc == 0, "server exits 0 on SIGTERM")
    if failures:
        print(open(tmp + "/serve.log").read()[-3000:])
sys.exit(1 if failures else 0)
