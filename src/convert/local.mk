# src/convert: Hugging Face / GGUF <-> model (flagscale-convert)
libflagscale_a_SOURCES += src/convert/fs_hf_config.c src/convert/fs_hf_weights.c src/convert/fs_gguf_model.c src/convert/fs_convert_app.c \
	src/convert/fs_peft.c
pkginclude_HEADERS += src/convert/fs_hf.h src/convert/fs_gguf_model.h src/convert/fs_convert.h src/convert/fs_peft.h
