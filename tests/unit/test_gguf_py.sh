#!/bin/sh
# test_gguf_py.sh -- fs_gguf against the Python 'gguf' package (tests/ref/formats_gguf.py): files the package
# writes read exactly in C, files we write read exactly by the package.  Skips (77) when a module is missing.
set -e
. "$top_srcdir/tests/ref/formats_py.sh"
fs_formats_py gguf
