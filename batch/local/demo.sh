#!/bin/bash
# batch/local/demo.sh [NP] -- sets everything up (batch/local/setup.sh), then runs the demo job on the bundled
# corpus with NP MPI ranks (default 2): tokenize State of the Union addresses into Megatron .bin/.idx files.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
np=${1:-2}
"$top/batch/local/setup.sh"
build=$top/build
work=$top/demo-output
mkdir -p "$work"
xz -dc "$top/share/flagscale/data/sotu.jsonl.xz" > "$work/sotu.jsonl"
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 FLAGSCALE_DATA_DIR=$top/share/flagscale
echo "== preprocess: $np ranks, Aquila tokenizer"
mpirun -np "$np" "$build/apps/flagscale-preprocess" -input "$work/sotu.jsonl" -output_prefix "$work/sotu" \
  -tokenizer_type aquila -append_eod
ls -l "$work"/sotu_text_document.*
echo "== done: $work/sotu_text_document.{bin,idx} (Megatron indexed dataset)"
