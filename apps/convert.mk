# apps/flagscale-convert
bin_PROGRAMS += apps/flagscale-convert
apps_flagscale_convert_SOURCES = apps/flagscale-convert.c
check_PROGRAMS += tests/ref/logits_tool
TESTS += tests/ref/test_convert_hf.sh
EXTRA_DIST += tests/ref/test_convert_hf.sh tests/ref/convert_hf_check.py
TESTS += tests/ref/test_convert_gguf.sh
EXTRA_DIST += tests/ref/test_convert_gguf.sh tests/ref/gguf_make.py
