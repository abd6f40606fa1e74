# src/ckpt: Hugging Face safetensors and GGUF (fs_safetensors.h, fs_gguf.h) -- file formats only, no model knowledge
libflagscale_a_SOURCES += src/ckpt/fs_safetensors.c src/ckpt/fs_safetensors_model.c src/ckpt/fs_safetensors_write.c
pkginclude_HEADERS += src/ckpt/fs_safetensors.h
check_PROGRAMS += tests/unit/test_safetensors
TESTS += tests/unit/test_safetensors
tests_unit_test_safetensors_SOURCES = tests/unit/test_safetensors.c
