"""ops_vs_torch.py TOOL -- the CPU op tables (reference and fast) against PyTorch: causal GQA attention (HF
repeat_kv + causal softmax), RMSNorm (HF LlamaRMSNorm), RoPE (HF LLaMA rotate-half, float32 rotary tables), fused
lm-head cross-entropy with ignored targets and row weights, and torch.optim.AdamW over 3 steps.  Packed sequences
(several documents per row): attention against an explicit block-diagonal causal mask and RoPE with HF's
position_ids restarting at each document.

Inputs are written as raw float32 files, TOOL (tests/ref/ops_tool) runs the op, and the outputs are compared with
torch: in float64 with autograd for attention / RMSNorm / cross-entropy, in float32 exactly as HF computes it for
RoPE and as torch.optim does for AdamW.  Error: max|ours - torch| / max|torch|; tolerance 1e-5 (RoPE 2e-6)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

tool = sys.argv[1]
rng = np.random.default_rng(1234)
failures = 0


def nerr(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30)


def check(what, ours, ref, tol):
    global failures
    e = nerr(ours, ref)
    ok = e <= tol
    failures += not ok
    print(f"  {what:44s} nmax_err {e:.3e} {'ok' if ok else 'FAILED (tolerance %.0e)' % tol}")


def run(backend, op, d, inputs, args, outputs):
    for name, arr in inputs.items():
        arr.tofile(os.path.join(d, name + ".bin"))
    subprocess.run([tool, backend, op, d] + [str(a) for a in args], check=True)
    return {name: np.fromfile(os.path.join(d, name + ".bin"), np.float32).reshape(shape)
            for name, shape in outputs.items()}


def f32(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def t64(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def packed_positions(B, T, max_len):
    """positions (B,T) int32 of rows of documents of random lengths 1..max_len, and the document id of each token"""
    pos, doc = np.zeros((B, T), np.int32), np.zeros((B, T), np.int64)
    for b in range(B):
        t, n = 0, 0
        while t < T:
            length = min(int(rng.integers(1, max_len + 1)), T - t)
            pos[b, t:t + length], doc[b, t:t + length] = np.arange(length), n
            t, n = t + length, n + 1
    return pos, doc


def attention(d, backend, packed=False):
    B, T, NH, NKV, D = 2, 67, 6, 2, 16
    q, k, v, dout = f32(B, T, NH, D, lo=-2, hi=2), f32(B, T, NKV, D, lo=-2, hi=2), f32(B, T, NKV, D), f32(B, T, NH, D)
    pos, doc = packed_positions(B, T, 29)
    o = run(backend, "attention", d, dict(q=q, k=k, v=v, dout=dout, pos=pos), [B, T, NH, NKV, D, int(packed)],
            dict(out=(B, T, NH, D), lse=(B, NH, T), dq=(B, T, NH, D), dk=(B, T, NKV, D), dv=(B, T, NKV, D)))
    tq, tk, tv = t64(q), t64(k), t64(v)
    rep = NH // NKV  # HF repeat_kv: query head h reads kv head h // rep
    qh = tq.transpose(1, 2)
    kh = tk.transpose(1, 2).repeat_interleave(rep, dim=1)
    vh = tv.transpose(1, 2).repeat_interleave(rep, dim=1)
    s = qh @ kh.transpose(-1, -2) / D ** 0.5
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)[None, None]  # j > t
    if packed:  # block-diagonal: keys of another document are masked too
        dt = torch.tensor(doc)
        mask = mask | (dt[:, None, :, None] != dt[:, None, None, :])
    s = s.masked_fill(mask, float("-inf"))
    lse = torch.logsumexp(s, -1)
    out = (torch.softmax(s, -1) @ vh).transpose(1, 2)
    (out * torch.tensor(dout, dtype=torch.float64)).sum().backward()
    name = f"{backend} attention{' packed' if packed else ''}"
    check(f"{name} out", o["out"], out.detach(), 1e-5)
    check(f"{name} lse", o["lse"], lse.detach(), 1e-5)
    check(f"{name} dq", o["dq"], tq.grad, 1e-5)
    check(f"{name} dk", o["dk"], tk.grad, 1e-5)
    check(f"{name} dv", o["dv"], tv.grad, 1e-5)


def attention_packed(d, backend):
    attention(d, backend, True)


def rmsnorm(d, backend):
    N, C, eps = 37, 45, 1e-5
    x, w, dout = f32(N, C, lo=-2, hi=3), f32(C, lo=0.5, hi=1.5), f32(N, C)
    o = run(backend, "rmsnorm", d, dict(x=x, w=w, dout=dout), [N, C, eps],
            dict(y=(N, C), rstd=(N,), dx=(N, C), dw=(C,)))
    tx, tw = t64(x), t64(w)
    rstd = torch.rsqrt(tx.pow(2).mean(-1, keepdim=True) + eps)
    y = tw * (tx * rstd)
    (y * torch.tensor(dout, dtype=torch.float64)).sum().backward()
    check(f"{backend} rmsnorm y", o["y"], y.detach(), 1e-5)
    check(f"{backend} rmsnorm rstd", o["rstd"], rstd.detach().squeeze(-1), 1e-5)
    check(f"{backend} rmsnorm dx", o["dx"], tx.grad, 1e-5)
    check(f"{backend} rmsnorm dweight", o["dw"], tw.grad, 1e-5)


def rope(d, backend, packed=False):
    B, T, H, D, base, off = 2, 67, 3, 64, 10000.0, 5
    x, dout = f32(B, T, H, D), f32(B, T, H, D)
    pos, _ = packed_positions(B, T, 29)
    if packed:
        off = 0
    o = run(backend, "rope", d, dict(x=x, dout=dout, pos=pos), [B, T, H, D, base, off, int(packed)],
            dict(y=(B, T, H, D), dx=(B, T, H, D)))
    # HF LlamaRotaryEmbedding with position_ids (B,T), float32 throughout
    inv_freq = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
    position_ids = torch.tensor(pos, dtype=torch.int64) if packed else torch.arange(off, off + T)[None].expand(B, T)
    freqs = position_ids.float()[:, :, None] * inv_freq[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, :, None, :], emb.sin()[:, :, None, :]

    def rotate_half(t):
        return torch.cat((-t[..., D // 2:], t[..., : D // 2]), dim=-1)

    tx = torch.tensor(x, requires_grad=True)
    y = tx * cos + rotate_half(tx) * sin
    y.backward(torch.tensor(dout))
    check(f"{backend} rope{' packed' if packed else ''} y (HF float32)", o["y"], y.detach(), 2e-6)
    check(f"{backend} rope{' packed' if packed else ''} dx", o["dx"], tx.grad, 2e-6)


def rope_packed(d, backend):
    rope(d, backend, True)


def xent(d, backend):
    N, C, V = 37, 45, 101
    x, w = f32(N, C), f32(V, C)
    tgt = rng.integers(0, V, N).astype(np.int32)
    tgt[::5] = -1  # ignored rows
    rw = np.where(tgt >= 0, 1.0 / np.count_nonzero(tgt >= 0), 0).astype(np.float32)
    rw[1] *= 3  # a row weight that is not uniform
    o = run(backend, "xent", d, dict(x=x, w=w, tgt=tgt, rw=rw), [N, C, V], dict(loss=(N,), dx=(N, C), dw=(V, C)))
    tx, tw = t64(x), t64(w)
    loss = torch.nn.functional.cross_entropy(tx @ tw.T, torch.tensor(tgt, dtype=torch.int64), ignore_index=-1,
                                             reduction="none")
    (loss * torch.tensor(rw, dtype=torch.float64)).sum().backward()
    check(f"{backend} xent losses", o["loss"], loss.detach(), 1e-5)
    check(f"{backend} xent dinp", o["dx"], tx.grad, 1e-5)
    check(f"{backend} xent dweight", o["dw"], tw.grad, 1e-5)


def adamw(d, backend):
    n, steps, lr, b1, b2, eps, wd = 1001, 3, 1e-2, 0.9, 0.95, 1e-8, 0.1
    p, g = f32(n), f32(steps, n)
    o = run(backend, "adamw", d, dict(p=p, g=g), [n, steps, lr, b1, b2, eps, wd], dict(p_out=(n,), m=(n,), v=(n,)))
    tp = torch.nn.Parameter(torch.tensor(p))
    opt = torch.optim.AdamW([tp], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for t in range(steps):
        tp.grad = torch.tensor(g[t])
        opt.step()
    st = opt.state[tp]
    check(f"{backend} adamw param (3 steps)", o["p_out"], tp.detach(), 1e-5)
    check(f"{backend} adamw exp_avg", o["m"], st["exp_avg"], 1e-5)
    check(f"{backend} adamw exp_avg_sq", o["v"], st["exp_avg_sq"], 1e-5)


print(f"torch {torch.__version__}")
with tempfile.TemporaryDirectory() as d:
    for backend in ("ref", "cpu"):
        for case in (attention, attention_packed, rmsnorm, rope, rope_packed, xent, adamw):
            case(d, backend)
print(f"ops_vs_torch: {failures} failed")
sys.exit(1 if failures else 0)
