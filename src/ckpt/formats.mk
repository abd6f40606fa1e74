# src/ckpt: Hugging Face safetensors and GGUF (fs_safetensors.h, fs_gguf.h) -- file formats only, no model knowledge
libflagscale_a_SOURCES += src/ckpt/fs_safetensors.c src/ckpt/fs_safetensors_model.c src/ckpt/fs_safetensors_write.c
pkginclude_HEADERS += src/ckpt/fs_safetensors.h
