"""same_losses.py A.jsonl B.jsonl -- the two runs logged the same iterations with bit-identical loss, grad norm,
lr and validation loss (a resumed run against a straight one); timing fields are ignored."""
import json
import sys

KEEP = ("iteration", "consumed_samples", "lr", "global_batch_size", "loss", "grad_norm", "valid_loss",
        "skipped_iterations", "nan_iterations")


def rows(path):
    return [{k: v for k, v in json.loads(l).items() if k in KEEP} for l in open(path)]


a, b = rows(sys.argv[1]), rows(sys.argv[2])
bad = [(x, y) for x, y in zip(a, b) if x != y]
print(f"{len(a)} vs {len(b)} records, {len(bad)} differ")
for x, y in bad[:5]:
    print("  ", x, "\n  ", y)
sys.exit(0 if a and len(a) == len(b) and not bad else 1)
