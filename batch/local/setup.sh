#!/bin/bash
# batch/local/setup.sh [BUILD_DIR] -- installs what the build needs (Debian/Ubuntu, as root or with sudo),
# then configures and builds out of tree in BUILD_DIR (default: build).  Safe to run again.
# Environment: FS_CONFIGURE_FLAGS (extra configure flags), FS_SKIP_APT=1 (dependencies already there).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
pkgs="build-essential autoconf automake libtool pkg-config xz-utils
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libpetsc-real-dev
  libmicrohttpd-dev libjansson-dev libpcre2-dev libopenblas-dev"
if [ "${FS_SKIP_APT:-0}" != 1 ]; then
  missing=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null | grep -vc 'install ok installed' || true)
  if [ "$missing" != 0 ] || [ "$(dpkg-query -W $pkgs 2>&1 | grep -c 'no packages found')" != 0 ]; then
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    echo "== installing build dependencies with apt-get"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs
  fi
fi
# Python modules for the reference tests (optional: those tests skip without them)
if command -v python3 >/dev/null && ! python3 -c 'import numpy, tokenizers' 2>/dev/null; then
  echo "== installing numpy and tokenizers for the reference tests (pip)"
  python3 -m pip install -q numpy tokenizers 2>/dev/null \
    || python3 -m pip install -q --break-system-packages numpy tokenizers 2>/dev/null \
    || echo "pip could not install numpy/tokenizers: the reference tests will be skipped"
fi
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" ${FS_CONFIGURE_FLAGS:-}
make -j"$(nproc)"
echo "== built in $build"
