# src/data: Megatron indexed dataset (.bin/.idx) and the preprocessing library behind flagscale-preprocess
libflagscale_a_SOURCES += src/data/fs_indexed.c
pkginclude_HEADERS += src/data/fs_indexed.h
check_PROGRAMS += tests/unit/test_indexed tests/ref/indexed_tool
TESTS += tests/unit/test_indexed tests/ref/indexed_ref.py
EXTRA_DIST += tests/ref/indexed_ref.py
tests_unit_test_indexed_SOURCES = tests/unit/test_indexed.c
tests_ref_indexed_tool_SOURCES = tests/ref/indexed_tool.c
