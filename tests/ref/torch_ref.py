"""torch_ref.py -- what the PyTorch checks of a C tool's output folder share (model_vs_torch.py,
sft_mask_torch.py): numpy and torch imported (exit 77, skip, when they are not), fp32 by default, the folder's
meta.json and flat fp32 arrays, and the parameters of its table as torch tensors."""
import json
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F  # noqa: F401 (for the importers)
except ImportError as e:
    print(f"SKIP: PyTorch/numpy not importable ({e}); Debian: apt-get install python3-torch python3-numpy")
    sys.exit(77)

torch.set_default_dtype(torch.float32)


def load(d, *arrays):
    """meta.json of folder d, then the flat fp32 arrays d/NAME of the given names"""
    return (json.load(open(f"{d}/meta.json")), *(np.fromfile(f"{d}/{n}", dtype=np.float32) for n in arrays))


def param_tensors(meta, flat):
    """name -> a fresh leaf tensor (requires grad) of every parameter of meta's table, from the flat array"""
    out = {}
    for p in meta["params"]:
        n = p["shape"][0] * (p["shape"][1] if p["ndim"] == 2 else 1)
        a = flat[p["offset"]:p["offset"] + n].reshape(p["shape"] if p["ndim"] == 2 else [p["shape"][0]])
        out[p["name"]] = torch.tensor(a.copy(), requires_grad=True)
    return out
