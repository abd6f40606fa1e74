#!/bin/sh
# test_ckpt.sh -- checkpoint I/O on 2 and 3 ranks (round trip, every error on all ranks, corruption, tracker),
# then a checkpoint written by N in {1,2,3} ranks read back by every other rank count (exact values).
prog="$top_builddir/tests/unit/test_ckpt"
[ -x "$prog" ] || { echo "SKIP: $prog not built"; exit 77; }
command -v "${MPIEXEC%% *}" >/dev/null 2>&1 || { echo "SKIP: no mpiexec ($MPIEXEC)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_ckpt_ranks.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
run() { # run N ARGS... : a hang is a failure, not a stuck make check
  timeout 120 $MPIEXEC -n "$@" > "$tmp/log" 2>&1
  rc=$?
  grep -E "checks|FAILED" "$tmp/log"
  [ $rc = 0 ] || { cat "$tmp/log"; echo "FAIL: mpiexec -n $* (exit $rc)"; exit 1; }
}
for n in 2 3; do echo "== all on $n ranks"; run $n "$prog" all; done
for w in 1 2 3; do
  mkdir "$tmp/w$w"
  echo "== written by $w ranks"
  run $w "$prog" write "$tmp/w$w"
  for r in 1 2 3; do
    [ $r = $w ] && continue
    echo "== read by $r ranks"
    run $r "$prog" read "$tmp/w$w"
  done
done
echo "PASS"
