"""schedule_ref.py METRICS.jsonl MAX_LR MIN_LR WARMUP_SAMPLES DECAY_SAMPLES STYLE START INCR RAMP FINAL_GBS --
checks the learning rate and global batch size logged at every iteration against an independent implementation
of Megatron's OptimizerParamScheduler.get_lr and RampupBatchsizeNumMicroBatches (written here from their
definitions).  The lr logged at an iteration is the one used by it: the scheduler's value after the samples
consumed before that iteration."""
import json
import math
import sys

path = sys.argv[1]
max_lr, min_lr = float(sys.argv[2]), float(sys.argv[3])
warmup, decay = int(sys.argv[4]), int(sys.argv[5])
style = sys.argv[6]
start, incr, ramp, final = (int(x) for x in sys.argv[7:11])


def lr_at(n):
    if warmup > 0 and n <= warmup:
        return max_lr * n / warmup
    if style == "constant":
        return max_lr
    if n > decay:
        return min_lr
    ratio = (n - warmup) / (decay - warmup)
    coeff = 1.0 - ratio if style == "linear" else 0.5 * (math.cos(math.pi * ratio) + 1.0)
    return min_lr + coeff * (max_lr - min_lr)


def gbs_at(consumed):
    if ramp <= 0 or consumed > ramp:
        return final
    steps = (final - start) // incr
    per = ramp / steps
    return min(start + int(consumed / per) * incr, final)


rows = [json.loads(l) for l in open(path) if '"loss"' in l]
consumed, bad = 0, 0
for r in rows:
    g = gbs_at(consumed)
    lr = lr_at(consumed)
    if r["global_batch_size"] != g or abs(r["lr"] - lr) > 1e-7 * max(lr, 1e-30) + 1e-15:
        print(f"iteration {r['iteration']}: logged gbs {r['global_batch_size']} lr {r['lr']:.9g}, expected {g} {lr:.9g}")
        bad += 1
    consumed += g
    if r["consumed_samples"] != consumed:
        print(f"iteration {r['iteration']}: consumed {r['consumed_samples']}, expected {consumed}")
        bad += 1
sizes = sorted({r["global_batch_size"] for r in rows})
print(f"{len(rows)} iterations checked, batch sizes seen {sizes}, {bad} mismatches")
sys.exit(1 if bad or len(rows) < 5 or (ramp > 0 and len(sizes) < 2) else 0)
