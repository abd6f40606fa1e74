#!/bin/sh
# tests/driver.sh TEST [ARGS] -- runs one test (a program or a .sh/.py script) in the test environment.
# Exit 77 = skipped (automake's convention), printed with the reason by the test itself.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
: "${top_srcdir:=$here/..}"
: "${top_builddir:=.}"
export top_srcdir top_builddir
t=$1
shift
case "$t" in
  *.sh) exec sh "$t" "$@" ;;
  *.py) exec "$PYTHON" "$t" "$@" ;;
  *) exec "$t" "$@" ;;
esac
