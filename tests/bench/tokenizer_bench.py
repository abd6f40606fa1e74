"""tokenizer_bench.py -- tokens/s of Hugging Face tokenizers (ByteLevel BPE from the same files), one thread,
encode() per document; only the encoding is timed.  The first pass is cold (fresh tokenizer, empty BPE cache).
usage: tokenizer_bench.py TOKENIZER_DIR INPUT.jsonl REPEAT"""
import os

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

try:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
except ImportError as e:
    print(f"SKIP: the Python package 'tokenizers' cannot be imported ({e}); pip install tokenizers")
    sys.exit(77)

d, inp, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
tok = Tokenizer(models.BPE.from_file(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
sp = os.path.join(d, "special_tokens.txt")
if os.path.exists(sp):
    with open(sp, encoding="utf-8") as f:
        tok.add_special_tokens([x.rstrip("\r\n") for x in f if x.strip()])
else:
    tok.add_special_tokens(["<|endoftext|>"])
with open(inp, encoding="utf-8") as f:
    texts = [json.loads(line)["text"] for line in f]
cold, warm, n = 0.0, float("inf"), 0
for r in range(repeat):
    t0 = time.perf_counter()
    n = sum(len(tok.encode(t).ids) for t in texts)
    dt = time.perf_counter() - t0
    if r == 0:
        cold = dt
    else:
        warm = min(warm, dt)
print(f"hf {os.path.basename(d.rstrip('/'))} docs={len(texts)} tokens={n} cold_s={cold:.3f} "
      f"cold_tok_per_s={n / cold:.0f} warm_tok_per_s={n / warm if repeat > 1 else 0:.0f}")
