# src/data: GPT sample index, blending, their caches (see fs_gpt_dataset.h, fs_blend.h, doc/sample-index.md)
libflagscale_a_SOURCES += src/data/fs_mt19937.c src/data/fs_md5.c src/data/fs_npy.c src/data/fs_gpt_index.c \
	src/data/fs_gpt_cache.c src/data/fs_gpt_indexed.c src/data/fs_blend.c
pkginclude_HEADERS += src/data/fs_mt19937.h src/data/fs_md5.h src/data/fs_npy.h src/data/fs_gpt_dataset.h \
	src/data/fs_blend.h

# tests: C unit tests (1 and 3 ranks), the numpy reference comparison driven through gpt_index_tool
check_PROGRAMS += tests/unit/test_gpt_index tests/ref/gpt_index_tool
TESTS += tests/unit/test_gpt_index tests/unit/test_gpt_ranks.sh tests/ref/gpt_index_ref.py
EXTRA_DIST += tests/unit/test_gpt_ranks.sh tests/ref/gpt_index_ref.py
tests_unit_test_gpt_index_SOURCES = tests/unit/test_gpt_index.c
tests_ref_gpt_index_tool_SOURCES = tests/ref/gpt_index_tool.c
