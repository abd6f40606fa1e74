#!/usr/bin/env python3
"""formats_gguf.py TOOL TMPDIR -- fs_gguf against the `gguf` Python package:
1. GGUFWriter writes a file with metadata of every value type and a tensor of each ggml type (quantized from
   random data with gguf.quants.quantize where it can, random raw blocks with sane scales otherwise); our reader
   must return the same metadata and dequantize every tensor exactly as gguf.quants.dequantize does.
2. Our writer's file (F32/F16/BF16 tensors, metadata) read by gguf.GGUFReader: exact metadata and values."""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from refcheck import Checks, run_tool

tool, tmp = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(1234)
np.seterr(all="ignore")  # f16 overflow to inf is intended below
check = Checks()


def run(*args):
    run_tool([tool, *args])


def raw_blocks(qtype, n_blocks):
    """random bytes, with every f16 scale field replaced by a finite value of moderate size"""
    bs, ts = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, size=(n_blocks, ts), dtype=np.uint8)
    f16 = lambda k: rng.uniform(-0.05, 0.05, size=(n_blocks, k)).astype(np.float16).view(np.uint8)
    if qtype in (T.Q2_K,):
        b[:, 80:84] = f16(2)
    elif qtype == T.Q3_K:
        b[:, 108:110] = f16(1)
    elif qtype in (T.Q4_K, T.Q5_K):
        b[:, 0:4] = f16(2)
    elif qtype == T.Q6_K:
        b[:, 208:210] = f16(1)
    elif qtype == T.Q8_K:
        b[:, 0:4] = rng.uniform(-0.01, 0.01, size=(n_blocks, 1)).astype(np.float32).view(np.uint8)
    return b


def q8k_reference(blocks):
    d = blocks[:, 0:4].copy().view(np.float32)
    q = blocks[:, 4:260].view(np.int8).astype(np.float32)
    return (d * q).reshape(-1)


# ---- 1. files written by gguf-py, read by us
path = os.path.join(tmp, "py.gguf")
w = gguf.GGUFWriter(path, "llama")
w.add_uint8("t.u8", 250)
w.add_int8("t.i8", -100)
w.add_uint16("t.u16", 65000)
w.add_int16("t.i16", -32000)
w.add_uint32("t.u32", 4000000000)
w.add_int32("t.i32", -2000000000)
w.add_float32("t.f32", 0.1)
w.add_uint64("t.u64", 2**62 + 3)
w.add_int64("t.i64", -(2**61))
w.add_float64("t.f64", 1.0 / 3.0)
w.add_bool("t.bool", True)
w.add_string("t.str", "héllo ▁wörld")
w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "Ġthe", "▁日本", ""])
w.add_array("tokenizer.ggml.merges", ["Ġ t", "h e"])
w.add_array("t.int_array", [1, -5, 7])
w.add_array("t.float_array", [0.5, -2.25])
w.add_string("tokenizer.chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}")

