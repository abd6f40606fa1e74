# src/dist: parallel layout (tp/dp/pp communicators) and the tensor-parallel collectives
libflagscale_a_SOURCES += src/dist/fs_layout.c src/dist/fs_collectives.c
pkginclude_HEADERS += src/dist/fs_layout.h src/dist/fs_collectives.h
