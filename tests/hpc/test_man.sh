#!/bin/bash
# (driver.sh runs .sh tests with sh; these need bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# tests/hpc/test_man.sh -- the man pages generated from -help: every option of every app is in its page, the page
# has the usual sections and renders without groff warnings; gen-man.sh fails on a program whose -help fails.
. "$top_srcdir/tests/hpc/hpc_common.sh"
trap 'rm -rf "$tmp"' EXIT
command -v groff >/dev/null || { echo "SKIP: groff is not installed (Debian: groff-base)"; exit 77; }
for app in flagscale-preprocess flagscale-pretrain flagscale-finetune flagscale-convert flagscale-infer flagscale-serve; do
  page=$top_builddir/doc/man/$app.1
  check "$app.1 was built" test -s "$page"
  [ -s "$page" ] || continue
  for s in NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES ENVIRONMENT "SEE ALSO"; do
    check "$app.1 has section $s" grep -q "^\.SH \"\?$s" "$page"
  done
  groff -man -ww -Tutf8 "$page" > "$tmp/$app.txt" 2> "$tmp/$app.warn"
  check "$app.1 renders without groff warnings" test ! -s "$tmp/$app.warn"
  cat "$tmp/$app.warn"
  # every option -help lists must be documented (the page is current: make rebuilds it when the app changes)
  missing=0; n=0
  for opt in $("$top_builddir/apps/$app" -help | sed -n 's/^  \(-[a-z_0-9]*\).*/\1/p'); do
    n=$((n + 1))
    grep -q -- "^\\\\fB\\\\$opt\\\\fR" "$page" || { echo "  $opt is missing from $app.1"; missing=1; }
  done
  check "$app.1 documents all $n options of -help" test $missing = 0
  if "$top_builddir/apps/$app" -help | grep -q 'share/flagscale/tokenizers'; then
    check "$app.1 shows data paths as \$FLAGSCALE_DATA_DIR, not the build prefix" \
      grep -q 'FLAGSCALE_DATA_DIR/tokenizers' "$page"
  fi
done
# a broken program must not produce an empty page silently
printf '#!/bin/sh\nexit 3\n' > "$tmp/broken"; chmod +x "$tmp/broken"
check "gen-man.sh fails when -help fails" \
  bash -c "! sh '$top_srcdir/doc/man/gen-man.sh' '$tmp/broken' 0 > '$tmp/broken.1' 2>/dev/null"
exit $fail
