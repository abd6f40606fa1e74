# tests/bench/bench_common.sh -- sourced by the benchmarks that run the apps (bin=$top_builddir/apps):
#   fs_bench_need SCRIPT APP...  stops (exit 1) unless the apps are built
#   fs_bench_data N              a temp folder $tmp (removed on exit), FLAGSCALE_DATA_DIR, and the dataset
#                                $tmp/docs_text_document: the first N speeches of the bundled corpus, GPT-2 tokens
: "${top_srcdir:=.}" "${top_builddir:=.}"
bin=$top_builddir/apps

fs_bench_need() {
  name=$1; shift
  for p in "$@"; do
    [ -x "$bin/$p" ] || { echo "$name: $bin/$p is not built (run make)" >&2; exit 1; }
  done
}

fs_bench_data() {
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  export FLAGSCALE_DATA_DIR="$top_srcdir/share/flagscale"
  xz -dc "$top_srcdir/share/flagscale/data/sotu.jsonl.xz" | head -n "$1" > "$tmp/docs.jsonl"
  "$bin/flagscale-preprocess" -input "$tmp/docs.jsonl" -output_prefix "$tmp/docs" -append_eod -log_interval 0 \
    > "$tmp/preprocess.log" 2>&1 || { cat "$tmp/preprocess.log"; exit 1; }
}
