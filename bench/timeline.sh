#!/usr/bin/env bash
# timeline.sh: `predict --timeline` on a 10-minute recording made of
# ../shared/data clips (decoded at 16 kHz, concatenated), windows scored one
# YAMNet call at a time (batch 1, the former path) next to batches of 16 (the
# default), in the same run, with the load. CPU seconds are the figure to
# compare on a shared machine; max RSS is the process's peak so far (it only
# grows: the batch-1 line shows the smaller footprint).
#
#   bench/timeline.sh [BUILD_DIR]   (MINUTES default 10, THREADS default 1, BATCHES default 1,16)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shared=${ECOSIGHT_SHARED:-$(cd "$here/.." && pwd)/shared}
bench=$build/bench/bench_timeline
[ -x "$bench" ] || { echo "timeline.sh: $bench not built" >&2; exit 1; }
mapfile -t clips < <(find "$shared/data/extracted_audio" -name '*.wav' | sort)
echo "## $(date -u +%FT%TZ)  $(nproc) CPUs; load before: $(uptime)"
"$bench" "$shared/models/yamnet.tflite" "${MINUTES:-10}" "${THREADS:-1}" "${BATCHES:-1,16}" "${clips[@]}"
echo "## load after: $(uptime)"
