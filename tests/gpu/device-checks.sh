#!/bin/bash
# tests/gpu/device-checks.sh -- the one script a GPU session runs: every tests/gpu test against the CPU reference.
#
# Here (the build machine, CUDA toolkit, no GPU), from the project root:
#   tests/gpu/device-checks.sh --prepare BUILD_DIR
#     installs BUILD_DIR into .device/prefix, adds the built GPU test programs under
#     .device/prefix/libexec/flagscale/gpu-tests, and packs .device/fs-bundle.tar.xz with
#     $FS_DEVICE_BUNDLE (default: ../shared/tools/device-bundle.sh beside the project root).  .device/ is kept out of git (.git/info/exclude),
#     so the session must carry it: run(command="tests/gpu/device-checks.sh", carry=[".device/fs-bundle.tar.xz"]).
# There (the GPU machine), from the project root:
#   tests/gpu/device-checks.sh
#     unpacks the bundle into /tmp, runs every gpu-tests/test_* (timeout FS_GPU_TEST_TIMEOUT s, default 300), writes
#     nvidia-smi.txt and one log per test into $OUT (default ./device-logs), prints a summary, and for a test that
#     fails or cannot start prints ldd of it (a missing library is fixed in the next bundle).
# Exit: 0 when every test passed (a skip counts as a failure there: the GPU machine must run them), else 1.
# Run without a GPU (as here) it is a dry run: every test skips, exit 0 with --allow-skip.
set -u
root=$(pwd)
if [ "${1:-}" = --prepare ]; then
  build=$(cd "${2:?usage: device-checks.sh --prepare BUILD_DIR}" && pwd) || exit 1
  bundler=${FS_DEVICE_BUNDLE:-$root/../shared/tools/device-bundle.sh}
  set -e
  rm -rf "$root/.device/prefix"
  mkdir -p "$root/.device"
  make -C "$build" -s install prefix="$root/.device/prefix" >/dev/null
  make -C "$build" -s check TESTS= >/dev/null # builds check_PROGRAMS (the GPU tests) without running anything
  dest=$root/.device/prefix/libexec/flagscale/gpu-tests
  mkdir -p "$dest"
  n=0
  for t in "$build"/tests/gpu/test_*; do
    [ -x "$t" ] && [ -f "$t" ] || continue
    cp "$t" "$dest/" && n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { echo "no GPU test programs in $build/tests/gpu: configure with CUDA first" >&2; exit 1; }
  if [ -d "$root/.git" ]; then
    mkdir -p "$root/.git/info"
    grep -qx '/.device/' "$root/.git/info/exclude" 2>/dev/null || echo '/.device/' >>"$root/.git/info/exclude"
  fi
  bash "$bundler" "$root/.device/prefix" "$root/.device/fs-bundle.tar.xz"
  echo "prepared: $n GPU test(s), $(du -h "$root/.device/fs-bundle.tar.xz" | cut -f1) in .device/fs-bundle.tar.xz"
  exit 0
fi
allow_skip=0
[ "${1:-}" = --allow-skip ] && allow_skip=1
out=${OUT:-$root/device-logs}
mkdir -p "$out"
bundle=$root/.device/fs-bundle.tar.xz
if [ ! -f "$bundle" ]; then
  echo "FAIL: $bundle is missing: run tests/gpu/device-checks.sh --prepare BUILD_DIR on the build machine and carry it"
  exit 1
fi
work=$(mktemp -d /tmp/fs-device.XXXXXX)
tar -xJf "$bundle" -C "$work" || { echo "FAIL: cannot unpack $bundle"; exit 1; }
# shellcheck disable=SC1091
source "$work/fs-bundle/env.sh"
{ nvidia-smi || echo "nvidia-smi: not available"; } >"$out/nvidia-smi.txt" 2>&1
head -15 "$out/nvidia-smi.txt"
tests=$(ls "$work"/fs-bundle/libexec/flagscale/gpu-tests/test_* 2>/dev/null)
[ -n "$tests" ] || { echo "FAIL: the bundle holds no GPU tests (libexec/flagscale/gpu-tests)"; exit 1; }
pass=0 fail=0 skip=0 summary=""
for t in $tests; do
  name=$(basename "$t")
  start=$(date +%s.%N)
  timeout "${FS_GPU_TEST_TIMEOUT:-300}" "$t" >"$out/$name.log" 2>&1
  rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo "?")
  case $rc in
    0) res=PASS pass=$((pass + 1)) ;;
    77) res=SKIP skip=$((skip + 1)) ;;
    *) res="FAIL(rc=$rc)" fail=$((fail + 1)) ;;
  esac
  summary="$summary$(printf '%-12s %-28s %8.2f s' "$res" "$name" "$secs" 2>/dev/null || echo "$res $name")\n"
  echo "== $name: $res"
  if [ "$res" != PASS ]; then
    tail -40 "$out/$name.log"
    [ "$res" = SKIP ] || { echo "-- ldd $name"; ldd "$t" | tee "$out/$name.ldd"; }
  else
    awk '{for (i = 1; i < NF; i++) if ($i == "nmax_err" || $i == "rel_err") print $(i + 1), $0}' "$out/$name.log" \
      | sort -g -r | head -5 | cut -d' ' -f2- | sed 's/^/   worst: /'
  fi
done
rm -rf "$work"
echo "==== device checks: $pass passed, $fail failed, $skip skipped (logs in $out)"
printf "%b" "$summary" | tee "$out/summary.txt"
[ "$fail" -eq 0 ] && { [ "$skip" -eq 0 ] || [ "$allow_skip" -eq 1 ]; }
