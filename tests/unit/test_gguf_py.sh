#!/bin/sh
# test_gguf_py.sh -- fs_gguf against the Python 'gguf' package (tests/ref/formats_gguf.py): files the package
# writes read exactly in C, files we write read exactly by the package.  Skips (77) when a module is missing.
set -e
: "${PYTHON:=python3}"
for mod in numpy gguf; do
  if ! "$PYTHON" -c "import $mod" 2>/dev/null; then
    echo "SKIP: $PYTHON cannot import '$mod' (pip install numpy gguf)"
    exit 77
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" "$top_srcdir/tests/ref/formats_gguf.py" "$top_builddir/tests/ref/formats_tool" "$tmp"
