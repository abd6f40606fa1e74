"""same_infer.py A.jsonl B.jsonl -- two flagscale-infer outputs hold the same completions: every field equal
(tokens, text, finish reason, prompt ids), log-probabilities within 1e-4 (a tensor-parallel run sums partial
products in another order, so they may differ in the last bits)."""
import json
import sys

a, b = ([json.loads(line) for line in open(p)] for p in sys.argv[1:3])
if len(a) != len(b):
    sys.exit("FAIL: %d vs %d results" % (len(a), len(b)))
worst = 0.0
for i, (x, y) in enumerate(zip(a, b)):
    lx, ly = x.pop("logprobs"), y.pop("logprobs")
    if x != y or len(lx) != len(ly):
        sys.exit("FAIL: result %d differs:\n%s\n%s" % (i + 1, x, y))
    worst = max([worst] + [abs(p - q) for p, q in zip(lx, ly)])
if worst > 1e-4:
    sys.exit("FAIL: log-probabilities differ by %.3g" % worst)
print("%d results: same tokens and text, log-probabilities within %.2g" % (len(a), worst))
