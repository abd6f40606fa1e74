#!/bin/sh
# test_doc_options.sh -- doc/options.md matches the apps' -help (regenerate with doc/gen-options.sh BUILD_DIR)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
sh "${top_srcdir:-.}/doc/gen-options.sh" "${top_builddir:-.}" > "$tmp" || exit 1
# install paths differ between builds: compare with them masked
mask() { sed -e 's|<[^ >]*/share/flagscale/|<DATADIR/|g' "$1"; }
if ! mask "$tmp" | diff -u - "$(mask "${top_srcdir:-.}/doc/options.md" >"$tmp.doc"; echo "$tmp.doc")"; then
  echo "FAIL: doc/options.md is out of date: run doc/gen-options.sh BUILD_DIR > doc/options.md"
  rm -f "$tmp.doc"; exit 1
fi
rm -f "$tmp.doc"
echo "doc/options.md matches -help of every app"
