# apps/flagscale-serve
bin_PROGRAMS += apps/flagscale-serve
apps_flagscale_serve_SOURCES = apps/flagscale-serve.c
# end to end over HTTP (curl): every endpoint, parity with flagscale-infer, streaming, concurrency, errors
TESTS += tests/mpi/test_serve.sh tests/mpi/test_serve_tp.sh tests/ref/serve_openai.py
EXTRA_DIST += tests/mpi/test_serve.sh tests/mpi/test_serve_tp.sh tests/mpi/serve_check.py tests/mpi/serve_drain.py \
	tests/ref/serve_openai.py