expected = {}
rows, cols = 6, 512
for qtype in [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K,
              T.Q6_K, T.Q8_K]:
    name = f"w.{qtype.name}"
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    bs, ts = gguf.GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        data, ref = x, x
    elif qtype == T.F16:
        data = x.astype(np.float16)
        ref = data.astype(np.float32)
    elif qtype in (T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        data = gguf.quants.quantize(x, qtype)
        ref = gguf.quants.dequantize(data, qtype)
    else:
        data = raw_blocks(qtype, rows * cols // bs).reshape(rows, cols // bs * ts)
        ref = q8k_reference(data.reshape(-1, ts)).reshape(rows, cols) if qtype == T.Q8_K else \
            gguf.quants.dequantize(data, qtype)
    w.add_tensor(name, data, raw_dtype=None if qtype in (T.F32, T.F16) else qtype)
    expected[name] = (qtype.name, ref.astype(np.float32).reshape(rows, cols))
# a 3-d tensor and a 1-d one: the row-major shape is the numpy shape
x3 = rng.standard_normal((2, 3, 64)).astype(np.float32)
w.add_tensor("w.3d", x3)
expected["w.3d"] = ("F32", x3)
x1 = rng.standard_normal(33).astype(np.float32)
w.add_tensor("w.1d", x1)
expected["w.1d"] = ("F32", x1)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

out = os.path.join(tmp, "dump")
os.makedirs(out, exist_ok=True)
run("gguf-dump", path, out)
meta = json.load(open(os.path.join(out, "meta.json")))
want = {"t.u8": 250, "t.i8": -100, "t.u16": 65000, "t.i16": -32000, "t.u32": 4000000000, "t.i32": -2000000000,
        "t.u64": 2**62 + 3, "t.i64": -(2**61), "t.bool": True, "t.str": "héllo ▁wörld",
        "general.architecture": "llama", "tokenizer.ggml.tokens": ["<s>", "</s>", "Ġthe", "▁日本", ""],
        "tokenizer.ggml.merges": ["Ġ t", "h e"], "t.int_array": [1, -5, 7], "t.float_array": [0.5, -2.25],
        "t.f32": float(np.float32(0.1)), "t.f64": 1.0 / 3.0,
        "tokenizer.chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"}
for k, v in want.items():
    got = meta.get(k, {}).get("value")
    check(got == v, f"metadata {k}: {got!r} != {v!r}")
check(meta["__version__"] == 3, "version 3")
lines = open(os.path.join(out, "list.txt")).read().split("\n")
names = []
for k, line in enumerate(l for l in lines if l):
    f = line.split()
    name, tname, nd = f[0], f[1], int(f[2])
    shape = tuple(int(s) for s in f[3:3 + nd])
    names.append(name)
    tn, ref = expected[name]
    check(tname == tn, f"{name}: type {tname} != {tn}")
    check(shape == ref.shape, f"{name}: shape {shape} != {ref.shape}")
    got = np.fromfile(os.path.join(out, f"{k}.f32"), dtype=np.float32).reshape(shape)
    same = np.array_equal(got, ref)
    err = float(np.max(np.abs(got - ref))) if got.shape == ref.shape else float("inf")
    check(same, f"{name} ({tname}): max |diff| {err:.3g} vs gguf.quants.dequantize")
    print(f"{name:10s} {tname:5s} shape {shape}: {'exact' if same else f'max diff {err:.3g}'}")
check(sorted(names) == sorted(expected), "all tensors listed")

# ---- 2. our writer, read by gguf-py
listing = os.path.join(tmp, "listing.txt")
ours = {}
with open(listing, "w") as f:
    for i, (tname, shape) in enumerate([("F32", (5, 7)), ("F16", (3, 4, 9)), ("BF16", (130,)), ("F32", (2, 1, 3, 4))]):
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        x.flat[0] = 65504.0 * 2  # overflows f16 -> inf
        raw = os.path.join(tmp, f"in{i}.f32")
        x.tofile(raw)
        name = f"blk.{i}.weight"
        f.write(f"{name} {tname} {len(shape)} {' '.join(map(str, shape))} {raw}\n")
        ours[name] = (tname, x)
opath = os.path.join(tmp, "ours.gguf")
run("gguf-write", listing, opath)
r = gguf.GGUFReader(opath)
fields = {f.name: f for f in r.fields.values()}


def field_value(f):
    t = f.types[0]
    if t == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode()
    if t == gguf.GGUFValueType.ARRAY:
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode() for i in f.data]
        return [f.parts[i][0].item() for i in f.data]
    return f.parts[f.data[0]][0].item()


want = {"general.architecture": "llama", "general.name": "café test", "llama.block_count": 7,
        "test.int32": -123456, "test.uint64": 1 << 40, "llama.rope.freq_base": float(np.float32(10000.5)),
        "test.bool": True, "tokenizer.ggml.tokens": ["<unk>", "hello", "Ġworld", "", "▁日"],
        "test.int32_array": [1, -2, 3, 2147483647], "tokenizer.ggml.scores": [0.5, -1.25, float(np.float32(3.0e-8))]}
types = {"llama.block_count": gguf.GGUFValueType.UINT32, "test.int32": gguf.GGUFValueType.INT32,
         "test.uint64": gguf.GGUFValueType.UINT64, "llama.rope.freq_base": gguf.GGUFValueType.FLOAT32,
         "test.bool": gguf.GGUFValueType.BOOL}
for k, v in want.items():
    check(k in fields, f"GGUFReader: key {k} missing")
    if k in fields:
        got = field_value(fields[k])
        check(got == v, f"GGUFReader: {k} = {got!r}, want {v!r}")
        if k in types:
            check(fields[k].types[0] == types[k], f"GGUFReader: {k} type {fields[k].types[0]}")
check(len(r.tensors) == len(ours), f"GGUFReader: {len(r.tensors)} tensors")
for t in r.tensors:
    tname, x = ours[t.name]
    check(t.tensor_type.name == tname, f"{t.name}: type {t.tensor_type.name}")
    check(tuple(int(s) for s in reversed(t.shape)) == x.shape, f"{t.name}: ne {list(t.shape)} vs shape {x.shape}")
    if tname == "F32":
        ref = x
    elif tname == "F16":
        ref = x.astype(np.float16).astype(np.float32)
    else:
        ref = gguf.quants.dequantize(gguf.quants.quantize(x, T.BF16), T.BF16)
    got = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(x.shape)
    check(np.array_equal(got, ref), f"{t.name} ({tname}): values differ (max {np.nanmax(np.abs(got - ref))})")
# and our own reader reads it back
run("gguf-dump", opath, out)
sys.exit(check.summary("formats_gguf"))
