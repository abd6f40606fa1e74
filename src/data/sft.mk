# src/data: supervised fine-tuning datasets (fs_sft.h): jsonl conversations -> tokens + loss masks
libflagscale_a_SOURCES += src/data/fs_sft_encode.c src/data/fs_sft_dataset.c src/data/fs_sft_pack.c
pkginclude_HEADERS += src/data/fs_sft.h
check_PROGRAMS += tests/unit/test_sft_data
TESTS += tests/unit/test_sft_data
tests_unit_test_sft_data_SOURCES = tests/unit/test_sft_data.c
# loss masks through the trainer equal a PyTorch reference that drops the masked targets
check_PROGRAMS += tests/ref/sft_mask_tool
tests_ref_sft_mask_tool_SOURCES = tests/ref/sft_mask_tool.c tests/ref/ref_tool.c tests/ref/ref_tool.h
TESTS += tests/ref/test_sft_mask.sh
EXTRA_DIST += tests/ref/test_sft_mask.sh tests/ref/sft_mask_torch.py
