#!/usr/bin/env python3
"""train_torch.py -- the PyTorch side of train_bench.sh: a plain eager LLaMA (RMSNorm, RoPE rotate-half, GQA
attention, SwiGLU, untied lm head, cross-entropy, torch.optim.AdamW) trained on random tokens for the same model,
batch and thread count as flagscale-pretrain.  Prints one line of key=value pairs: tokens/s over the timed steps
(after warm-up steps), ms per step and model TFLOP/s (the trainer's formula: 6 x matmul parameters + attention)."""
import argparse
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        c, d = a.hidden, a.hidden // a.heads
        self.nh, self.nkv, self.d = a.heads, a.kv_heads, d
        self.ln1, self.ln2 = RMSNorm(c, 1e-5), RMSNorm(c, 1e-5)
        self.q = nn.Linear(c, a.heads * d, bias=False)
        self.k = nn.Linear(c, a.kv_heads * d, bias=False)
        self.v = nn.Linear(c, a.kv_heads * d, bias=False)
        self.o = nn.Linear(a.heads * d, c, bias=False)
        self.gate = nn.Linear(c, a.ffn, bias=False)
        self.up = nn.Linear(c, a.ffn, bias=False)
        self.down = nn.Linear(a.ffn, c, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        h = self.ln1(x)
        q = self.q(h).view(B, T, self.nh, self.d).transpose(1, 2)
        k = self.k(h).view(B, T, self.nkv, self.d).transpose(1, 2)
        v = self.v(h).view(B, T, self.nkv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, "scaled_dot_product_attention") \
            else explicit_attention(q, k, v)
        x = x + self.o(att.transpose(1, 2).reshape(B, T, self.nh * self.d))
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def explicit_attention(q, k, v):
    T = q.shape[-2]
    s = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    return torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1) @ v


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.hidden, 1e-5)
        self.lm_head = nn.Linear(a.hidden, a.vocab, bias=False)
        d = a.hidden // a.heads
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, d, 2).float() / d))
        freqs = torch.outer(torch.arange(a.seq).float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos()[None, None])
        self.register_buffer("sin", emb.sin()[None, None])
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens, targets):
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin)
        logits = self.lm_head(self.norm(x))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    p = argparse.ArgumentParser()
    for name, default in (("layers", 2), ("hidden", 64), ("heads", 4), ("kv_heads", 0), ("ffn", 176),
                          ("vocab", 50304), ("batch", 8), ("seq", 64), ("warmup", 2), ("iters", 5), ("threads", 2)):
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    a.kv_heads = a.kv_heads or a.heads
    torch.set_num_threads(a.threads)
    torch.manual_seed(1234)
    model = Llama(a)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    gen = torch.Generator().manual_seed(7)
    data = torch.randint(0, 50257, (a.warmup + a.iters, a.batch, a.seq + 1), generator=gen)

    def step(i):
        loss = model(data[i, :, :-1].contiguous(), data[i, :, 1:].contiguous())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(a.warmup, a.warmup + a.iters):
        loss = step(i)
    dt = (time.perf_counter() - t0) / a.iters
    d = a.hidden // a.heads
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embed"))
    flops_per_token = 6.0 * matmul + 12.0 * a.layers * a.hidden * a.seq
    tok_s = a.batch * a.seq / dt
    print("torch=%s threads=%d ms_per_step=%.1f tokens_per_s=%.1f tflops=%.4f loss=%.4f" %
          (torch.__version__, torch.get_num_threads(), dt * 1e3, tok_s, tok_s * flops_per_token / 1e12, loss))
    assert d * a.heads == a.hidden


if __name__ == "__main__":
    sys.exit(main())
