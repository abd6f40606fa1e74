#!/bin/sh
# test_serve_tp.sh -- test_serve.sh with the server tensor-parallel on 2 ranks (mpiexec -n 2): every endpoint's
# answers equal the 1-rank flagscale-infer references (greedy and seeded sampling), a client that goes away is
# cancelled on both ranks (cache freed), SIGTERM to rank 0 finishes the request in flight and both ranks exit 0.
FS_SERVE_NP=2 exec sh "${top_srcdir:-.}/tests/mpi/test_serve.sh"
