# src/core: errors, logging, options, timers, arenas, RNG, dtypes, memory-mapped files, the common app shell
libflagscale_a_SOURCES += src/core/fs_error.c src/core/fs_log.c src/core/fs_opt.c src/core/fs_app.c \
	src/core/fs_timer.c src/core/fs_arena.c src/core/fs_rng.c src/core/fs_dtype.c src/core/fs_file.c
pkginclude_HEADERS += src/core/fs_error.h src/core/fs_log.h src/core/fs_opt.h src/core/fs_app.h \
	src/core/fs_timer.h src/core/fs_arena.h src/core/fs_rng.h src/core/fs_dtype.h src/core/fs_file.h
