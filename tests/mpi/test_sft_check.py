"""test_sft_check.py -- checks on flagscale-finetune metrics files (tests/mpi/test_sft.sh):
  falls A.jsonl [F]        the validation loss went down (last < first by the fraction F, default 10%), the
                           training loss too
  same A.jsonl B.jsonl TOL training losses, grad norms and validation losses agree within TOL relative
                           (TOL 0: bit-identical), over the same iterations
  valid A.jsonl B.jsonl TOL  only the validation losses (test_pack.sh: packed vs unpacked training)
  first A.jsonl B.jsonl TOL  only the training loss of iteration 1 (before any update)"""
import json
import sys


def read(path):
    train, valid = {}, {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r:
            train[r["iteration"]] = (r["loss"], r["grad_norm"])
        if "valid_loss" in r:
            valid[r["iteration"]] = r["valid_loss"]
    return train, valid


if sys.argv[1] == "falls":
    train, valid = read(sys.argv[2])
    v = [valid[k] for k in sorted(valid)]
    t = [train[k][0] for k in sorted(train)]
    print(f"validation loss {' '.join(f'{x:.4f}' for x in v)}")
    print(f"training loss {t[0]:.4f} -> {t[-1]:.4f} over {len(t)} iterations")
    frac = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
    ok = len(v) >= 2 and v[-1] < (1 - frac) * v[0] and t[-1] < t[0]
    print("validation loss falls" if ok else f"FAIL: the validation loss did not fall by {100 * frac:g}%")
    sys.exit(0 if ok else 1)

(ta, va), (tb, vb) = read(sys.argv[2]), read(sys.argv[3])
tol = float(sys.argv[4])
if sys.argv[1] == "valid":
    ta, tb = {0: ()}, {0: ()}
if sys.argv[1] == "first":
    ta, tb, va, vb = {1: ta[1][:1]}, {1: tb[1][:1]}, {}, {}
if not ta or sorted(ta) != sorted(tb) or sorted(va) != sorted(vb):
    print(f"FAIL: different iterations logged: {sorted(ta)} / {sorted(va)} vs {sorted(tb)} / {sorted(vb)}")
    sys.exit(1)
worst = 0.0
for k in ta:
    for x, y in zip(ta[k], tb[k]):
        worst = max(worst, abs(x - y) / abs(y) if y else abs(x))
for k in va:
    worst = max(worst, abs(va[k] - vb[k]) / abs(vb[k]))
print(f"{sys.argv[2].rsplit('/', 1)[-1]} vs {sys.argv[3].rsplit('/', 1)[-1]}: {len(ta)} iterations, {len(va)} "
      f"validations, worst relative difference {worst:.2e} (tolerance {tol:g})")
sys.exit(0 if worst <= tol else 1)
