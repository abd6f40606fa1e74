"""gguf_make.py HF_DIR OUT.gguf DEQ_DIR -- written independently of the C code, from llama.cpp's conventions:
makes a llama GGUF from a Hugging Face LLaMA folder as llama.cpp's converter does (q/k rows permuted per head,
matrices quantized to Q8_0 / Q4_0 with the gguf package, norms F32), and writes DEQ_DIR: the same model with the
dequantized weights back in Hugging Face layout (what an importer must reproduce).  Also checks our own GGUF
export when given a 4th argument: OURS.gguf must hold exactly the permuted tensors of HF_DIR."""
import glob
import json
import shutil
import sys

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as Q
    from safetensors.numpy import load_file, save_file
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

hf, out, deq = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = json.load(open(f"{hf}/config.json"))
W = {}
for f in glob.glob(f"{hf}/*.safetensors"):
    W.update(load_file(f))
nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]


def permute(w, n_head):  # llama.cpp convert_hf_to_gguf: rotary halves interleaved per head
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


NAMES = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
         "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
         "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
         "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
         "mlp.down_proj.weight": "ffn_down.weight"}


def gguf_name(n):
    if n == "model.embed_tokens.weight":
        return "token_embd.weight"
    if n == "model.norm.weight":
        return "output_norm.weight"
    if n == "lm_head.weight":
        return "output.weight"
    parts = n.split(".")
    return f"blk.{parts[2]}." + NAMES[".".join(parts[3:])]


if len(sys.argv) > 4:  # our export, F32: exact permuted copies
    r = gguf.GGUFReader(sys.argv[4])
    got = {t.name: np.array(t.data) for t in r.tensors}
    bad = 0
    for n, w in W.items():
        e = permute(w, nh) if n.endswith("q_proj.weight") else permute(w, nkv) if n.endswith("k_proj.weight") else w
        g = got.get(gguf_name(n))
        if g is None or g.size != e.size or not np.array_equal(g.reshape(e.shape), e.astype(np.float32)):
            print(f"our GGUF export: {gguf_name(n)} differs")
            bad += 1
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    print(f"our GGUF export: {len(got)} tensors, {bad} differ from the permuted HF weights, architecture {arch}")
    sys.exit(1 if bad or arch != "llama" or len(got) != len(W) else 0)

w = gguf.GGUFWriter(out, "llama")
w.add_block_count(cfg["num_hidden_layers"])
w.add_context_length(cfg["max_position_embeddings"])
w.add_embedding_length(cfg["hidden_size"])
w.add_feed_forward_length(cfg["intermediate_size"])
w.add_head_count(nh)
w.add_head_count_kv(nkv)
w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
w.add_rope_freq_base(cfg["rope_theta"])
vocab = json.load(open(f"{hf}/vocab.json"))
tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
merges = [l.rstrip("\n") for l in open(f"{hf}/merges.txt") if l.strip() and not l.startswith("#version")]
w.add_tokenizer_model("gpt2")
w.add_token_list(tokens)
w.add_token_merges(merges)
w.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")
D = {}
for i, (n, x) in enumerate(sorted(W.items())):
    x = x.astype(np.float32)
    if n.endswith("q_proj.weight"):
        x = permute(x, nh)
    elif n.endswith("k_proj.weight"):
        x = permute(x, nkv)
    if x.ndim == 1:
        qt, data = Q.F32, x
    else:
        qt = Q.Q8_0 if i % 2 else Q.Q4_0
        data = gguf.quants.quantize(x, qt)
    w.add_tensor(gguf_name(n), data, raw_dtype=qt)
    d = x if qt == Q.F32 else gguf.quants.dequantize(data, qt).reshape(x.shape)
    if n.endswith("q_proj.weight"):
        d = unpermute(d, nh)
    elif n.endswith("k_proj.weight"):
        d = unpermute(d, nkv)
    D[n] = np.ascontiguousarray(d.astype(np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
shutil.copytree(hf, deq, ignore=shutil.ignore_patterns("*.safetensors", "*.index.json"))
c = dict(cfg, torch_dtype="float32")
json.dump(c, open(f"{deq}/config.json", "w"))
save_file(D, f"{deq}/model.safetensors", metadata={"format": "pt"})
print(f"wrote {out}: {len(W)} tensors (Q4_0/Q8_0 matrices, F32 norms), {len(tokens)} tokens, {len(merges)} merges")
