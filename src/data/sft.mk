# src/data: supervised fine-tuning datasets (fs_sft.h): jsonl conversations -> tokens + loss masks
libflagscale_a_SOURCES += src/data/fs_sft_encode.c src/data/fs_sft_dataset.c
pkginclude_HEADERS += src/data/fs_sft.h
check_PROGRAMS += tests/unit/test_sft_data
TESTS += tests/unit/test_sft_data
tests_unit_test_sft_data_SOURCES = tests/unit/test_sft_data.c
