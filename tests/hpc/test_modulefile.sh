#!/bin/bash
# (driver.sh runs .sh tests with sh; these need bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# tests/hpc/test_modulefile.sh -- make install into a temporary prefix, then in a clean shell (env -i):
# module use PREFIX/share/modulefiles; module load flagscale; the executables, man pages, pkg-config file and
# FLAGSCALE_DATA_DIR come from PREFIX; module unload restores the environment.
. "$top_srcdir/tests/hpc/hpc_common.sh"
trap 'rm -rf "$tmp"' EXIT
init=/usr/share/modules/init/bash
[ -f "$init" ] || { echo "SKIP: environment-modules is not installed ($init missing; Debian: apt-get install environment-modules)"; exit 77; }
command -v man >/dev/null || { echo "SKIP: man is not installed (Debian: man-db)"; exit 77; }
p=$tmp/prefix
fs_install "$p" || exit 1
check "modulefile installed as share/modulefiles/flagscale/$version" test -f "$p/share/modulefiles/flagscale/$version"
check "modulefile has the install prefix" grep -q "root *{$p}" "$p/share/modulefiles/flagscale/$version"
for d in bin/flagscale-pretrain bin/flagscale-preprocess lib/libflagscale.a include/flagscale/fs_app.h \
         lib/pkgconfig/flagscale.pc share/man/man1/flagscale-pretrain.1 share/man/man1/flagscale-preprocess.1 \
         share/flagscale/configs/aquila-7b.opts share/flagscale/batch/fs-job.sh \
         share/flagscale/batch/slurm/pretrain.sbatch share/flagscale/batch/pbs/pretrain.pbs; do
  check "installed $d" test -e "$p/$d"
done
env -i HOME="$tmp" PATH=/usr/local/bin:/usr/bin:/bin TERM=dumb bash -c '
  set -u; p=$1; version=$2; f=0
  ok() { if eval "$2"; then echo "PASS: $1"; else echo "FAIL: $1"; f=1; fi; }
  type module >/dev/null 2>&1 && echo "note: module already defined"
  source /usr/share/modules/init/bash
  module use "$p/share/modulefiles"
  module load flagscale || { echo "FAIL: module load flagscale"; exit 1; }
  module list 2>&1 | grep -q "flagscale/$version" ; ok "module list shows flagscale/$version" "[ $? = 0 ]"
  ok "flagscale-pretrain is the installed one" "[ \"\$(command -v flagscale-pretrain)\" = \"$p/bin/flagscale-pretrain\" ]"
  out=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 flagscale-pretrain -version 2>&1); echo "$out" | head -n 1
  ok "flagscale-pretrain -version prints $version" "echo \"\$out\" | grep -q \"$version\""
  w=$(man -w flagscale-pretrain 2>&1); echo "man -w flagscale-pretrain: $w"
  ok "man -w finds the installed page" "[ \"\$w\" = \"$p/share/man/man1/flagscale-pretrain.1\" ]"
  ok "man renders flagscale-preprocess" "man -P cat flagscale-preprocess 2>/dev/null | grep -q OPTIONS"
  ok "system man pages still found (MANPATH keeps the defaults)" "man -w ls >/dev/null 2>&1 || ! [ -e /usr/share/man/man1/ls.1.gz ]"
  v=$(pkg-config --modversion flagscale 2>&1); echo "pkg-config --modversion flagscale: $v"
  ok "pkg-config finds flagscale $version" "[ \"\$v\" = \"$version\" ]"
  ok "pkg-config cflags point at PREFIX/include/flagscale" "pkg-config --cflags flagscale | grep -q -- \"-I$p/include/flagscale\""
  ok "FLAGSCALE_DATA_DIR=PREFIX/share/flagscale" "[ \"\${FLAGSCALE_DATA_DIR:-}\" = \"$p/share/flagscale\" ]"
  ok "LD_LIBRARY_PATH has PREFIX/lib" "case :\${LD_LIBRARY_PATH:-}: in *:$p/lib:*) true;; *) false;; esac"
  module unload flagscale
  ok "module unload restores PATH" "[ \"\$PATH\" = /usr/local/bin:/usr/bin:/bin ]"
  ok "module unload unsets FLAGSCALE_DATA_DIR" "[ -z \"\${FLAGSCALE_DATA_DIR:-}\" ]"
  exit $f
' bash "$p" "$version" || fail=1
exit $fail
