"""lora_check.py -- checks for tests/mpi/test_lora.sh
  ckpt BASE.h5 LORA.h5          every base tensor of LORA.h5 is bit-identical to BASE.h5's; the adapters have PEFT's
                                names and shapes (lora_A (r, in), lora_B (out, r)), the model configuration records
                                them, and /optimizer holds the adapters' moments only
  logits OURS BASE X.bin...     every X equals OURS (base + adapters) within 1e-5 relative; OURS differs from BASE
  hf OURS TOKENS DIR [ADAPTER]  transformers' LlamaForCausalLM on the merged HF export gives OURS within 1e-5; with
                                ADAPTER, DIR is the base's export and PEFT (PeftModel) puts the adapter folder on it
  flops LOG                     the trainer's "model FLOPs per token" equals the count made here from the model
                                line of LOG: 6 per trained matmul weight, 4 per frozen (LoRA base) one, 12 L C T
  adapter LORA.h5 DIR           the PEFT folder DIR holds LORA.h5's adapters bit for bit under PEFT's names, and
                                adapter_config.json its rank, alpha and target modules"""
import json
import sys

import numpy as np


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def ckpt(base_path, lora_path):
    import h5py
    with h5py.File(base_path, "r") as b, h5py.File(lora_path, "r") as l:
        cfg = json.loads(l.attrs["model_config"])
        r = cfg["lora_rank"]
        print(f"model_config: lora_rank {r}, lora_alpha {cfg['lora_alpha']}, targets {cfg['lora_target_modules']}")
        base = sorted(b["model"].keys())
        names = sorted(l["model"].keys())
        adapters = [n for n in names if ".lora_" in n]
        bad = [n for n in base if not np.array_equal(b["model"][n][()].view(np.uint32), l["model"][n][()].view(np.uint32))]
        n_layers = cfg["num_layers"]
        want = 2 * n_layers * len(cfg["lora_target_modules"].split(","))
        shapes_ok = all(l["model"][n].shape[0 if "lora_A" in n else 1] == r for n in adapters)
        for n in adapters:  # the base layer's shape: A (r, in), B (out, r)
            w = l["model"][n.replace(".lora_A", "").replace(".lora_B", "")].shape
            shapes_ok &= l["model"][n].shape == ((r, w[1]) if "lora_A" in n else (w[0], r))
        opt = sorted(l["optimizer"].keys()) if "optimizer" in l else []
        print(f"{len(base)} base tensors, {len(bad)} changed; {len(adapters)} adapters (expected {want}), e.g. "
              f"{adapters[0]} {l['model'][adapters[0]].shape}; optimizer state for {len(opt)} tensors")
        ok = not bad and len(adapters) == want and shapes_ok and opt == adapters and set(names) == set(base + adapters)
        print("ok" if ok else f"FAIL: changed {bad[:3]} shapes_ok {shapes_ok} optimizer {opt[:3]}")
        return ok


def logits(ours, base, *others):
    a = np.fromfile(ours, dtype=np.float32)
    d = rel(a, np.fromfile(base, dtype=np.float32))
    print(f"base + adapters vs base: {d:.2e} (the adapters matter)")
    ok = d > 1e-4
    for o in others:
        e = rel(np.fromfile(o, dtype=np.float32), a)
        print(f"{o.rsplit('/', 2)[-1]} vs base + adapters: max difference {e:.2e} of the largest logit")
        ok &= e < 1e-5
    print("ok" if ok else "FAIL")
    return ok


def hf(ours, toks, folder, adapter=None):
    import torch
    from transformers import LlamaForCausalLM
    ids = [int(t) for t in toks.split(",")]
    model = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
    what = "the merged export"
    if adapter:
        from peft import PeftModel
        model, what = PeftModel.from_pretrained(model, adapter), "the base export + PEFT's adapter"
    with torch.no_grad():
        out = model(torch.tensor([ids])).logits[0].numpy()
    a = np.fromfile(ours, dtype=np.float32).reshape(len(ids), -1)
    e = rel(out[:, :a.shape[1]], a)
    print(f"transformers on {what} vs base + adapters: max difference {e:.2e} of the largest logit")
    return e < 1e-5


def flops(log):
    import re
    text = open(log).read()
    m = re.search(r"(\d+) layers, hidden (\d+), heads (\d+) \(kv (\d+), dim (\d+)\), ffn (\d+) \(swiglu\), vocab \d+ "
                  r"\(padded (\d+)\), seq (\d+)", text)
    L, C, H, KV, D, F, V, T = map(int, m.groups())
    lora = re.search(r"LoRA rank (\d+), alpha \S+ on (\S+):", text)
    r, targets = (int(lora.group(1)), lora.group(2).split(",")) if lora else (0, [])
    shapes = {"q_proj": (H * D, C), "k_proj": (KV * D, C), "v_proj": (KV * D, C), "o_proj": (C, H * D),
              "gate_proj": (F, C), "up_proj": (F, C), "down_proj": (C, F)}  # (out, in), the tied output layer apart
    base_w = 4 if lora else 6
    per_layer = sum(base_w * o * i + (6 * r * (o + i) if t in targets else 0) for t, (o, i) in shapes.items())
    want = L * per_layer + base_w * V * C + 12 * L * C * T
    got = float(re.search(r"model FLOPs per token: (\S+)", text).group(1))
    what = "LoRA rank %d on %s" % (r, ",".join(targets)) if r else "full training"
    print(f"model FLOPs per token: {got:.6e}, counted here {want:.6e} ({what})")
    return abs(got - want) <= 1e-6 * want


def adapter(lora_path, folder):
    import h5py
    from safetensors.numpy import load_file
    with open(f"{folder}/adapter_config.json") as f:
        conf = json.load(f)
    got = load_file(f"{folder}/adapter_model.safetensors")
    with h5py.File(lora_path, "r") as l:
        cfg = json.loads(l.attrs["model_config"])
        want = {"base_model.model." + n: l["model"][n][()] for n in l["model"].keys() if ".lora_" in n}
    same = sorted(got) == sorted(want) and all(np.array_equal(got[n].view(np.uint32), want[n].view(np.uint32))
                                               for n in want)
    conf_ok = (conf["peft_type"] == "LORA" and conf["r"] == cfg["lora_rank"] and conf["lora_alpha"] ==
               cfg["lora_alpha"] and ",".join(conf["target_modules"]) == cfg["lora_target_modules"])
    print(f"{len(got)} adapter tensors (checkpoint: {len(want)}), bit-identical: {same}; adapter_config.json r "
          f"{conf['r']} lora_alpha {conf['lora_alpha']} target_modules {conf['target_modules']}: {conf_ok}")
    return same and conf_ok


ok = {"ckpt": ckpt, "logits": logits, "hf": hf, "adapter": adapter, "flops": flops}[sys.argv[1]](*sys.argv[2:])
sys.exit(0 if ok else 1)
