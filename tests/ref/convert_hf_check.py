"""convert_hf_check.py CKPT_LOGITS TOKENS HF_DIR [HF_DIR2 CK_A CK_B] -- Hugging Face side of the conversion test:
  - transformers' LlamaForCausalLM.from_pretrained(HF_DIR) gives the logits our checkpoint gives (1e-5 relative)
  - AutoTokenizer.from_pretrained(HF_DIR) loads the exported tokenizer and encodes like GPT-2's
  - with HF_DIR2: its safetensors tensors equal HF_DIR's bit for bit (hf -> flagscale -> hf round trip), and the
    /model tensors of checkpoints CK_A and CK_B are identical (h5py)"""
import json
import sys

try:
    import numpy as np
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM
except ImportError as e:
    print(f"SKIP: transformers/torch not importable ({e})")
    sys.exit(77)

fails = []
ours = np.fromfile(sys.argv[1], dtype=np.float32)
tokens = [int(t) for t in sys.argv[2].split(",")]
model = LlamaForCausalLM.from_pretrained(sys.argv[3], torch_dtype=torch.float32)
with torch.no_grad():
    hf = model(torch.tensor([tokens])).logits[0].numpy().ravel()
err = float(np.linalg.norm(hf - ours) / np.linalg.norm(hf))
print(f"transformers from_pretrained logits vs ours: rel err {err:.2e} ({len(tokens)} tokens)")
if err > 1e-5:
    fails.append("logits")
tok = AutoTokenizer.from_pretrained(sys.argv[3])
text = "Fellow-Citizens of the Senate and House of Representatives:"
ids = tok(text)["input_ids"]
print(f"exported tokenizer: {len(tok)} tokens, eos {tok.eos_token!r} = {tok.eos_token_id} "
      f"(config {model.config.eos_token_id}), {ids[:6]}...")
if tok.decode(ids) != text or len(tok) != model.config.vocab_size or tok.eos_token_id != model.config.eos_token_id:
    fails.append("tokenizer")
if len(sys.argv) > 4:
    from safetensors.numpy import load_file
    import glob
    import h5py

    def tensors(d):
        out = {}
        for f in sorted(glob.glob(f"{d}/*.safetensors")):
            out.update(load_file(f))
        return out

    a, b = tensors(sys.argv[3]), tensors(sys.argv[4])
    diff = [k for k in a if k not in b or a[k].dtype != b[k].dtype or not np.array_equal(a[k], b[k])]
    print(f"hf -> flagscale -> hf: {len(a)} tensors, {len(diff)} differ, names equal: {sorted(a) == sorted(b)}")
    if diff or sorted(a) != sorted(b):
        fails.append("hf round trip")
    with h5py.File(sys.argv[5], "r") as fa, h5py.File(sys.argv[6], "r") as fb:
        names = []
        fa["model"].visit(lambda n: names.append(n) if isinstance(fa["model"][n], h5py.Dataset) else None)
        bad = [n for n in names if not np.array_equal(fa["model"][n][()], fb["model"][n][()])]
        print(f"checkpoint -> hf -> checkpoint: {len(names)} tensors, {len(bad)} differ")
        if bad or not names:
            fails.append("checkpoint round trip")
print("FAIL: " + ", ".join(fails) if fails else "ok")
sys.exit(1 if fails else 0)
