"""tp_losses.py REF.jsonl RUN.jsonl [RUN2.jsonl ...] -- the training losses of each run equal the reference's within
1e-5 relative, iteration by iteration (same iterations logged), and the loss went down; so do the gradient norms
(global over the tensor-parallel ranks).  Prints the worst relative difference of each run."""
import json
import sys


def losses(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r:
            out[r["iteration"]] = (r["loss"], r["grad_norm"])
    return out


ref = losses(sys.argv[1])
rtol = 1e-5
bad = False
for path in sys.argv[2:]:
    run = losses(path)
    if not run or sorted(run) != sorted(ref):
        print(f"FAIL {path}: iterations {sorted(run)} vs {sorted(ref)}")
        bad = True
        continue
    worst = max(abs(run[i][0] - ref[i][0]) / abs(ref[i][0]) for i in ref)
    worst_norm = max(abs(run[i][1] - ref[i][1]) / abs(ref[i][1]) for i in ref)
    first, last = run[min(run)][0], run[max(run)][0]
    print(f"{path.rsplit('/', 1)[-1]}: {len(run)} iterations, worst relative difference loss {worst:.2e}, "
          f"grad norm {worst_norm:.2e}, loss {first:.4f} -> {last:.4f}")
    if worst > rtol or worst_norm > rtol or not last < first:
        print(f"FAIL {path}: differs from the reference (tolerance {rtol:g}) or the loss did not go down")
        bad = True
sys.exit(1 if bad else 0)
