"""sft_mask_torch.py DIR -- the loss and gradients sft_mask_tool wrote for one global batch of SFT samples against
an independent PyTorch LLaMA written here that *drops* the masked targets (boolean selection, no ignore_index):
per micro-batch loss = mean cross entropy over its trained targets (Megatron/FlagScale: sum(loss*mask)/sum(mask)),
the batch loss = the mean over micro-batches.  Exit 0 pass, 1 fail, 77 skip."""
import math
import sys

from torch_ref import np, torch, F, load, param_tensors

torch.set_num_threads(2)
d = sys.argv[1]
meta, flat, grads_c = load(d, "params.bin", "grads.bin")
C, NH, NKV, V, T = meta["hidden_size"], meta["heads"], meta["kv_heads"], meta["vocab"], meta["T"]
D = C // NH
eps = meta["eps"]

P = param_tensors(meta, flat)


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x):  # (B, T, h, D), rotate-half
    inv = 1.0 / (meta["rope_base"] ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    ang = torch.outer(torch.arange(T, dtype=torch.float32), inv)
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    return x * cos + torch.cat([-x[..., D // 2:], x[..., :D // 2]], -1) * sin


def logits_of(tokens):
    B = tokens.shape[0]
    x = P["model.embed_tokens.weight"][tokens]
    causal = torch.full((T, T), float("-inf")).triu(1)
    for l in range(meta["num_layers"]):
        pre = f"model.layers.{l}."
        h = rms(x, P[pre + "input_layernorm.weight"])
        q = rope((h @ P[pre + "self_attn.q_proj.weight"].t()).view(B, T, NH, D))
        k = rope((h @ P[pre + "self_attn.k_proj.weight"].t()).view(B, T, NKV, D))
        v = (h @ P[pre + "self_attn.v_proj.weight"].t()).view(B, T, NKV, D)
        k, v = k.repeat_interleave(NH // NKV, 2), v.repeat_interleave(NH // NKV, 2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + causal, -1) @ v
        x = x + att.transpose(1, 2).reshape(B, T, C) @ P[pre + "self_attn.o_proj.weight"].t()
        h = rms(x, P[pre + "post_attention_layernorm.weight"])
        a = F.silu(h @ P[pre + "mlp.gate_proj.weight"].t()) * (h @ P[pre + "mlp.up_proj.weight"].t())
        x = x + a @ P[pre + "mlp.down_proj.weight"].t()
    x = rms(x, P["model.norm.weight"])
    return x @ P["lm_head.weight"][:V].t()


tokens = torch.tensor(meta["tokens"])          # (N, T+1)
masks = torch.tensor(meta["masks"]).bool()     # (N, T): target tokens[:, 1 + j] trained
mbs = meta["micro_batch_size"]
n_micro = tokens.shape[0] // mbs
total = 0.0
for mb in range(n_micro):
    tk, mk = tokens[mb * mbs:(mb + 1) * mbs], masks[mb * mbs:(mb + 1) * mbs]
    lg = logits_of(tk[:, :T])
    kept = lg[mk]                               # only the trained positions enter the loss
    total = total + F.cross_entropy(kept, tk[:, 1:][mk], reduction="sum") / mk.sum()
loss = total / n_micro
loss.backward()


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


fails = []
ours = float(meta["loss"])
e = abs(ours - loss.item()) / abs(loss.item())
print(f"{d.rsplit('/', 1)[-1]}: {tokens.shape[0]} samples, {int(masks.sum())} of {masks.numel()} targets trained; "
      f"loss ours {ours:.7f} torch {loss.item():.7f} rel err {e:.2e}")
if e > 1e-5:
    fails.append("loss")
worst = (0.0, "")
for p in meta["params"]:
    g = P[p["name"]].grad
    mine = grads_c[p["offset"]:p["offset"] + g.numel()]
    err = rel(mine, g.numpy().ravel()) if np.linalg.norm(g.numpy()) > 1e-8 else float(np.linalg.norm(mine) > 1e-6)
    worst = max(worst, (err, p["name"]))
    if err > 2e-5:
        fails.append(f"grad {p['name']} {err:.2e}")
print(f"worst gradient rel err {worst[0]:.2e} ({worst[1]}) over {len(meta['params'])} tensors")
print("FAIL: " + ", ".join(fails) if fails else "ok")
sys.exit(1 if fails else 0)
