# src/dist: parallel layout (tp/dp/pp communicators)
libflagscale_a_SOURCES += src/dist/fs_layout.c
pkginclude_HEADERS += src/dist/fs_layout.h
