#!/usr/bin/env python3
"""gpt_index_ref.py -- the GPT sample index and blending against an independent numpy implementation.

The reference below is written from Megatron's gpt_dataset.py / helpers.cpp / blendable_dataset.py as summarized
in doc/sample-index.md (np.random.RandomState, np.mgrid, np.cumsum ...).  For each configuration the C side
(gpt_index_tool) writes its cache; we load the .npy files with numpy.load and compare every array exactly, the
cache name (md5 of Megatron's description string), and every token of every sample against the document
positions the sample must cover.  Exit 77 (skip) without numpy."""
import hashlib
import math
import os
import shutil
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIP: numpy is not installed for $PYTHON (pip install numpy)")
    sys.exit(77)

builddir = os.environ.get("top_builddir", ".")
TOOL = os.path.join(builddir, "tests", "ref", "gpt_index_tool")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
if not os.access(TOOL, os.X_OK):
    print(f"SKIP: {TOOL} is not built")
    sys.exit(77)

from refcheck import Checks, run_tool as run_cmd  # noqa: E402 (after the numpy skip)

expect = Checks()


# ---------------------------------------------------------------- reference (numpy), Megatron's algorithm
def ref_split(s, size):
    if "," in s:
        parts = [float(x) for x in s.split(",")]
    elif "/" in s:
        parts = [float(x) for x in s.split("/")]
    else:
        parts = [float(s)]
    while len(parts) < 3:
        parts.append(0.0)
    parts = parts[:3]
    total = sum(parts)
    parts = [p / total for p in parts]
    idx = [0]
    for i, p in enumerate(parts):
        idx.append(idx[i] + int(round(p * float(size))))
    diff = idx[-1] - size
    return [idx[0]] + [x - diff for x in idx[1:]]


def ref_epochs(tokens, seq, n):
    e, total = 0, 0
    while True:
        e += 1
        total += tokens
        if (total - 1) // seq >= n:
            return e


def ref_doc_idx(documents, epochs, rng, separate):
    if not separate or epochs == 1:
        d = np.mgrid[0:epochs, 0:len(documents)][1]
        d[:] = documents
        d = d.reshape(-1).astype(np.int32)
        rng.shuffle(d)
        return d
    first = ref_doc_idx(documents, epochs - 1, rng, False)
    last = ref_doc_idx(documents, 1, rng, False)
    return np.concatenate((first, last))


def ref_sample_idx(sizes, doc_idx, seq, epochs, tokens):
    """the same mapping, computed from cumulative token counts instead of helpers.cpp's walk: sample s starts at
    stream token s*seq; the row is (the doc_idx position holding that token, its offset), where a token that is a
    document's first is written as the previous document's last position + 1 ... exactly as the walk leaves it"""
    n = (epochs * tokens - 1) // seq
    lens = sizes[doc_idx].astype(np.int64)
    ends = np.cumsum(lens)  # ends[i] = stream position one past doc_idx[i]
    out = np.zeros((n + 1, 2), dtype=np.int32)
    for s in range(1, n + 1):
        last = s * seq  # the last token of sample s-1 (= first token of sample s)
        # the walk stops at the first document whose end covers `last`
        i = int(np.searchsorted(ends, last, side="right"))
        start = ends[i] - lens[i]
        out[s] = (i, last - start)
    return out


def ref_shuffle_idx(num, total, rng):
    dt = np.uint32 if total < np.iinfo(np.uint32).max - 1 else np.int64
    first = np.arange(0, num, 1, dtype=dt)
    rng.shuffle(first)
    if num == total:
        return first
    last = np.arange(num, total, 1, dtype=dt)
    rng.shuffle(last)
    return np.concatenate((first, last))


def ref_index(sizes, documents, num_samples, seq, seed):
    tokens = int(np.sum(sizes[documents]))
    epochs = ref_epochs(tokens, seq, num_samples)
    rng = np.random.RandomState(seed=seed)
    if epochs == 1:
        separate = False
    else:
        from_minus_one = ((epochs - 1) * tokens - 1) // seq
        last = num_samples - from_minus_one
        per_epoch = (tokens - 1) // seq
        separate = last < int(0.80 * per_epoch)
    doc_idx = ref_doc_idx(documents, epochs, rng, separate)
    sample_idx = ref_sample_idx(sizes, doc_idx, seq, epochs, tokens)
    num = from_minus_one if separate else sample_idx.shape[0] - 1
    shuffle_idx = ref_shuffle_idx(num, sample_idx.shape[0] - 1, rng)
    return dict(doc=doc_idx, sample=sample_idx, shuffle=shuffle_idx, epochs=epochs, tokens=tokens, sep=separate)


