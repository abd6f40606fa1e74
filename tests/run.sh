#!/bin/bash
# tests/run.sh [BUILD_DIR] -- builds (batch/local/setup.sh) and runs the test suite (make check); prints the
# logs of failed tests and a last line "N passed, N failed, N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
FS_TEST_DEPS=1 "$top/batch/local/setup.sh" "$build" || { echo "0 passed, 1 failed (build)"; exit 1; }
cd "$build"
make -j"$(nproc)" check
rc=$?
"$top/tests/summary.sh" "$build"
exit $rc
