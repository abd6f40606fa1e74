#!/bin/bash
# batch/local/demo.sh [NP] -- sets everything up (batch/local/setup.sh), then runs the demo on the bundled corpus
# with NP MPI ranks (default 2): tokenize State of the Union addresses into a Megatron dataset, then pretrain a
# small LLaMA on it (share/flagscale/configs/demo-llama.opts) and watch the validation loss fall.
# Extra arguments after NP go to flagscale-pretrain (e.g. -train_iters 50).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
np=${1:-2}
shift || true
"$top/batch/local/setup.sh"
build=$top/build
work=$top/demo-output
mkdir -p "$work"
xz -dc "$top/share/flagscale/data/sotu.jsonl.xz" > "$work/sotu.jsonl"
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 FLAGSCALE_DATA_DIR=$top/share/flagscale
# one thread per rank unless asked otherwise: NP ranks share this machine's cores
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
echo "== 1/2 preprocess: $np ranks, GPT-2 tokenizer -> $work/sotu_text_document.{bin,idx}"
mpirun -np "$np" "$build/apps/flagscale-preprocess" -input "$work/sotu.jsonl" -output_prefix "$work/sotu" \
  -tokenizer_type gpt2bpe -append_eod
echo "== 2/2 pretrain a small LLaMA on it: $np data-parallel ranks (share/flagscale/configs/demo-llama.opts)"
mpirun -np "$np" "$build/apps/flagscale-pretrain" -options_file "$top/share/flagscale/configs/demo-llama.opts" \
  -data_path "$work/sotu_text_document" -data_cache_path "$work/index-cache" \
  -metrics_file "$work/metrics.jsonl" -tensorboard_dir "$work/tensorboard" "$@"
echo "== done. Validation losses:"
grep valid_loss "$work/metrics.jsonl" | tail -n 20
echo "(metrics: $work/metrics.jsonl; TensorBoard: tensorboard --logdir $work/tensorboard)"
