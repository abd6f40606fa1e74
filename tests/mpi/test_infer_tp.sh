#!/bin/sh
# test_infer_tp.sh -- the decode forward over the paged KV cache, tensor-parallel on 2 ranks (each rank's cache
# holds its kv heads), against the full forward of a TP = 1 model at every position (tests/unit/test_infer_forward
# under mpiexec: LLaMA GQA and GPT-2 with biases and learned positions, both CPU op tables).
prog=${top_builddir:-.}/tests/unit/test_infer_forward
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 300 $MPIEXEC -n 2 "$prog" > "$out" 2>&1 || { cat "$out"; echo "FAIL"; exit 1; }
grep "TP 2" "$out" | sort -u
grep -q "gpt2 (cpu, TP 2)" "$out" || { cat "$out"; echo "FAIL: not run at TP 2"; exit 1; }
