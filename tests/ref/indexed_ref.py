"""indexed_ref.py -- byte-exactness of the indexed dataset against an independent Python writer/reader written
from the format description (Megatron's "mmap" .idx/.bin), for every dtype:
  same sequences and documents -> the C writer (indexed_tool write) produces the same bytes as write_py();
  the C reader (indexed_tool dump) reads the Python-written files back exactly.
Skips (77) when numpy is missing."""
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIP: numpy is not importable by %s (pip install numpy)" % sys.executable)
    sys.exit(77)

DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32,
          8: np.uint16}
builddir = os.environ.get("top_builddir", ".")
tool = os.path.join(builddir, "tests", "ref", "indexed_tool")


def write_py(prefix, code, docs):
    """docs: list of documents, each a list of sequences (lists of ids)"""
    dt = np.dtype(DTYPES[code]).newbyteorder("<")
    sizes, pointers, doc_idx, offset = [], [], [0], 0
    with open(prefix + ".bin", "wb") as f:
        for doc in docs:
            for seq in doc:
                arr = np.array(seq, dtype=dt)
                f.write(arr.tobytes(order="C"))
                sizes.append(len(seq))
                pointers.append(offset)
                offset += len(seq) * dt.itemsize
            doc_idx.append(len(sizes))
    with open(prefix + ".idx", "wb") as f:
        f.write(b"MMIDIDX\x00\x00")
        f.write(struct.pack("<Q", 1))
        f.write(struct.pack("<B", code))
        f.write(struct.pack("<Q", len(sizes)))
        f.write(struct.pack("<Q", len(doc_idx)))
        f.write(np.array(sizes, dtype="<i4").tobytes())
        f.write(np.array(pointers, dtype="<i8").tobytes())
        f.write(np.array(doc_idx, dtype="<i8").tobytes())


def spec_of(docs):
    lines = []
    for doc in docs:
        for seq in doc:
            lines.append(" ".join(str(i) for i in seq))
        lines.append("E")
    return "\n".join(lines) + "\n"


def main():
    if not os.access(tool, os.X_OK):
        print("FAIL: %s not built" % tool)
        return 1
    rng = np.random.RandomState(1234)
    failures, checks = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for code, npt in DTYPES.items():
            hi = {1: 256, 2: 128, 3: 32768, 8: 65536}.get(code, 1 << 31)
            lo = {2: -128, 3: -32768}.get(code, 0)
            if code == 7:  # float32 holds integers exactly up to 2^24
                hi = 1 << 24
            docs = []
            for d in range(40):
                n_seq = rng.randint(0, 4)  # a document with no sequence, too
                docs.append([list(rng.randint(lo, hi, size=rng.randint(0, 300)).astype(np.int64)) for _ in
                             range(n_seq)])
            py, c = os.path.join(tmp, "py%d" % code), os.path.join(tmp, "c%d" % code)
            write_py(py, code, docs)
            r = subprocess.run([tool, "write", c, str(code)], input=spec_of(docs).encode(), capture_output=True)
            checks += 1
            if r.returncode != 0:
                print("FAIL dtype %d: indexed_tool write: %s" % (code, r.stderr.decode()[-2000:]))
                failures += 1
                continue
            for ext in (".idx", ".bin"):
                checks += 1
                a, b = open(py + ext, "rb").read(), open(c + ext, "rb").read()
                if a != b:
                    first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
                    print("FAIL dtype %d %s: C %d bytes, Python %d bytes, first difference at byte %d"
                          % (code, ext, len(b), len(a), first))
                    failures += 1
                else:
                    print("ok   dtype %d (%s) %s: %d identical bytes" % (code, np.dtype(npt).name, ext, len(a)))
            # the C reader on the Python files
            r = subprocess.run([tool, "dump", py], capture_output=True)
            checks += 1
            seqs = [s for doc in docs for s in doc]
            doc_idx = [0]
            for doc in docs:
                doc_idx.append(doc_idx[-1] + len(doc))
            want = "%d %d %d\ndoc_idx %s\n" % (code, len(seqs), len(doc_idx), " ".join(map(str, doc_idx)))
            want += "".join(" ".join(str(int(i)) for i in s) + "\n" for s in seqs)
            if r.returncode != 0 or r.stdout.decode() != want:
                print("FAIL dtype %d: C reader on the Python files (rc %d): %s" % (code, r.returncode,
                                                                                  r.stderr.decode()[-2000:]))
                failures += 1
            else:
                print("ok   dtype %d: C reader reads the Python-written pair (%d sequences)" % (code, len(seqs)))
            # numpy's view of the C files (Megatron reads them like this)
            checks += 1
            idx = open(c + ".idx", "rb").read()
            n, m = struct.unpack("<QQ", idx[18:34])
            sizes = np.frombuffer(idx, dtype="<i4", count=n, offset=34)
            pointers = np.frombuffer(idx, dtype="<i8", count=n, offset=34 + 4 * n)
            bin_ = np.memmap(c + ".bin", dtype=np.dtype(npt).newbyteorder("<"), mode="r") if \
                os.path.getsize(c + ".bin") else np.zeros(0, npt)
            ok = all(list(bin_[p // np.dtype(npt).itemsize: p // np.dtype(npt).itemsize + s].astype(np.int64)) ==
                     [int(v) for v in seq] for p, s, seq in zip(pointers, sizes, seqs))
            if not ok:
                print("FAIL dtype %d: numpy reading of the C files differs" % code)
                failures += 1
    print("indexed_ref: %d checks, %d failed" % (checks, failures))
    return 1 if failures or not checks else 0


sys.exit(main())
