"""tokenizer_hf.py -- compares our ids (tokenizer_tool's output) with Hugging Face tokenizers built as a
ByteLevel BPE from the same vocab.json + merges.txt, specials added as special tokens.
usage: tokenizer_hf.py VOCAB MERGES SPECIALS|- INPUT.jsonl OURS.ids
       tokenizer_hf.py --fuzz OUT.jsonl N SEED   (writes N random hard documents)
Exit 0 = equal on every document, 1 = a difference (the first ones are printed), 77 = tokenizers missing."""
import json
import sys

try:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
except ImportError as e:
    print(f"SKIP: the Python package 'tokenizers' cannot be imported ({e}); pip install tokenizers")
    sys.exit(77)


def hf_tokenizer(vocab, merges, specials):
    tok = Tokenizer(models.BPE.from_file(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    if specials == "-":  # GPT-2: <|endoftext|> is its special token
        names = ["<|endoftext|>"]
    else:
        with open(specials, encoding="utf-8") as f:
            names = [line.rstrip("\r\n") for line in f if line.rstrip("\r\n")]
    tok.add_special_tokens(names)
    return tok


FUZZ_PIECES = [
    "a", "Z", "the", " ", "  ", "\t", "\n", "\r\n", "'", "'s", "'ll", "'RE", "0", "42", "3.5", ".", "!?", "--",
    "\u00e9", "e\u0301", "\u0301", "\u4e2d\u6587", "\u3002", "\U0001F600", "\U0001F468\u200d\U0001F469",
    "\u2764\ufe0f", "\u00a0", "\u3000", "\u180e", "\u200b", "\u2028", "\u0085", "\ufeff", "\u0663", "\u00b2",
    "</s>", "<|endoftext|>", "[MASK]", "<|startofpiece|>", "<", "|", "\x00", "\x1b", "\u0627\u0644", "\u0e20",
]


def fuzz(out, n, seed):
    import random
    import unicodedata
    rng = random.Random(seed)
    with open(out, "w") as f:
        for _ in range(n):
            parts = []
            for _ in range(rng.randrange(0, 60)):
                r = rng.random()
                if r < 0.75:
                    parts.append(rng.choice(FUZZ_PIECES))
                else:  # any assigned character (this Python's Unicode: fs_tok_unicode.h covers newer letters)
                    c = rng.randrange(0x20, 0xFFFF) if r < 0.9 else rng.randrange(0x10000, 0x30000)
                    c = "x" if 0xD800 <= c < 0xE000 else chr(c)
                    parts.append("x" if unicodedata.category(c) == "Cn" else c)
            f.write(json.dumps({"text": "".join(parts)}) + "\n")
    return 0


def main():
    if sys.argv[1] == "--fuzz":
        return fuzz(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    vocab, merges, specials, inp, ours_path = sys.argv[1:6]
    tok = hf_tokenizer(vocab, merges, specials)
    with open(inp, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    with open(ours_path) as f:
        ours = [[int(x) for x in line.split()] for line in f]
    if len(ours) != len(texts):
        print(f"FAIL: {len(texts)} documents but {len(ours)} lines of ids")
        return 1
    theirs = [e.ids for e in tok.encode_batch(texts)]
    bad = 0
    n_tokens = 0
    for i, (a, b) in enumerate(zip(ours, theirs)):
        n_tokens += len(b)
        if a == b:
            continue
        bad += 1
        if bad <= 5:
            k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
            lo = max(0, k - 3)
            print(f"FAIL: document {i + 1}: first difference at token {k} (ours {len(a)} tokens, HF {len(b)})")
            print(f"  ours: {a[lo:k + 5]} = {[tok.id_to_token(x) for x in a[lo:k + 5]]}")
            print(f"  HF:   {b[lo:k + 5]} = {[tok.id_to_token(x) for x in b[lo:k + 5]]}")
            print(f"  text: {texts[i][:200]!r}")
    print(f"{inp}: {len(texts)} documents, {n_tokens} HF tokens, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
