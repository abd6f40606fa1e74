"""serve_check.py TMPDIR -- checks the replies test_serve.sh saved in TMPDIR/out against flagscale-infer's
outputs TMPDIR/infer{1,2,3}.jsonl (stdlib only)."""
import json
import math
import os
import re
import sys

tmp = sys.argv[1]
out = os.path.join(tmp, "out")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def load(name):
    with open(os.path.join(out, name), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def infer(i):
    with open(os.path.join(tmp, "infer%d.jsonl" % i)) as f:
        return json.loads(f.readline())


def sse(name):
    """data payloads of a server-sent event stream"""
    with open(os.path.join(out, name), "rb") as f:
        text = f.read().decode("utf-8")
    events = [e for e in text.split("\n\n") if e.strip()]
    assert all(e.startswith("data: ") for e in events), "every event is 'data: ...'"
    return [e[len("data: "):] for e in events]


with open(os.path.join(tmp, "health.json")) as f:
    check(json.load(f)["status"] == "ok", "/health says ok")
ref_a, ref_b, ref_c = infer(1), infer(2), infer(3)
a, a2, b = load("batch_a.json"), load("batch_a2.json"), load("batch_b.json")
ca = a["completions"][0]
check(ca["token_ids"] == ref_a["tokens"], "/batch_func greedy tokens == flagscale-infer's")
check(ca["text"] == ref_a["text"], "/batch_func greedy text == flagscale-infer's")
check(a2["completions"][0]["token_ids"] == ref_a["tokens"], "double-encoded body gives the same tokens")
check(b["completions"][0]["token_ids"] == ref_b["tokens"], "/batch_func seeded sampling == flagscale-infer's")
check(a["input_length"] == ref_a["prompt_tokens"], "input_length is the prompt's token count")
check(len(ca["top_logprobs_dicts"]) == len(ca["tokens"]) and all(v <= 0 for d in ca["top_logprobs_dicts"]
                                                                  for v in d.values()),
      "top_logprobs_dicts: one {token: logprob <= 0} per token")
check(all(abs(x - y) < 1e-4 for x, y in zip(ca["logprobs"], ref_a["logprobs"])), "greedy logprobs match")
check(a["model_info"]["model_name"] == "tiny", "model_info names the model")
s = load("score.json")["completions"][0]
check(s["token_ids"] == ref_c["tokens"] and len(s["logprobs"]) == ref_c["prompt_tokens"] - 1,
      "scoring: the prompt's tokens 1..n-1")
# tensor-parallel servers sum partial products in another order: a few more bits may differ
tol = 1e-6 if os.environ.get("FS_SERVE_NP", "1") == "1" else 1e-5
check(all(abs(x - y) <= tol * max(1, abs(y)) for x, y in zip(s["logprobs"], ref_c["logprobs"])),
      "scoring logprobs == flagscale-infer's scoring (max diff %.2g)" %
      max(abs(x - y) for x, y in zip(s["logprobs"], ref_c["logprobs"])))
s = load("score_sft.json")["completions"][0]
check(s["token_ids"] == infer(4)["tokens"], "sft: the prompt is wrapped in the Aquila template")

# /stream_func: chunked transfer (curl --raw keeps the chunk framing)
with open(os.path.join(out, "stream_raw.txt"), "rb") as f:
    raw = f.read()
chunks, pos = [], 0
while pos < len(raw):
    eol = raw.index(b"\r\n", pos)
    size = int(raw[pos:eol].split(b";")[0], 16)
    if size == 0:
        break
    chunks.append(raw[eol + 2:eol + 2 + size])
    pos = eol + 2 + size + 2
text = b"".join(chunks).decode("utf-8")
check(text == ca["text"], "/stream_func chunks concatenate to the batch text")
# one chunk per generated token whatever the timing (a server that lags behind the engine must not merge them)
if all(t and "\ufffd" not in t for t in ca["tokens"]):
    check([c.decode("utf-8") for c in chunks] == ca["tokens"],
          "/stream_func sent one chunk per token (%d chunks, %d tokens)" % (len(chunks), len(ca["tokens"])))
else:
    print("note: a token is not whole UTF-8 text, the one-chunk-per-token check is skipped")

api = load("api.json")
check(api["text"][0] == "The state of the union" + ca["text"], "PUT /api text = prompt + greedy completion")
check(len(api["segments"][0]) == ref_a["prompt_tokens"] + len(ref_a["tokens"]), "PUT /api segments: all tokens")
check(len(api["logprobs"][0]) == ref_a["prompt_tokens"] - 1 + len(ref_a["tokens"]),
      "PUT /api logprobs: tokens 1..n-1 of prompt + generation")

cm = load("cmpl.json")
check(cm["object"] == "text_completion" and cm["choices"][0]["text"] == ca["text"], "/v1/completions text")
check(cm["usage"]["prompt_tokens"] == ref_a["prompt_tokens"] and cm["usage"]["completion_tokens"] ==
      len(ref_a["tokens"]), "/v1/completions usage")
check(cm["choices"][0]["finish_reason"] in ("stop", "length"), "/v1/completions finish_reason")
ev = sse("cmpl_stream.txt")
check(ev[-1] == "[DONE]", "completion stream ends with [DONE]")
parts = [json.loads(e) for e in ev[:-1]]
check("".join(p["choices"][0]["text"] for p in parts) == ca["text"], "completion stream text == batch text")
check(parts[-1]["choices"][0]["finish_reason"] == cm["choices"][0]["finish_reason"], "stream finish_reason")

ch = load("chat.json")
msg = ch["choices"][0]["message"]
check(ch["object"] == "chat.completion" and msg["role"] == "assistant", "/v1/chat/completions message")
ev = sse("chat_stream.txt")
check(ev[-1] == "[DONE]", "chat stream ends with [DONE]")
parts = [json.loads(e) for e in ev[:-1]]
check(parts[0]["choices"][0]["delta"].get("role") == "assistant", "chat stream starts with the role")
check("".join(p["choices"][0]["delta"].get("content", "") for p in parts) == msg["content"],
      "chat stream content == non-streamed content (same seed)")
check(load("models.json")["data"][0]["id"] == "tiny", "/v1/models lists the model")


def stream_choices(name):
    """{index: [choice of each chunk, in order]} of a stream that ends with [DONE]"""
    ev = sse(name)
    check(ev[-1] == "[DONE]", name + " ends with [DONE]")
    by = {}
    for e in ev[:-1]:
        for c in json.loads(e)["choices"]:
            by.setdefault(c["index"], []).append(c)
    return by


def aligned(texts, counts, ends):
    """each text chunk but a choice's last (which may also carry an end-of-document token, whose bytes are no text)
    releases exactly the tokens whose bytes it completes: counts[i] tokens with chunk i, token t ending at byte
    ends[t] of the text"""
    got, released, ok = b"", 0, True
    last = max([i for i, t in enumerate(texts) if t] or [-1])
    for i, (t, k) in enumerate(zip(texts, counts)):
        got += t.encode("utf-8")
        released += k
        if t and i < last:
            ok &= released == 0 or ends[released - 1] <= len(got)
            ok &= released == len(ends) or ends[released] > len(got)
    return ok and last > 0


cl, by = load("cmpl_lp.json"), stream_choices("cmpl_lp_stream.txt")
check(sorted(by) == [0, 1] and all(sum(c["finish_reason"] is not None for c in by[i]) == 1 for i in by),
      "completions stream n = 2: choices 0 and 1, one finish chunk each")
held = 0
for i, ref in enumerate(cl["choices"]):
    chunks = by.get(i, [])
    lp = {k: [x for c in chunks for x in c["logprobs"][k]] for k in ref["logprobs"]}
    check("".join(c["text"] for c in chunks) == ref["text"] and lp == ref["logprobs"] and
          chunks[-1]["finish_reason"] == ref["finish_reason"],
          "streamed completion %d: text, tokens, token_logprobs, top_logprobs, text_offset == non-streamed" % i)
    ends = ref["logprobs"]["text_offset"][1:] + [math.inf]  # token t ends where t + 1 starts
    check(aligned([c["text"] for c in chunks], [len(c["logprobs"]["tokens"]) for c in chunks], ends),
          "streamed completion %d: each chunk carries exactly the tokens whose text it completes" % i)
    held += len(chunks[-1]["logprobs"]["tokens"]) if ref["finish_reason"] == "stop" else 0
    held += sum(len(c["logprobs"]["tokens"]) > 1 for c in chunks)
check(held > 0, "the stop strings held text back (tokens released late / with the last chunk)")
cl, by = load("chat_lp.json"), stream_choices("chat_lp_stream.txt")
for i, ref in enumerate(cl["choices"]):
    chunks = by.get(i, [])
    content = [x for c in chunks if c["logprobs"] for x in c["logprobs"]["content"]]
    check("".join(c["delta"].get("content", "") for c in chunks) == ref["message"]["content"] and
          content == ref["logprobs"]["content"] and chunks[0]["delta"].get("role") == "assistant",
          "streamed chat %d: content and logprobs.content (top_logprobs 2) == non-streamed" % i)
    ends = [sum(len(x["bytes"]) for x in content[:t + 1]) for t in range(len(content))]
    check(aligned([c["delta"].get("content", "") for c in chunks],
                  [len(c["logprobs"]["content"]) if c["logprobs"] else 0 for c in chunks], ends),
          "streamed chat %d: each chunk carries exactly the tokens whose text it completes" % i)



def gpt2_texts():
    """id -> text of every GPT-2 token (vocab.json spells bytes with printable characters; invalid UTF-8 becomes
    U+FFFD as in the server's JSON)"""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    dec = {chr(c): b for b, c in zip(bs, cs)}
    with open(os.path.join(os.environ["FLAGSCALE_DATA_DIR"], "tokenizers", "gpt2", "vocab.json")) as f:
        vocab = json.load(f)
    return {i: bytes(dec[ch] for ch in t).decode("utf-8", "replace") for t, i in vocab.items()}


def ref_top(row, n):
    """[(logprob, id)] of the n most likely tokens of a logits row (larger first, lower id on ties)"""
    mx = max(row)
    lse = mx + math.log(sum(math.exp(x - mx) for x in row))
    return sorted(((x - lse, i) for i, x in enumerate(row)), key=lambda p: (-p[0], p[1]))[:n]


import array
n_prompt = len(ref_a["prompt_ids"])
with open(os.path.join(tmp, "a.ids")) as f:
    all_ids = [int(x) for x in f.read().split(",")]
logits = array.array("f")
with open(os.path.join(tmp, "a.logits"), "rb") as f:
    logits.frombytes(f.read())
V = len(logits) // len(all_ids)
texts = gpt2_texts()
lp = load("cmpl_top.json")["choices"][0]["logprobs"]
tol, worst, ok_top = 2e-4, 0.0, True
for t, d in enumerate(lp["top_logprobs"]):
    row = n_prompt - 1 + t  # the row that predicts generated token t
    ref = ref_top(logits[row * V:(row + 1) * V], 8)
    vals = list(d.values())
    ok_top &= len(d) == 5 and all(vals[k] >= vals[k + 1] for k in range(4))
    ok_top &= list(d)[0] == lp["tokens"][t] and abs(vals[0] - lp["token_logprobs"][t]) < 1e-6  # greedy: the choice
    for k, (key, v) in enumerate(d.items()):
        worst = max(worst, abs(v - ref[k][0]))
        # the k-th alternative is the reference's k-th, or one tied with it within the tolerance
        ok_top &= any(texts.get(i) == key and abs(l - v) < tol for l, i in ref if abs(l - ref[k][0]) < tol)
check(ok_top and worst < tol and len(lp["top_logprobs"]) == len(lp["tokens"]),
      "/v1/completions logprobs 5: the true top-5 of the checkpoint's logits in order (max diff %.2g)" % worst)
content = load("chat_top.json")["choices"][0]["logprobs"]["content"]
ok_top = len(content) >= 1
for c in content:
    tl = c["top_logprobs"]
    ok_top &= len(tl) == 3 and tl[0]["token"] == c["token"] and abs(tl[0]["logprob"] - c["logprob"]) < 1e-6
    ok_top &= all(tl[k]["logprob"] >= tl[k + 1]["logprob"] for k in range(2))
    ok_top &= all(bytes(a["bytes"]).decode("utf-8", "replace") == a["token"] for a in tl + [c])
check(ok_top, "chat top_logprobs 3: {token, logprob, bytes}, greedy choice first, in order")

for k in range(1, 7):
    seq, par = load("seq%d.json" % k), load("par%d.json" % k)
    check(seq["completions"][0]["token_ids"] == par["completions"][0]["token_ids"] and
          seq["completions"][0]["text"] == par["completions"][0]["text"],
          "concurrent request %d == its one-at-a-time result" % k)

for name, code in (("err_json", 400), ("err_missing", 400), ("err_range", 400), ("err_type", 400),
                   ("err_top", 400), ("err_top2", 400), ("err_echo", 400), ("err_queue", 400), ("err_path", 404)):
    with open(os.path.join(out, name + ".code")) as f:
        got = int(f.read().strip() or 0)
    body = load(name + ".json")
    check(got == code and "message" in body["error"], "%s -> %d with a JSON error (%s)" %
          (name, code, body["error"]["message"][:60]))
check(load("health2.json")["status"] == "ok", "still healthy after bad input")

with open(os.path.join(out, "metrics.txt")) as f:
    met = f.read()
m = re.search(r'flagscale_requests_total\{endpoint="batch_func"\} (\d+)', met)
check(m and int(m.group(1)) == 21, "/metrics counts the 21 /batch_func requests (%s)" % (m and m.group(1)))
m = re.search(r"flagscale_generated_tokens_total (\d+)", met)
check(m and int(m.group(1)) > 100, "/metrics counts generated tokens")
for key in ("flagscale_queue_length", "flagscale_decode_tokens_per_second", "flagscale_kv_cache_usage_ratio"):
    check(key in met, "/metrics has " + key)
sys.exit(1 if failures else 0)
