#!/bin/sh
# ops_vs_torch.sh -- the CPU op tables against PyTorch (tests/ref/ops_vs_torch.py).  Torch comes from Debian's
# python3-torch, usable by /usr/bin/python3 (not necessarily $PYTHON): set TORCH_PYTHON to use another one.
: "${top_srcdir:=.}" "${top_builddir:=.}"
py=${TORCH_PYTHON:-/usr/bin/python3}
tool=$top_builddir/tests/ref/ops_tool
if ! "$py" -c "import torch, numpy" >/dev/null 2>&1; then
  echo "SKIP: $py cannot import torch and numpy (apt-get install python3-torch, or set TORCH_PYTHON)"
  exit 77
fi
if [ ! -x "$tool" ]; then
  echo "ops_vs_torch.sh: $tool is not built (make check builds it)" >&2
  exit 1
fi
exec "$py" "$top_srcdir/tests/ref/ops_vs_torch.py" "$tool"
