#!/bin/sh
# test_layouts.sh -- the parallel layouts are equivalent: flagscale-pretrain's loss and gradient-norm sequences over
# 20 iterations (4 layers, clipping on) and the validation losses at iterations 10 and 20 (forward-only pipeline) at
# (TP, PP, DP) layouts equal those of (1, 1, 1) within 1e-5 relative; a pipeline stage holds only its parameters.
#   make check (default): a representative subset -- LLaMA (1,2,1), (2,2,1) + SP, (1,2,2) + distributed optimizer,
#     (2,2,2) + SP + distributed optimizer, (2,1,2); GPT-2 with tied embeddings across stages (1,2,1), (2,2,2) +
#     distributed optimizer; a layer count that pp does not divide is a clear error.
#   FS_LAYOUTS=full (make check-layouts): the whole matrix (1,1,1) (2,1,1) (1,2,1) (1,1,2) (2,2,1) (2,1,2) (1,2,2)
#     (2,2,2) for LLaMA plain, with -use_distributed_optimizer (DP > 1), with -sequence_parallel (TP > 1) and both;
#     GPT-2 plain at every layout and (2,2,2) with SP and the distributed optimizer.
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
export OMPI_MCA_mpi_yield_when_idle=1
args="-num_layers 4 -global_batch_size 8 -train_iters 20 -lr 3e-3 -lr_warmup_iters 3 -lr_decay_style cosine
  -min_lr 1e-4 -clip_grad 1.0 -eval_interval 10 -eval_iters 2"
gpt2="-num_query_groups 4 -normalization layernorm -position_embedding_type learned_absolute -swiglu false
  -add_bias_linear -untie_embeddings_and_output_weights false"
# run NAME TP PP DP OPTIONS...: world rank 0 writes NAME.jsonl
run() {
  name=$1 tp=$2 pp=$3 dp=$4
  shift 4
  timeout 300 $MPIEXEC -np $((tp * pp * dp)) "$bin/flagscale-pretrain" $tiny $args -metrics_file "$tmp/$name.jsonl" \
    -tensor_model_parallel_size $tp -pipeline_model_parallel_size $pp "$@" > "$tmp/$name.log" 2>&1 \
    || { cat "$tmp/$name.log"; echo "FAIL: $name"; exit 1; }
  runs="$runs $tmp/$name.jsonl"
}
compare() { # reference: the (1,1,1) run of the structure
  echo "== $1"
  $PYTHON "${top_srcdir:-.}/tests/mpi/tp_losses.py" "$tmp/$1_1_1_1.jsonl" $runs || exit 1
  $PYTHON - "$tmp/$1_1_1_1.jsonl" $runs <<'EOF' || exit 1
import json, sys
def valid(path):
    return {r["iteration"]: r["valid_loss"] for r in map(json.loads, open(path)) if "valid_loss" in r}
ref, worst = valid(sys.argv[1]), 0.0
for path in sys.argv[2:]:
    run = valid(path)
    if not ref or sorted(run) != sorted(ref):
        sys.exit(f"FAIL {path}: validation at iterations {sorted(run)}, reference {sorted(ref)}")
    worst = max([worst] + [abs(run[i] - ref[i]) / abs(ref[i]) for i in ref])
print(f"validation losses at iterations {sorted(ref)}: worst relative difference {worst:.2e}")
sys.exit(1 if worst > 1e-5 else 0)
EOF
}
layouts="2,1,1 1,2,1 1,1,2 2,2,1 2,1,2 1,2,2 2,2,2"
runs=""
run llama_1_1_1 1 1 1
if [ "${FS_LAYOUTS:-subset}" = full ]; then
  for l in $layouts; do
    IFS=, read tp pp dp <<EOT
$l
EOT
    run llama_${tp}_${pp}_${dp} $tp $pp $dp
    [ $dp -gt 1 ] && run llama_${tp}_${pp}_${dp}_do $tp $pp $dp -use_distributed_optimizer
    [ $tp -gt 1 ] && run llama_${tp}_${pp}_${dp}_sp $tp $pp $dp -sequence_parallel
    [ $tp -gt 1 ] && [ $dp -gt 1 ] && run llama_${tp}_${pp}_${dp}_sp_do $tp $pp $dp -sequence_parallel \
      -use_distributed_optimizer
  done
  compare llama
  runs=""
  run gpt2_1_1_1 1 1 1 $gpt2
  for l in $layouts; do
    IFS=, read tp pp dp <<EOT
$l
EOT
    run gpt2_${tp}_${pp}_${dp} $tp $pp $dp $gpt2
  done
  run gpt2_2_2_2_sp_do 2 2 2 $gpt2 -sequence_parallel -use_distributed_optimizer
  compare gpt2
else
  run llama_1_2_1 1 2 1
  run llama_2_2_1_sp 2 2 1 -sequence_parallel
  run llama_1_2_2_do 1 2 2 -use_distributed_optimizer
  run llama_2_1_2 2 1 2
  run llama_2_2_2_sp_do 2 2 2 -sequence_parallel -use_distributed_optimizer
  compare llama
  runs=""
  run gpt2_1_1_1 1 1 1 $gpt2
  run gpt2_1_2_1 1 2 1 $gpt2
  run gpt2_2_2_2_do 2 2 2 $gpt2 -use_distributed_optimizer
  compare gpt2
fi
grep -h -e "memory per" -e "pipeline stage" "$tmp/llama_1_1_1.log" "$tmp/llama_1_2_1.log" | cut -c 23-
# each stage allocates only its parameters: the two stages of (1,2,1) together hold those of (1,1,1)
$PYTHON - "$tmp/llama_1_1_1.log" "$tmp/llama_1_2_1.log" <<'EOF' || exit 1
import re, sys
whole = float(re.search(r"memory per rank .*?parameters ([0-9.]+)", open(sys.argv[1]).read()).group(1))
stages = [float(x) for x in re.findall(r"pipeline stage \d .*?parameters ([0-9.]+)", open(sys.argv[2]).read())]
if len(stages) != 2 or max(stages) >= whole or abs(sum(stages) - whole) > 0.02:
    sys.exit(f"FAIL: stage parameters {stages} MB, whole model {whole} MB")
print(f"parameters per stage {stages} MB, whole model {whole} MB")
EOF
# 4 layers do not split over 3 stages
if $MPIEXEC -np 3 "$bin/flagscale-pretrain" $tiny $args -pipeline_model_parallel_size 3 > "$tmp/bad.log" 2>&1; then
  echo "FAIL: 4 layers accepted over 3 pipeline stages"
  exit 1
fi
grep -q "pipeline_model_parallel_size 3 must divide -num_layers 4" "$tmp/bad.log" \
  || { cat "$tmp/bad.log"; echo "FAIL: no clear error for 4 layers over 3 stages"; exit 1; }
echo "4 layers over 3 stages: clear error"
