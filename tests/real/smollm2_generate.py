"""smollm2_generate.py HF_DIR OURS.jsonl -- transformers' greedy generate (32 new tokens) on the converted model
gives the same token ids as flagscale-infer for each prompt of OURS.jsonl (its prompt_ids and tokens)."""
import json
import sys

import torch
from transformers import LlamaForCausalLM

m = LlamaForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float32)
bad = 0
rows = [json.loads(l) for l in open(sys.argv[2])]
for r in rows:
    ids = torch.tensor([r["prompt_ids"]])
    with torch.no_grad():
        out = m.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=len(r["tokens"]), do_sample=False,
                         pad_token_id=m.config.eos_token_id)
    hf = out[0, ids.shape[1]:].tolist()
    ours = r["tokens"]
    same = hf == ours[:len(hf)]
    bad += not same
    print(f"{'same' if same else 'DIFFERENT'}: {len(ours)} tokens for {r['prompt']!r}")
    print(f"   ours: {r['text']!r}")
    if not same:
        print(f"   hf ids {hf}\n   our ids {ours}")
print(f"{len(rows) - bad} of {len(rows)} prompts: flagscale-infer greedy == transformers greedy")
sys.exit(1 if bad or not rows else 0)
