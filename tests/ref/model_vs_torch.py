"""model_vs_torch.py DIR -- checks the C model against an independent PyTorch implementation written here:
same weights, same batch -> logits, loss and every parameter gradient agree (fp32), then the losses of the
AdamW steps agree (torch.optim.AdamW, decay on matrices only).  With LoRA adapters (meta lora_rank > 0) the
linear layers add (alpha/r) (x A^T) B^T (PEFT's convention), only the adapters' gradients are compared and
trained, and the base parameters must be bit-identical after the steps.  Exit 0 pass, 1 fail, 77 skip."""
import math
import sys

from torch_ref import np, torch, F, load, param_tensors

torch.set_num_threads(1)
d = sys.argv[1]
meta, flat, grads_c, logits_c = load(d, "params0.bin", "grads0.bin", "logits0.bin")
B, T, C = meta["B"], meta["T"], meta["hidden_size"]
NH, NKV, V = meta["heads"], meta["kv_heads"], meta["vocab"]  # padding rows never enter the softmax
D = C // NH
eps = meta["eps"]


def tensors():
    return param_tensors(meta, flat)


def norm(x, w, b):
    if meta["layernorm"]:
        return F.layer_norm(x, (C,), w, b, eps)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, nh):  # x (B,T,nh,D), HF LLaMA rotate-half
    inv = 1.0 / (meta["rope_base"] ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    ang = torch.outer(torch.arange(T, dtype=torch.float32), inv)
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    x1, x2 = x[..., :D // 2], x[..., D // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


LORA = meta.get("lora_rank", 0)


def lin(x, P, name):
    y = F.linear(x, P[name + ".weight"], P.get(name + ".bias"))
    if name + ".lora_A.weight" in P:  # PEFT: lora_B(lora_A(x)) * alpha / r
        y = y + F.linear(F.linear(x, P[name + ".lora_A.weight"]), P[name + ".lora_B.weight"]) * (meta["lora_alpha"] / LORA)
    return y


def forward(P, tokens):
    x = P["model.embed_tokens.weight"][tokens]
    if meta["learned_pos"]:
        x = x + P["model.embed_positions.weight"][:T][None]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(meta["num_layers"]):
        pre = f"model.layers.{l}."
        h = norm(x, P[pre + "input_layernorm.weight"], P.get(pre + "input_layernorm.bias"))
        q = lin(h, P, pre + "self_attn.q_proj").view(B, T, NH, D)
        k = lin(h, P, pre + "self_attn.k_proj").view(B, T, NKV, D)
        v = lin(h, P, pre + "self_attn.v_proj").view(B, T, NKV, D)
        if not meta["learned_pos"]:
            q, k = rope(q, NH), rope(k, NKV)
        rep = NH // NKV
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + mask, -1) @ v
        x = x + lin(att.transpose(1, 2).reshape(B, T, NH * D), P, pre + "self_attn.o_proj")
        h = norm(x, P[pre + "post_attention_layernorm.weight"], P.get(pre + "post_attention_layernorm.bias"))
        if meta["swiglu"]:
            a = F.silu(lin(h, P, pre + "mlp.gate_proj")) * lin(h, P, pre + "mlp.up_proj")
        else:
            a = F.gelu(lin(h, P, pre + "mlp.up_proj"), approximate="tanh")
        x = x + lin(a, P, pre + "mlp.down_proj")
    x = norm(x, P["model.norm.weight"], P.get("model.norm.bias"))
    w = P["model.embed_tokens.weight"] if meta["tied"] else P["lm_head.weight"]
    return x @ w[:V].t()


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


tokens = torch.tensor(meta["tokens"]).view(B, T)
targets = torch.tensor(meta["targets"]).view(B, T)
P = tensors()
logits = forward(P, tokens)
loss = F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)
loss.backward()
fails = []
e = rel(logits_c, logits.detach().numpy().ravel())
print(f"logits rel err {e:.2e}")
if e > 1e-5:
    fails.append("logits")
e = abs(meta["losses"][0] - loss.item()) / abs(loss.item())
print(f"loss ours {meta['losses'][0]:.7f} torch {loss.item():.7f} rel err {e:.2e}")
if e > 1e-5:
    fails.append("loss")
worst = (0, "")
trained = [p for p in meta["params"] if p.get("trainable", True)]
for p in trained:
    g = P[p["name"]].grad
    n = g.numel()
    ours = grads_c[p["offset"]:p["offset"] + n]
    if np.linalg.norm(g.numpy()) < 1e-6:
        # e.g. key biases: softmax ignores a shift shared by all keys, so the exact gradient is 0
        e = 0.0 if np.linalg.norm(ours) < 1e-5 else 1.0
    else:
        e = rel(ours, g.numpy().ravel())
    worst = max(worst, (e, p["name"]))
    if e > 2e-5:
        fails.append(f"grad {p['name']} {e:.2e}")
