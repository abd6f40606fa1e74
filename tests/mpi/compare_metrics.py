"""compare_metrics.py A.jsonl B.jsonl [rtol] -- the training losses (and grad norms) of two runs agree within
rtol (default 1e-5) iteration by iteration, over the same iterations, and the loss went down."""
import json
import sys


def losses(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r:
            out[r["iteration"]] = (r["loss"], r["grad_norm"])
    return out


a, b = losses(sys.argv[1]), losses(sys.argv[2])
rtol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
if not a or sorted(a) != sorted(b):
    print(f"FAIL: different iterations logged: {sorted(a)} vs {sorted(b)}")
    sys.exit(1)
worst = 0.0
for it in sorted(a):
    for x, y in zip(a[it], b[it]):
        worst = max(worst, abs(x - y) / abs(y))
print(f"{len(a)} iterations, worst relative difference {worst:.2e} (tolerance {rtol:g})")
first, last = a[min(a)][0], a[max(a)][0]
print(f"loss {first:.4f} -> {last:.4f}")
if worst > rtol:
    print("FAIL: the runs differ")
    sys.exit(1)
if not last < first:
    print("FAIL: the loss did not go down")
    sys.exit(1)
