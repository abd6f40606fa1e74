"""smollm2_check.py MODEL.gguf HF_EXPORT -- our import of a real GGUF (SmolLM2-135M-Instruct, Q4_1/Q8_0), exported
to Hugging Face, holds exactly the weights the gguf package dequantizes (q/k rows un-permuted as llama.cpp's
converter permuted them)."""
import glob
import sys

try:
    import numpy as np
    import gguf
    from safetensors.numpy import load_file
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

r = gguf.GGUFReader(sys.argv[1])
ours = {}
for f in glob.glob(f"{sys.argv[2]}/*.safetensors"):
    ours.update(load_file(f))
field = lambda k: r.fields[k].parts[-1][0]
nh, nkv = int(field("llama.attention.head_count")), int(field("llama.attention.head_count_kv"))
NAMES = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
         "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
         "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def hf_name(n):
    if n == "token_embd.weight":
        return "model.embed_tokens.weight"
    if n == "output_norm.weight":
        return "model.norm.weight"
    if n == "output.weight":
        return "lm_head.weight"
    _, layer, kind, _ = n.split(".")
    return f"model.layers.{layer}.{NAMES[kind]}.weight"


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


types, bad = {}, 0
for t in r.tensors:
    shape = tuple(int(x) for x in reversed(t.shape))
    d = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
    if t.name.endswith("attn_q.weight"):
        d = unpermute(d, nh)
    elif t.name.endswith("attn_k.weight"):
        d = unpermute(d, nkv)
    types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    o = ours.get(hf_name(t.name))
    if o is None or o.shape != d.shape or not np.array_equal(o, d):
        bad += 1
        if bad <= 3:
            print(f"differs: {t.name} -> {hf_name(t.name)}")
print(f"{len(r.tensors)} GGUF tensors {types}: {bad} differ from our import; {len(ours)} tensors exported")
sys.exit(1 if bad or len(ours) != len(r.tensors) else 0)
