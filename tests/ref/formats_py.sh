# tests/ref/formats_py.sh -- sourced by tests/unit/test_gguf_py.sh and test_safetensors_py.sh:
#   fs_formats_py FORMAT   runs tests/ref/formats_FORMAT.py against tests/ref/formats_tool in a temp folder;
#                          skips (77) when $PYTHON cannot import numpy or the package named FORMAT
fs_formats_py() {
  : "${PYTHON:=python3}"
  for mod in numpy "$1"; do
    if ! "$PYTHON" -c "import $mod" 2>/dev/null; then
      echo "SKIP: $PYTHON cannot import '$mod' (pip install numpy $1)"
      exit 77
    fi
  done
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$PYTHON" "$top_srcdir/tests/ref/formats_$1.py" "$top_builddir/tests/ref/formats_tool" "$tmp"
}
