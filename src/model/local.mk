# src/model: configuration, parameter table, the decoder's layer sequence
libflagscale_a_SOURCES += src/model/fs_model_config.c src/model/fs_param_table.c src/model/fs_model.c
pkginclude_HEADERS += src/model/fs_model_config.h src/model/fs_param_table.h src/model/fs_model.h
