"""compare_metrics.py REF.jsonl RUN.jsonl [rtol] -- the training losses and grad norms of a run agree with the
reference's within rtol (default 1e-5) relative, iteration by iteration, over the same iterations, and the loss
went down.  tp_losses.py checks several runs against one reference with compare()."""
import json
import os
import sys


def losses(path):
    """iteration -> (loss, grad norm) of the metrics file's training records"""
    out = {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r:
            out[r["iteration"]] = (r["loss"], r["grad_norm"])
    return out


def compare(ref_path, run_path, rtol):
    """prints the worst relative differences of the run; True when it passes"""
    ref, run = losses(ref_path), losses(run_path)
    name = os.path.basename(run_path)
    if not run or sorted(run) != sorted(ref):
        print(f"FAIL {name}: iterations {sorted(run)} vs {sorted(ref)}")
        return False
    worst = max(abs(run[i][0] - ref[i][0]) / abs(ref[i][0]) for i in ref)
    worst_norm = max(abs(run[i][1] - ref[i][1]) / abs(ref[i][1]) for i in ref)
    first, last = run[min(run)][0], run[max(run)][0]
    print(f"{name}: {len(run)} iterations, worst relative difference loss {worst:.2e}, grad norm {worst_norm:.2e} "
          f"(tolerance {rtol:g}), loss {first:.4f} -> {last:.4f}")
    if worst > rtol or worst_norm > rtol:
        print(f"FAIL {name}: differs from {os.path.basename(ref_path)}")
        return False
    if not last < first:
        print(f"FAIL {name}: the loss did not go down")
        return False
    return True


if __name__ == "__main__":
    sys.exit(0 if compare(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5) else 1)
