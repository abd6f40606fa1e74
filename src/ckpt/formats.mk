# src/ckpt: Hugging Face safetensors and GGUF (fs_safetensors.h, fs_gguf.h) -- file formats only, no model knowledge
libflagscale_a_SOURCES += src/ckpt/fs_safetensors.c src/ckpt/fs_safetensors_model.c src/ckpt/fs_safetensors_write.c \
	src/ckpt/fs_gguf.c src/ckpt/fs_gguf_meta.c src/ckpt/fs_gguf_quant.c src/ckpt/fs_gguf_write.c
pkginclude_HEADERS += src/ckpt/fs_safetensors.h src/ckpt/fs_gguf.h
# unit tests (C) and the Python reference tests (safetensors / gguf packages; skip when missing)
check_PROGRAMS += tests/unit/test_safetensors tests/unit/test_gguf tests/ref/formats_tool
TESTS += tests/unit/test_safetensors tests/unit/test_gguf tests/unit/test_safetensors_py.sh tests/unit/test_gguf_py.sh
tests_unit_test_safetensors_SOURCES = tests/unit/test_safetensors.c
tests_unit_test_gguf_SOURCES = tests/unit/test_gguf.c
tests_ref_formats_tool_SOURCES = tests/ref/formats_tool.c
EXTRA_DIST += tests/unit/test_safetensors_py.sh tests/unit/test_gguf_py.sh tests/ref/formats_safetensors.py \
	tests/ref/formats_gguf.py tests/ref/formats_py.sh
