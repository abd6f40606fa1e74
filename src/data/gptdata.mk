# src/data: training data = datasets + splits + sample indices + blend (fs_gpt_data.h)
libflagscale_a_SOURCES += src/data/fs_gpt_data.c
pkginclude_HEADERS += src/data/fs_gpt_data.h
