"""tensorboard_check.py TB_DIR METRICS.jsonl -- reads the event files with the tensorboard package's own loader and
checks that the logged scalars equal the metrics file (float32 precision)."""
import glob
import json
import sys

try:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util
except ImportError as e:
    print(f"SKIP: the tensorboard package is not importable ({e}); pip install tensorboard")
    sys.exit(77)

files = glob.glob(f"{sys.argv[1]}/events.out.tfevents.*")
if len(files) != 1:
    print(f"FAIL: expected one event file, found {files}")
    sys.exit(1)
seen = {}
for ev in EventFileLoader(files[0]).Load():
    for v in ev.summary.value:
        val = v.simple_value if v.HasField("simple_value") else float(tensor_util.make_ndarray(v.tensor))
        seen[(v.tag, ev.step)] = val
metrics = [json.loads(l) for l in open(sys.argv[2])]
bad = 0
n = 0
for r in metrics:
    pairs = [("lm loss", "loss"), ("learning-rate", "lr"), ("grad-norm", "grad_norm")] if "loss" in r else \
        [("lm loss validation", "valid_loss")]
    for tag, key in pairs:
        got = seen.get((tag, r["iteration"]))
        n += 1
        if got is None or abs(got - r[key]) > 1e-6 * abs(r[key]) + 1e-12:
            print(f"FAIL: {tag} at {r['iteration']}: events {got}, metrics {r[key]}")
            bad += 1
print(f"{n} scalars compared, {bad} mismatches, {len(seen)} scalars in the event file")
sys.exit(1 if bad or n == 0 else 0)