def token(doc, pos):  # keep in step with gpt_index_tool.c
    return ((np.int64(doc) * 1000003 + np.asarray(pos, dtype=np.int64) * 7 + 11) % 2147483647).astype(np.int32)


def ref_sample_tokens(sizes, ix, k, seq):
    """Megatron GPTDataset.__getitem__"""
    s = ix["shuffle"][k]
    d0, o0 = ix["sample"][s]
    d1, o1 = ix["sample"][s + 1]
    doc = ix["doc"]
    if d0 == d1:
        return token(doc[d0], np.arange(o0, o1 + 1))
    parts = [token(doc[d0], np.arange(o0, sizes[doc[d0]]))]
    for i in range(d0 + 1, d1):
        parts.append(token(doc[i], np.arange(0, sizes[doc[i]])))
    parts.append(token(doc[d1], np.arange(0, o1 + 1)))
    return np.concatenate(parts)


def ref_blend(weights_raw, num_samples):
    w = [float(x) for x in weights_raw]
    s = 0.0
    for x in w:
        s += x
    w = [x / s for x in w]
    per = [int(math.ceil(num_samples * x * 1.005)) for x in w]
    size = sum(per)
    bw = np.array(w, dtype=np.float64)
    bw /= np.sum(bw)
    di = np.zeros(size, dtype=np.uint8)
    dsi = np.zeros(size, dtype=np.int64)
    cur = [0] * len(w)
    for j in range(size):
        x = max(float(j), 1.0)
        errs = [bw[i] * x - float(cur[i]) for i in range(len(w))]
        best = 0
        for i in range(1, len(w)):
            if errs[i] > errs[best]:
                best = i
        di[j] = best
        dsi[j] = cur[best]
        cur[best] += 1
    return np.array(w), np.array(per, dtype=np.int64), bw, di, dsi


# ---------------------------------------------------------------- driving the C side
def run_tool(args, ranks=1):
    cmd = [TOOL] + args
    if ranks > 1:
        cmd = MPIEXEC.split() + ["-n", str(ranks)] + cmd
    p = run_cmd(cmd)
    line = [l for l in p.stdout.splitlines() if l.startswith("hash=")]
    return dict(kv.split("=", 1) for kv in line[0].split()) if line else {}


def check_gpt(tmp, name, sizes, split, split_index, num_samples, seq, seed, ranks=1, want_sep=None, want_epochs=None):
    sizes_path = os.path.join(tmp, name + "_sizes.npy")
    np.save(sizes_path, sizes.astype(np.int32))  # numpy writes it, our reader reads it
    prefix = os.path.join(tmp, "data", name + "_text_document")
    cache = os.path.join(tmp, "cache")
    tokens_path = os.path.join(tmp, name + "_tokens.npy")
    split_name = ["train", "valid", "test"][split_index]
    args = ["-mode", "gpt", "-sizes", sizes_path, "-split", split, "-split_index", str(split_index),
            "-num_samples", str(num_samples), "-seq_length", str(seq), "-seed", str(seed),
            "-data_prefix", prefix, "-name", split_name, "-cache", cache, "-tokens_out", tokens_path]
    info = run_tool(args, ranks)
    b = ref_split(split, len(sizes))
    documents = np.arange(b[split_index], b[split_index + 1], dtype=np.int32)
    ref = ref_index(sizes, documents, num_samples, seq, seed)
    tag = f"[{name}: {split}#{split_index} n={num_samples} L={seq} seed={seed} ranks={ranks}]"
    expect(info["bounds"] == ",".join(map(str, b)), f"{tag} split bounds {info['bounds']} vs {b}")
    desc = (f"GPT Dataset\n\nData prefix {prefix}\nDataset name {split_name}\nNumber of samples {num_samples}\n"
            f"Sequence length {seq}\nRandom seed {seed}\nSplit {split}\n")
    h = hashlib.md5(desc.encode("utf-8")).hexdigest()
    expect(info["hash"] == h, f"{tag} cache name {info['hash']} != md5(description) {h}")
    with open(os.path.join(cache, h + ".dsc")) as f:
        expect(f.read() == desc, f"{tag} description file differs from Megatron's")
    got = {k: np.load(os.path.join(cache, f"{h}_{k}_idx.npy"), allow_pickle=False) for k in ("doc", "sample", "shuffle")}
    for k in ("doc", "sample", "shuffle"):
        expect(got[k].dtype == ref[k].dtype, f"{tag} {k}_idx dtype {got[k].dtype} vs {ref[k].dtype}")
        expect(got[k].shape == ref[k].shape and np.array_equal(got[k], ref[k]),
               f"{tag} {k}_idx differs (shape {got[k].shape} vs {ref[k].shape})")
    expect(int(info["epochs"]) == ref["epochs"], f"{tag} epochs {info['epochs']} vs {ref['epochs']}")
    expect(int(info["separate_last_epoch"]) == int(ref["sep"]), f"{tag} separate_last_epoch")
    if want_sep is not None:
        expect(ref["sep"] == want_sep, f"{tag} configuration meant separate_last_epoch={want_sep}")
    if want_epochs is not None:
        expect(ref["epochs"] == want_epochs, f"{tag} configuration meant {want_epochs} epochs, got {ref['epochs']}")
    toks = np.load(tokens_path)
    n = ref["sample"].shape[0] - 1
    expect(toks.shape == (n, seq + 1), f"{tag} tokens shape {toks.shape}")
    bad = sum(not np.array_equal(toks[k], ref_sample_tokens(sizes, ref, k, seq)) for k in range(n))
    expect(bad == 0, f"{tag} {bad} of {n} samples have wrong tokens")
    # a second run reuses the cache
    again = run_tool(args, ranks)
    expect(again["built"] == "0" and info["built"] == "1", f"{tag} built {info['built']} then {again['built']}")
    print(f"ok {tag}: epochs={ref['epochs']} separate={ref['sep']} samples={n}")


