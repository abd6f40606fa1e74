# make fuzz: libFuzzer (clang -fsanitize=fuzzer,address,undefined) over flagscale-serve's request parsing and reply
# formatting (tests/fuzz/fuzz_request.c), FUZZ_SECONDS long, from the seed corpus tests/fuzz/corpus (new inputs go to
# tests/fuzz/corpus-run, a crash to tests/fuzz/crash-*).  Skipped without clang or libFuzzer.  Run it in a build
# without --enable-sanitizers (the library must not carry gcc's sanitizer runtime).
FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_SRCS = $(srcdir)/src/serve/fs_serve_http.c $(srcdir)/src/serve/fs_serve_fields.c \
	$(srcdir)/src/serve/fs_serve_api.c $(srcdir)/src/serve/fs_serve_openai.c $(srcdir)/src/serve/fs_serve_stream.c \
	$(srcdir)/src/serve/fs_serve_logprobs.c $(srcdir)/src/serve/fs_serve_util.c $(srcdir)/tests/fuzz/fuzz_request.c
EXTRA_DIST += tests/fuzz/fuzz_request.c tests/fuzz/request.dict tests/fuzz/corpus
fuzz: libflagscale.a
	@if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' | \
	  $(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - > /dev/null 2>&1; then \
	  echo "SKIP: $(FUZZ_CC) with libFuzzer (-fsanitize=fuzzer) not found"; exit 0; fi; \
	mkdir -p tests/fuzz/corpus-run && \
	OMPI_CC=$(FUZZ_CC) MPICH_CC=$(FUZZ_CC) $(CC) -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS) $(FUZZ_SRCS) \
	  libflagscale.a $(filter-out $(OPENMP_CFLAGS),$(FS_LIBS)) -lgomp -lpthread -o tests/fuzz/fuzz_request && \
	tests/fuzz/fuzz_request -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -artifact_prefix=tests/fuzz/ -dict=$(srcdir)/tests/fuzz/request.dict \
	  -print_final_stats=1 tests/fuzz/corpus-run $(srcdir)/tests/fuzz/corpus
.PHONY: fuzz
clean-local: clean-fuzz
clean-fuzz:
	rm -rf tests/fuzz/corpus-run tests/fuzz/fuzz_request
.PHONY: clean-fuzz
