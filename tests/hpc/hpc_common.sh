# tests/hpc/hpc_common.sh -- sourced by the HPC tests: a temp dir, the version, and `make install` into a
# temporary prefix (serialized with flock: tests may run in parallel in the same build dir).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs-hpc.XXXXXX")
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)
top_builddir=$(cd "${top_builddir:-.}" && pwd)
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")

# fs_install PREFIX: make install prefix=PREFIX (log in PREFIX.log); fails loudly
fs_install() {
  # the test harness's make variables (jobserver, TESTS=...) must not leak into this make
  ( cd "$top_builddir" && exec env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
      flock "$top_builddir/.hpc-install.lock" "${MAKE:-make}" install prefix="$1" ) > "$1.log" 2>&1 \
    || { echo "FAIL: make install prefix=$1"; tail -n 30 "$1.log"; return 1; }
  echo "installed into $1 ($(find "$1" -type f | wc -l) files)"
}

fail=0
check() {  # check DESCRIPTION COMMAND...: run, print PASS/FAIL
  if "${@:2}"; then echo "PASS: $1"; else echo "FAIL: $1"; fail=1; fi
}