def check_blend(tmp, weights, num_samples):
    out = tempfile.mkdtemp(dir=tmp)
    run_tool(["-mode", "blend", "-weights", ",".join(map(str, weights)), "-num_samples", str(num_samples),
              "-out", out])
    w, per, bw, di, dsi = ref_blend(weights, num_samples)
    got = {k: np.load(os.path.join(out, k + ".npy"))
           for k in ("weights", "per_dataset", "blend_weights", "dataset_index", "dataset_sample_index")}
    tag = f"[blend {weights} n={num_samples}]"
    expect(np.array_equal(got["weights"], w), f"{tag} normalised weights")
    expect(np.array_equal(got["per_dataset"], per), f"{tag} per-dataset samples {got['per_dataset']} vs {per}")
    expect(np.array_equal(got["blend_weights"], bw), f"{tag} blend weights (np.sum) {got['blend_weights']} vs {bw}")
    expect(got["dataset_index"].dtype == np.uint8 and np.array_equal(got["dataset_index"], di), f"{tag} dataset_index")
    expect(got["dataset_sample_index"].dtype == np.int64 and np.array_equal(got["dataset_sample_index"], dsi),
           f"{tag} dataset_sample_index")
    print(f"ok {tag}: size={len(di)}")


def main():
    tmp = tempfile.mkdtemp(prefix="gpt_index_ref_", dir=builddir)
    try:
        rng = np.random.RandomState(42)
        sizes = rng.randint(1, 120, size=400).astype(np.int32)
        sizes[::13] = 0  # empty documents are skipped over
        tokens_train = int(sizes[:ref_split("969,30,1", 400)[1]].sum())
        check_gpt(tmp, "a", sizes, "969,30,1", 0, 50, 16, 1234, want_epochs=1)
        per = (tokens_train - 1) // 64
        check_gpt(tmp, "b", sizes, "969,30,1", 0, per + 3, 64, 1234, want_sep=True, want_epochs=2)
        check_gpt(tmp, "c", sizes, "969,30,1", 0, 3 * per - 2, 64, 7, want_sep=False, want_epochs=3)
        # the 80% threshold from both sides
        check_gpt(tmp, "b1", sizes, "969,30,1", 0, per + int(0.80 * per) - 1, 64, 5, want_sep=True, want_epochs=2)
        check_gpt(tmp, "b2", sizes, "969,30,1", 0, per + int(0.80 * per), 64, 5, want_sep=False, want_epochs=2)
        check_gpt(tmp, "d", sizes, "8/1/1", 1, 500, 1, 0)
        check_gpt(tmp, "e", sizes, "8/1/1", 2, 40, 300, 2**32 - 1)  # samples span many documents
        check_gpt(tmp, "f", sizes, "1,1", 1, 3000, 33, 99)
        check_gpt(tmp, "g", sizes, "969,30,1", 0, 2 * per + 5, 64, 1234, ranks=3)
        big = rng.randint(1, 4000, size=3000).astype(np.int32)
        check_gpt(tmp, "h", big, "98,2", 0, 20000, 128, 1234)
        for weights, n in (([0.3, 0.7], 1000), ([1, 2, 3], 777), ([5, 0.001, 1], 4000), ([0.25, 0.25, 0.5], 64),
                           ([3, 1, 4, 1, 5, 9, 2, 6, 5], 3000), ([1.0 / 3] * 11, 500)):
            check_blend(tmp, weights, n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return expect.summary("gpt_index_ref")


if __name__ == "__main__":
    sys.exit(main())
