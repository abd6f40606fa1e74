#!/bin/sh
# test_gpt_ranks.sh -- the GPT index cache on 3 ranks: rank 0 builds, all ranks read the same arrays
prog="$top_builddir/tests/unit/test_gpt_index"
[ -x "$prog" ] || { echo "SKIP: $prog not built"; exit 77; }
command -v "${MPIEXEC%% *}" >/dev/null 2>&1 || { echo "SKIP: no mpiexec ($MPIEXEC)"; exit 77; }
exec $MPIEXEC -n 3 "$prog"
