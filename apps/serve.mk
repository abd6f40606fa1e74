# apps/flagscale-serve
bin_PROGRAMS += apps/flagscale-serve
apps_flagscale_serve_SOURCES = apps/flagscale-serve.c
# end to end over HTTP (curl): every endpoint, parity with flagscale-infer, streaming, concurrency, errors
TESTS += tests/mpi/test_serve.sh tests/mpi/test_serve_tp.sh tests/ref/serve_openai.py tests/mpi/test_serve_load.sh
EXTRA_DIST += tests/mpi/test_serve.sh tests/mpi/test_serve_tp.sh tests/mpi/serve_check.py tests/mpi/serve_drain.py \
	tests/ref/serve_openai.py tests/mpi/test_serve_load.sh tests/mpi/serve_load.py
# CI runs these again under ASan + UBSan (make print-san-tests)
FS_SAN_TESTS += tests/mpi/test_serve.sh tests/mpi/test_serve_tp.sh tests/ref/serve_openai.py tests/mpi/test_serve_load.sh
