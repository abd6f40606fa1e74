# src/tokenizer: the tokenizer options shared by the apps
libflagscale_a_SOURCES += src/tokenizer/fs_tokenizer_options.c
pkginclude_HEADERS += src/tokenizer/fs_tokenizer_options.h
