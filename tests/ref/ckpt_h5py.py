#!/usr/bin/env python3
"""ckpt_h5py.py -- a checkpoint written by 2 ranks (tests/unit/test_ckpt write) read with h5py: attributes,
shapes, every value (bf16 through astype('f4'), i.e. HDF5's own conversion of our bf16 float type), and listed
by h5ls / h5dump when hdf5-tools is installed."""
import os, shutil, subprocess, sys, tempfile

try:
    import numpy as np
    import h5py
except ImportError as e:
    print(f"SKIP: {e.name} is not installed for {sys.executable} (pip install h5py numpy)")
    sys.exit(77)

builddir = os.environ.get("top_builddir", ".")
prog = os.path.join(builddir, "tests", "unit", "test_ckpt")
if not os.access(prog, os.X_OK):
    print(f"SKIP: {prog} not built")
    sys.exit(77)
mpiexec = os.environ.get("MPIEXEC", "mpirun").split()
from refcheck import Checks  # noqa: E402 (after the skips)

# the tensors of test_ckpt.c: (name, bf16?, shape)
TENSORS = [
    ("/model/model.embed_tokens.weight", False, (37, 11)),
    ("/model/model.layers.0.self_attn.q_proj.weight", True, (13, 29)),
    ("/model/model.norm.weight", False, (53,)),
    ("/optimizer/model.embed_tokens.weight/exp_avg", False, (5, 7)),
    ("/model/big.f32", False, (2500, 600)),
    ("/model/big.bf16", True, (3100, 700)),
    ("/model/empty", False, (0, 4)),
    ("/model/one", True, (1,)),
]


def expected(tid, shape, bf16):
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    v = (((tid * 7919 + i * 31) % 200003).astype(np.float32) * np.float32(0.0625) - np.float32(3000.0)
         + np.float32(tid)).astype(np.float32)
    if bf16:  # round to nearest even, as fs_fp32_to_bf16 (no NaNs here)
        u = v.view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
        v = u.astype(np.uint32).view(np.float32)
    return v.reshape(shape)


check = Checks()


tmp = tempfile.mkdtemp(prefix="fs_ckpt_h5py.")
try:
    r = subprocess.run(mpiexec + ["-n", "2", prog, "write", tmp], capture_output=True, text=True, timeout=120)
    if r.returncode:
        print(r.stdout, r.stderr)
        sys.exit(1)
    path = os.path.join(tmp, "ckpt.h5")
    with h5py.File(path, "r") as f:
        a = f.attrs
        check(a["format"] == "flagscale-checkpoint", f"format {a['format']!r}")
        check(int(a["format_version"]) == 1, "format_version")
        check(int(a["iteration"]) == 7, "iteration")
        check(int(a["consumed_train_samples"]) == 123456789012345, "consumed_train_samples")
        check(float(a["lr"]) == 2.5e-4, "lr")
        check(a["config"] == '{"num_layers": 2, "name": "t\\u00e9st"}', f"config {a['config']!r}")
        check(f.userblock_size == 1 << 20, f"user block {f.userblock_size}")
        for tid, (name, bf16, shape) in enumerate(TENSORS):
            d = f[name]
            check(d.shape == shape, f"{name}: shape {d.shape} != {shape}")
            check("checksum" in d.attrs and int(d.attrs["checksum_block"]) == 1000, f"{name}: checksum attributes")
            got = d.astype("f4")[()]
            want = expected(tid, shape, bf16)
            check(got.dtype == np.float32 and np.array_equal(got, want),
                  f"{name}: {np.sum(got != want) if got.shape == want.shape else 'shape'} values differ")
            ftype = d.id.get_type()  # the file type: h5py shows our bf16 float as float32 (no numpy bf16)
            check(ftype.get_size() == (2 if bf16 else 4), f"{name}: {ftype.get_size()} bytes per element in the file")
            if bf16:
                check(ftype.get_fields() == (15, 7, 8, 0, 7) and ftype.get_ebias() == 127, f"{name}: bf16 layout")
                check(np.array_equal(d[()], want), f"{name}: plain d[()] differs")
            print(f"  {name}: {d.shape} {'bf16' if bf16 else 'f32'}, {ftype.get_size()} bytes/element in the file, h5py dtype {d.dtype}")
    with open(path, "rb") as fh:
        check(fh.read(22) == b"FLAGSCALE-CKPT-INDEX 1", "index magic in the user block")
    for tool, args in (("h5ls", ["-r"]), ("h5dump", ["-H"])):
        if shutil.which(tool):
            r = subprocess.run([tool] + args + [path], capture_output=True, text=True, timeout=60)
            ok = r.returncode == 0 and "model.layers.0.self_attn.q_proj.weight" in r.stdout and "exp_avg" in r.stdout
            check(ok, f"{tool} {' '.join(args)} lists the tensors (rc {r.returncode}) {r.stderr[:300]}")
            print(f"  {tool} {' '.join(args)}: {'ok' if ok else 'FAILED'}")
        else:
            print(f"  ({tool} not installed: not checked)")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(check.summary("ckpt_h5py"))
