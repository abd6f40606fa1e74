"""test_preprocess_hf.py PREFIX JSONL KEY VOCAB MERGES SPECIALS|- EOD|- N -- checks the token ids of the first N
documents of PREFIX_KEY_document.{bin,idx} (written by flagscale-preprocess) against Hugging Face tokenizers
(byte-level BPE from the same vocab/merges) and the documented .idx layout, read here with numpy.
EOD is the end-of-document id when -append_eod was given, else "-".  Exit 77 when numpy or tokenizers is missing."""
import json
import struct
import sys

try:
    import numpy as np
    from tokenizers import Tokenizer, models, pre_tokenizers
except ImportError as e:
    print("SKIP: %s (pip install numpy tokenizers)" % e)
    sys.exit(77)

prefix, jsonl, key, vocab, merges, specials, eod, n_check = sys.argv[1:9]
n_check = int(n_check)
tok = Tokenizer(models.BPE.from_file(vocab, merges))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
if specials != "-":
    tok.add_special_tokens([l.rstrip("\n") for l in open(specials, encoding="utf-8") if l.strip()])

idx = open("%s_%s_document.idx" % (prefix, key), "rb").read()
assert idx[:9] == b"MMIDIDX\x00\x00", "magic"
version, code, n, m = struct.unpack("<QBQQ", idx[9:34])
dtypes = {4: "<i4", 8: "<u2"}
assert version == 1 and code in dtypes, "version %d dtype %d" % (version, code)
sizes = np.frombuffer(idx, "<i4", n, 34)
pointers = np.frombuffer(idx, "<i8", n, 34 + 4 * n)
doc_idx = np.frombuffer(idx, "<i8", m, 34 + 12 * n)
bin_ = np.fromfile("%s_%s_document.bin" % (prefix, key), dtype=dtypes[code])
assert m == n + 1 and (doc_idx == np.arange(n + 1)).all(), "doc_idx is not 0..n"
assert bin_.size == sizes.sum(), ".bin holds %d tokens, sizes add up to %d" % (bin_.size, sizes.sum())

texts = []
with open(jsonl, "rb") as f:
    for raw in f:
        try:
            d = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(d, dict) and isinstance(d.get(key), str):
            texts.append(d[key])
bad = 0
doc = 0
for t in texts:
    if doc >= min(n_check, n):
        break
    ids = tok.encode(t).ids
    if not ids:
        continue
    if eod != "-":
        ids.append(int(eod))
    p = pointers[doc] // bin_.itemsize
    got = bin_[p:p + sizes[doc]].astype(np.int64).tolist()
    if got != ids:
        first = next((i for i in range(min(len(got), len(ids))) if got[i] != ids[i]), min(len(got), len(ids)))
        print("FAIL document %d: %d ids vs HF %d, first difference at %d" % (doc, len(got), len(ids), first))
        bad += 1
    doc += 1
print("%s HF check: %d documents of %d compared, %d differ" % ("ok  " if not bad else "FAIL", doc, n, bad))
sys.exit(1 if bad or doc == 0 else 0)
