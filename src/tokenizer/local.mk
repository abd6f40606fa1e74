# src/tokenizer: byte-level BPE (GPT-2, Aquila), bit-exact with Hugging Face tokenizers
libflagscale_a_SOURCES += src/tokenizer/fs_tok_impl.h src/tokenizer/fs_tok_strmap.c \
	src/tokenizer/fs_tokenizer_load.c src/tokenizer/fs_tokenizer_encode.c src/tokenizer/fs_tokenizer_bpe.c \
	src/tokenizer/fs_tokenizer_decode.c
pkginclude_HEADERS += src/tokenizer/fs_tokenizer.h

# tests: C unit test; ids against Hugging Face tokenizers (corpus + hard strings, both vocabularies)
check_PROGRAMS += tests/ref/tokenizer_tool
TESTS += tests/unit/test_tokenizer_hf.sh
EXTRA_DIST += tests/unit/test_tokenizer_hf.sh tests/ref/tokenizer_hf.py tests/ref/tokenizer_hard.jsonl
