#!/bin/bash
# batch/local/setup.sh [BUILD_DIR] -- installs what the build needs (Debian/Ubuntu, as root or with sudo),
# then configures and builds out of tree in BUILD_DIR (default: build).  Safe to run again.
# Environment: FS_CONFIGURE_FLAGS (extra configure flags), FS_SKIP_APT=1 (dependencies already there),
# FS_TEST_DEPS=1 (also what the reference tests use: PyTorch from Debian, numpy/tokenizers/tensorboard/h5py
# from PyPI; tests/run.sh sets it).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
pkgs="build-essential autoconf automake libtool pkg-config xz-utils
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libpetsc-real-dev
  libmicrohttpd-dev libjansson-dev libpcre2-dev libopenblas-dev"
[ "${FS_TEST_DEPS:-0}" = 1 ] && pkgs="$pkgs python3-torch python3-numpy python3-h5py python3-psutil python3-yaml"
if [ "${FS_SKIP_APT:-0}" != 1 ]; then
  need_apt=0
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_apt=1
  done
  if [ $need_apt = 1 ]; then
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    echo "== installing build dependencies with apt-get"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs
  fi
fi
# Python modules for the reference tests (optional: those tests skip without them)
mods="numpy tokenizers tensorboard h5py safetensors gguf openai"
if [ "${FS_TEST_DEPS:-0}" = 1 ] && command -v python3 >/dev/null \
   && ! python3 -c 'import numpy, tokenizers, tensorboard, h5py, safetensors, gguf, openai' 2>/dev/null; then
  echo "== installing $mods for the reference tests (pip)"
  # shellcheck disable=SC2086
  python3 -m pip install -q $mods 2>/dev/null \
    || python3 -m pip install -q --break-system-packages $mods 2>/dev/null \
    || echo "pip could not install $mods: the reference tests that need them will be skipped"
fi
# Hugging Face transformers for the model parity tests, beside Debian's PyTorch 1.13 (4.40 is the last line that
# supports it); optional: those comparisons are skipped without it
if [ "${FS_TEST_DEPS:-0}" = 1 ] && [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import transformers' 2>/dev/null; then
  echo "== installing transformers for the model parity tests (pip, system python)"
  /usr/bin/python3 -m pip install -q --break-system-packages "transformers==4.40.2" 2>/dev/null \
    || echo "pip could not install transformers: the Hugging Face comparisons will be skipped"
fi
# PEFT for the adapter-folder test, without dependencies (they would replace Debian's PyTorch with another one)
if [ "${FS_TEST_DEPS:-0}" = 1 ] && [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import peft' 2>/dev/null; then
  echo "== installing PEFT for the adapter tests (pip, system python, no dependencies)"
  /usr/bin/python3 -m pip install -q --break-system-packages --no-deps "peft==0.10.0" "accelerate==0.28.0" 2>/dev/null \
    || echo "pip could not install PEFT: the comparison with PEFT will be skipped"
fi
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" ${FS_CONFIGURE_FLAGS:-}
make -j"$(nproc)"
echo "== built in $build"
