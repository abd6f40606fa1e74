# src/dist: parallel layout (tp/dp/pp communicators), the tensor-parallel collectives, the pipeline schedule
libflagscale_a_SOURCES += src/dist/fs_layout.c src/dist/fs_collectives.c src/dist/fs_pipeline.c
pkginclude_HEADERS += src/dist/fs_layout.h src/dist/fs_collectives.h src/dist/fs_pipeline.h
# the layout equivalence matrix (TP x PP x DP, SP, distributed optimizer, tied embeddings across stages) and
# checkpoints across (TP, PP, DP) layouts; make check runs a subset of the matrix, make check-layouts all of it
TESTS += tests/mpi/test_layouts.sh tests/mpi/test_pp_resume.sh
EXTRA_DIST += tests/mpi/test_layouts.sh tests/mpi/test_pp_resume.sh
check-layouts: all
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) FS_LAYOUTS=full \
	  $(SHELL) $(abs_top_srcdir)/tests/driver.sh $(abs_top_srcdir)/tests/mpi/test_layouts.sh
.PHONY: check-layouts
