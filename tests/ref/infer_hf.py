"""infer_hf.py CKPT.h5 RESULTS.jsonl -- greedy generation of flagscale-infer against Hugging Face transformers.

Reads the checkpoint with h5py (/model/<HF name> datasets, true vocabulary rows; configuration in the root
attribute "model_config"), builds LlamaForCausalLM with those weights, and for every line of RESULTS.jsonl (the
flagscale-infer -output of greedy runs without stop tokens) checks that generate(do_sample=False) gives the same
token ids.  A difference is accepted only at a near tie (top-2 logits within 1e-5 of each other), since the two
implementations sum in different orders.  Exit 77 (skip) when torch, transformers or h5py is missing."""
import json
import sys

try:
    import h5py
    import numpy as np
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
except ImportError as e:
    print(f"SKIP: {e.name} is not installed for {sys.executable} (pip install h5py; apt-get install python3-torch; "
          "pip install transformers)")
    sys.exit(77)

ckpt, results = sys.argv[1], sys.argv[2]
with h5py.File(ckpt, "r") as f:
    mc = json.loads(f.attrs["model_config"])
    tensors = {}
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            tensors[name] = torch.from_numpy(np.asarray(obj[...], dtype=np.float32))
    f["model"].visititems(visit)

V = tensors["model.embed_tokens.weight"].shape[0]
tied = not mc.get("untie_embeddings_and_output_weights", True)
cfg = LlamaConfig(vocab_size=V, hidden_size=mc["hidden_size"], intermediate_size=mc["ffn_hidden_size"],
                  num_hidden_layers=mc["num_layers"], num_attention_heads=mc["num_attention_heads"],
                  num_key_value_heads=mc.get("num_query_groups") or mc["num_attention_heads"],
                  max_position_embeddings=4096, rms_norm_eps=mc["norm_epsilon"], rope_theta=mc["rotary_base"],
                  tie_word_embeddings=tied, attention_bias=False, hidden_act="silu",
                  bos_token_id=None, eos_token_id=None, pad_token_id=None)
torch.manual_seed(0)
model = LlamaForCausalLM(cfg).float().eval()
missing, unexpected = model.load_state_dict(tensors, strict=False)
missing = [m for m in missing if not (tied and m == "lm_head.weight") and "rotary" not in m]
if missing or unexpected:
    print(f"FAIL: state dict mismatch: missing {missing}, unexpected {unexpected}")
    sys.exit(1)

fails, n_tok, ties = 0, 0, 0
with open(results) as f:
    for i, line in enumerate(f):
        r = json.loads(line)
        ours = r["tokens"]
        prompt_ids = r.get("prompt_ids")
        if prompt_ids is None:
            print("FAIL: results lack prompt_ids")
            sys.exit(1)
        inp = torch.tensor([prompt_ids])
        with torch.no_grad():
            out = model.generate(inp, do_sample=False, max_new_tokens=len(ours), pad_token_id=0)
        hf = out[0, len(prompt_ids):].tolist()
        n_tok += len(ours)
        if hf == ours:
            print(f"prompt {i}: {len(ours)} tokens identical")
            continue
        k = next(j for j in range(min(len(hf), len(ours))) if hf[j] != ours[j]) if len(hf) == len(ours) else 0
        with torch.no_grad():
            logits = model(torch.tensor([prompt_ids + ours[:k]])).logits[0, -1]
        top = torch.topk(logits, 2).values
        margin = float(top[0] - top[1]) / max(1.0, float(top[0].abs()))
        if margin < 1e-5 and logits[ours[k]] >= top[1]:
            ties += 1
            print(f"prompt {i}: first {k} tokens identical, then a near tie (margin {margin:.2e}): accepted")
        else:
            fails += 1
            print(f"FAIL prompt {i}: differs at token {k}: ours {ours[k:k+5]} HF {hf[k:k+5]} (margin {margin:.2e})")
print(f"{n_tok} generated tokens compared, {ties} near ties, {fails} failures")
sys.exit(1 if fails else 0)
