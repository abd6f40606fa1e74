# src/tokenizer: byte-level BPE (GPT-2, Aquila), bit-exact with Hugging Face tokenizers
libflagscale_a_SOURCES += src/tokenizer/fs_tok_impl.h src/tokenizer/fs_tok_unicode.h src/tokenizer/fs_tok_strmap.c \
	src/tokenizer/fs_tokenizer_load.c src/tokenizer/fs_tokenizer_encode.c src/tokenizer/fs_tokenizer_bpe.c \
	src/tokenizer/fs_tokenizer_decode.c
pkginclude_HEADERS += src/tokenizer/fs_tokenizer.h

# tests: C unit test; ids against Hugging Face tokenizers (corpus + hard strings, both vocabularies)
check_PROGRAMS += tests/ref/tokenizer_tool
TESTS += tests/unit/test_tokenizer_hf.sh
EXTRA_DIST += tests/unit/test_tokenizer_hf.sh tests/ref/tokenizer_hf.py tests/ref/tokenizer_hard.jsonl \
	tests/ref/tokenizer_unicode_gen.py
check_PROGRAMS += tests/unit/test_tokenizer
TESTS += tests/unit/test_tokenizer

# benchmark (make bench): tokens/s vs Hugging Face tokenizers
EXTRA_PROGRAMS += tests/bench/tokenizer_bench
FS_BENCH_PROGS += tests/bench/tokenizer_bench
FS_BENCH_RUN += tests/bench/tokenizer_bench.sh
EXTRA_DIST += tests/bench/tokenizer_bench.sh tests/bench/tokenizer_bench.py
