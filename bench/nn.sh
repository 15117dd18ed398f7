#!/usr/bin/env bash
# nn.sh: the classifier head under OpenBLAS' default thread count (one per
# core) next to 1 thread, measured in the same process and run, with the load.
#
#   bench/nn.sh [BUILD_DIR]        (default: build; BENCH_SECONDS, default 2)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
bench=$build/bench/bench_nn
[ -x "$bench" ] || { echo "nn.sh: $bench not built" >&2; exit 1; }
echo "## $(date -u +%FT%TZ)  $(nproc) CPUs; load before: $(uptime)"
"$bench" "${BENCH_SECONDS:-2}"
echo "## load after: $(uptime)"
