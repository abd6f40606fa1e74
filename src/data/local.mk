# src/data: Megatron indexed dataset (.bin/.idx) and the preprocessing library behind flagscale-preprocess
libflagscale_a_SOURCES += src/data/fs_indexed.c src/data/fs_preprocess.c
pkginclude_HEADERS += src/data/fs_indexed.h src/data/fs_preprocess.h
check_PROGRAMS += tests/unit/test_indexed tests/ref/indexed_tool
TESTS += tests/unit/test_indexed tests/ref/indexed_ref.py tests/mpi/test_preprocess.sh
EXTRA_DIST += tests/ref/indexed_ref.py tests/mpi/test_preprocess.sh tests/mpi/test_preprocess_hf.py
tests_unit_test_indexed_SOURCES = tests/unit/test_indexed.c
tests_ref_indexed_tool_SOURCES = tests/ref/indexed_tool.c
