#!/bin/bash
# tests/summary.sh BUILD_DIR... -- prints the logs of failed tests and one line "N passed, N failed, N skipped"
# counted from the automake .trs files of all given build dirs.
pass=0 fail=0 skip=0
for b in "$@"; do
  while IFS= read -r trs; do
    r=$(sed -n 's/^:test-result: //p' "$trs" | head -1)
    case "$r" in
      PASS|XFAIL) pass=$((pass + 1)) ;;
      SKIP) skip=$((skip + 1)) ;;
      *) fail=$((fail + 1)); echo "---- failed: ${trs%.trs}.log"; tail -n 40 "${trs%.trs}.log" ;;
    esac
  done < <(find "$b" -name '*.trs' 2>/dev/null | sort)
done
echo "$pass passed, $fail failed, $skip skipped"
