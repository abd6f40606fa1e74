#!/usr/bin/env python3
"""infer_torch.py HF_DIR RESULTS.jsonl THREADS -- the Hugging Face side of infer_bench.sh: the same model
(flagscale-convert's export, LlamaForCausalLM.from_pretrained) generates greedily from the same prompt ids as
flagscale-infer's RESULTS (its -output), as many new tokens per prompt, all prompts in one batch (left padding
with an attention mask), on THREADS threads, after one untimed warm-up call.  Prints key=value pairs: the
generated tokens/s over generate()'s wall time (prefill included, as flagscale-infer's), and the fraction of
tokens equal to flagscale-infer's (greedy on a random model: near ties may differ)."""
import json
import sys
import time

import torch
from transformers import LlamaForCausalLM

hf_dir, results, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
with open(results) as f:
    rs = [json.loads(line) for line in f]
model = LlamaForCausalLM.from_pretrained(hf_dir, torch_dtype=torch.float32).eval()
n_new = len(rs[0]["tokens"])
L = max(len(r["prompt_ids"]) for r in rs)
ids = torch.zeros(len(rs), L, dtype=torch.long)
mask = torch.zeros(len(rs), L, dtype=torch.long)
for i, r in enumerate(rs):
    p = r["prompt_ids"]
    ids[i, L - len(p):] = torch.tensor(p)
    mask[i, L - len(p):] = 1


def gen(n):
    return model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=n, min_new_tokens=n,
                          pad_token_id=0, eos_token_id=None)


with torch.no_grad():
    gen(2)
    t0 = time.time()
    out = gen(n_new)
    dt = time.time() - t0
same = sum(a == b for r, row in zip(rs, out[:, L:].tolist()) for a, b in zip(r["tokens"], row))
print("tokens_per_s=%.1f seconds=%.3f same=%.3f" % (len(rs) * n_new / dt, dt, same / float(len(rs) * n_new)))
