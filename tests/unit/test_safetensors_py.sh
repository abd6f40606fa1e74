#!/bin/sh
# test_safetensors_py.sh -- fs_safetensors against the Python 'safetensors' package (tests/ref/formats_safetensors.py): files the package
# writes read exactly in C, files we write read exactly by the package.  Skips (77) when a module is missing.
set -e
. "$top_srcdir/tests/ref/formats_py.sh"
fs_formats_py safetensors
