# apps/flagscale-infer
bin_PROGRAMS += apps/flagscale-infer
apps_flagscale_infer_SOURCES = apps/flagscale-infer.c
# end to end (prompts file, scoring, stops, 2 ranks, errors) and greedy generation against HF transformers
TESTS += tests/mpi/test_infer.sh tests/ref/test_infer_hf.sh
EXTRA_DIST += tests/mpi/test_infer.sh tests/mpi/same_infer.py tests/ref/test_infer_hf.sh tests/ref/infer_hf.py
