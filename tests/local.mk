# tests: unit tests of src/core (other folders add their own tests in their local.mk)
EXTRA_DIST += tests/unit/fs_test.h
check_PROGRAMS += tests/unit/test_core_rng tests/unit/test_core_dtype tests/unit/test_core_misc
TESTS += tests/unit/test_core_rng tests/unit/test_core_dtype tests/unit/test_core_misc \
	tests/unit/test_core_opt.sh
EXTRA_DIST += tests/unit/test_core_opt.sh
noinst_PROGRAMS += tests/unit/opt_demo
tests_unit_test_core_misc_SOURCES = tests/unit/test_core_misc.c
# unit tests (the C test programs) -- what CI runs again under the sanitizers
print-unit-tests:
	@echo $(filter tests/unit/test_%,$(check_PROGRAMS))
.PHONY: print-unit-tests
# what CI runs under the sanitizers: the unit tests and the tests other fragments add to FS_SAN_TESTS
print-san-tests:
	@echo $(filter tests/unit/test_%,$(check_PROGRAMS)) $(FS_SAN_TESTS)
.PHONY: print-san-tests
EXTRA_DIST += tests/run.sh tests/summary.sh
# what the Python reference tests share (tests/ref/*.py import them)
EXTRA_DIST += tests/ref/refcheck.py tests/ref/torch_ref.py
# GPU tests: built when CUDA is configured, skip (77) without a GPU
if HAVE_CUDA
check_PROGRAMS += tests/gpu/test_cuda_convert
TESTS += tests/gpu/test_cuda_convert
endif
EXTRA_DIST += tests/gpu/test_cuda_convert.c

# make installcheck (and so make distcheck): build a program against the installed library via pkg-config
EXTRA_DIST += tests/install/consumer.c
installcheck-local:
	PKG_CONFIG_PATH="$(DESTDIR)$(libdir)/pkgconfig:$${PKG_CONFIG_PATH:-}"; export PKG_CONFIG_PATH; \
	$(CC) -o installcheck-consumer $(srcdir)/tests/install/consumer.c \
	  `$(PKG_CONFIG) --cflags --libs flagscale` && ./installcheck-consumer
	rm -f installcheck-consumer
