"""tp_losses.py REF.jsonl RUN.jsonl [RUN2.jsonl ...] -- the training losses and gradient norms (global over the
tensor-parallel ranks) of each run equal the reference's within 1e-5 relative, iteration by iteration (same
iterations logged), and the loss went down: compare_metrics.py's check of every run."""
import sys

from compare_metrics import compare

results = [compare(sys.argv[1], path, 1e-5) for path in sys.argv[2:]]
sys.exit(0 if results and all(results) else 1)