print(f"worst gradient rel err {worst[0]:.2e} ({worst[1]}) over {len(trained)} tensors")

# AdamW steps: decay on matrices only, same hyperparameters as the tool
P = tensors()
groups = [{"params": [P[p["name"]] for p in trained if p["decay"]], "weight_decay": meta["weight_decay"]},
          {"params": [P[p["name"]] for p in trained if not p["decay"]], "weight_decay": 0.0}]
groups = [g for g in groups if g["params"]]
opt = torch.optim.AdamW(groups, lr=meta["lr"], betas=(0.9, 0.95), eps=1e-8)
losses = []
for s in range(len(meta["losses"])):
    opt.zero_grad()
    l = F.cross_entropy(forward(P, tokens).view(-1, V), targets.view(-1), ignore_index=-1)
    l.backward()
    losses.append(l.item())
    opt.step()
e = max(abs(a - b) / abs(b) for a, b in zip(meta["losses"], losses))
print("losses ours ", " ".join(f"{x:.6f}" for x in meta["losses"]))
print("losses torch", " ".join(f"{x:.6f}" for x in losses))
print(f"max loss rel err over {len(losses)} AdamW steps {e:.2e}")
if e > 1e-5:
    fails.append("adamw losses")
if losses[-1] >= losses[0]:
    fails.append("loss did not decrease (the test would be vacuous)")


if LORA:
    end = np.fromfile(f"{d}/params1.bin", dtype=np.float32)
    first = min(p["offset"] for p in trained)
    lora_n = len(flat) - first
    if any(not p.get("trainable", True) and p["offset"] >= first for p in meta["params"]):
        fails.append("adapters are not after all base tensors")
    if not np.array_equal(flat[:first].view(np.uint32), end[:first].view(np.uint32)):
        fails.append("base parameters changed")
    changed = float(np.abs(end[first:] - flat[first:]).max())
    print(f"LoRA: base parameters ({first}) bit-identical after {len(losses)} steps; adapters ({lora_n}) max change "
          f"{changed:.2e}")
    if changed == 0:
        fails.append("adapters did not change")


def check_transformers():
    """the same weights in Hugging Face's LlamaForCausalLM (LLaMA structure only): logits, loss, gradients"""
    if meta["layernorm"] or meta["learned_pos"] or not meta["swiglu"] or LORA:
        return
    try:
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError as e:
        print(f"transformers not importable ({e}): HF comparison skipped")
        return
    cfg = LlamaConfig(vocab_size=meta["padded_vocab"], hidden_size=C, intermediate_size=meta["ffn"], num_hidden_layers=meta["num_layers"],
                      num_attention_heads=NH, num_key_value_heads=NKV, max_position_embeddings=meta["max_pos"],
                      rms_norm_eps=eps, rope_theta=meta["rope_base"], tie_word_embeddings=meta["tied"],
                      attention_bias=False, hidden_act="silu")
    try:
        model = LlamaForCausalLM(cfg).float()
    except Exception as e:  # pragma: no cover
        print(f"transformers could not build the model ({e}): HF comparison skipped")
        return
    P = tensors()
    missing, unexpected = model.load_state_dict({k: v.detach() for k, v in P.items()}, strict=False)
    missing = [m for m in missing if not (meta["tied"] and m == "lm_head.weight") and "rotary" not in m]
    if missing or unexpected:
        fails.append(f"HF state dict mismatch: missing {missing} unexpected {unexpected}")
        return
    out = model(input_ids=tokens, labels=None)
    hf_logits = out.logits[..., :V]
    hf_loss = F.cross_entropy(hf_logits.view(-1, V), targets.view(-1), ignore_index=-1)
    hf_loss.backward()
    e1 = rel(logits_c, hf_logits.detach().numpy().ravel())
    e2 = abs(meta["losses"][0] - hf_loss.item()) / abs(hf_loss.item())
    worst = 0.0
    named = dict(model.named_parameters())
    for p in meta["params"]:
        g = named[p["name"]].grad if p["name"] in named else None
        if g is None or np.linalg.norm(g.numpy()) < 1e-6:
            continue
        worst = max(worst, rel(grads_c[p["offset"]:p["offset"] + g.numel()], g.numpy().ravel()))
    print(f"transformers LlamaForCausalLM: logits rel err {e1:.2e}, loss rel err {e2:.2e}, worst gradient {worst:.2e}")
    if e1 > 1e-5 or e2 > 1e-5 or worst > 2e-5:
        fails.append("transformers parity")


check_transformers()
print("FAIL: " + ", ".join(fails) if fails else "ok")
sys.exit(1 if fails else 0)
