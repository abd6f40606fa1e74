#!/bin/sh
# test_safetensors_py.sh -- fs_safetensors against the Python 'safetensors' package (tests/ref/formats_safetensors.py): files the package
# writes read exactly in C, files we write read exactly by the package.  Skips (77) when a module is missing.
set -e
: "${PYTHON:=python3}"
for mod in numpy safetensors; do
  if ! "$PYTHON" -c "import $mod" 2>/dev/null; then
    echo "SKIP: $PYTHON cannot import '$mod' (pip install numpy safetensors)"
    exit 77
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" "$top_srcdir/tests/ref/formats_safetensors.py" "$top_builddir/tests/ref/formats_tool" "$tmp"
