#!/usr/bin/env bash
# test.sh: the whole test suite, as CI runs it. Builds two trees, the
# optimised one (build/) and one under AddressSanitizer + UBSan
# (build-asan/), runs every ctest test in both (unit, numeric reference,
# black-box) and ends with one line "N passed, M failed".
#
#   scripts/test.sh              everything
#   scripts/test.sh -R regex     only tests whose name matches (both trees)
#   ES_TEST_TREES="build"        only the optimised tree (faster while developing)
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=$(nproc)
trees=${ES_TEST_TREES:-"build build-asan"}
export ECOSIGHT_SHARED=${ECOSIGHT_SHARED:-$(cd "$here/.." && pwd)/shared}
# Tests must never depend on a benchmark-only environment tweak.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0; failed=0; status=0
for tree in $trees; do
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [ "$tree" = build-asan ] && flags=(-DCMAKE_BUILD_TYPE=Debug -DES_SANITIZE=ON -DES_BENCH=OFF)
  echo "== $tree: configure and build"
  if ! cmake -S . -B "$tree" "${flags[@]}" >/dev/null || ! cmake --build "$tree" -j"$jobs" >/dev/null; then
    echo "== $tree: BUILD FAILED"
    cmake --build "$tree" -j1 2>&1 | grep -E "error|Error" | head -40
    failed=$((failed + 1)); status=1; continue
  fi
  echo "== $tree: ctest"
  log="$tree/ctest.log"
  ctest --test-dir "$tree" --output-on-failure -j"$jobs" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  if [ -n "$line" ]; then
    total=$(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/')
    nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed.*/\1/')
    passed=$((passed + total - nfail)); failed=$((failed + nfail))
  elif [ "$rc" -ne 0 ]; then
    failed=$((failed + 1))
  fi
  [ "$rc" -ne 0 ] && status=1
done
echo "$passed passed, $failed failed"
exit $status
