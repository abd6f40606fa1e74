# share/flagscale: tokenizers, demo data, configs
# demo corpus (xz-compressed jsonl, public domain) -- installed under share/flagscale/data
corpusdir = $(pkgdatadir)/data
dist_corpus_DATA = share/flagscale/data/sotu.jsonl.xz share/flagscale/data/LICENSE.sotu
