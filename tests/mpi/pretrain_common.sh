# pretrain_common.sh -- sourced by the pretraining tests: a small dataset (the first 40 documents of the bundled
# corpus, GPT-2 tokenizer) in $tmp, and the tiny model options in $tiny.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FLAGSCALE_DATA_DIR="${top_srcdir:-.}/share/flagscale"
bin=${top_builddir:-.}/apps
xz -dc "${top_srcdir:-.}/share/flagscale/data/sotu.jsonl.xz" | head -n 40 > "$tmp/docs.jsonl"
"$bin/flagscale-preprocess" -input "$tmp/docs.jsonl" -output_prefix "$tmp/docs" -append_eod -log_interval 0 \
  > "$tmp/preprocess.log" 2>&1 || { cat "$tmp/preprocess.log"; exit 1; }
tiny="-data_path $tmp/docs_text_document -data_cache_path $tmp/cache -num_layers 2 -hidden_size 32
  -num_attention_heads 4 -num_query_groups 2 -seq_length 32 -micro_batch_size 2 -log_interval 1 -seed 7"
