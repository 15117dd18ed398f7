#!/usr/bin/env bash
# yamnet.sh: YAMNet throughput, ours next to ONNX Runtime's (the peer in
# $ECOSIGHT_SHARED/peers/ort), measured in the same run, with the load.
#
#   bench/yamnet.sh [BUILD_DIR]        (default: build)
#
# Network alone: patches/s at batch 1, 8, 64 on 1 and 2 threads (ours, then
# ORT on the same pseudo-random log-mel patches). Whole path (decode ->
# resample -> front end -> network) on a 60 s recording: audio-seconds per
# second on 1 and 2 threads; ORT's audio-s/s column is its network alone.
# ORT needs onnxruntime-node in $PEERS_DIR (default /tmp/peers); the peer's
# README says how to install it. OPENBLAS_CORETYPE is left as the environment
# has it: our kernels do not use OpenBLAS.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shared=${ECOSIGHT_SHARED:-$(cd "$here/.." && pwd)/shared}
export ECOSIGHT_SHARED=$shared
peers=${PEERS_DIR:-/tmp/peers}
seconds=${BENCH_SECONDS:-3}
bench=$build/bench/bench_yamnet
[ -x "$bench" ] || { echo "yamnet.sh: $bench not built" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "## $(date -u +%FT%TZ)  $(nproc) CPUs  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "## load before: $(uptime)"
echo
echo "### ecosight: network alone"
"$bench" net --batches 1,8,64 --threads 1,2 --seconds "$seconds"
echo
if [ -d "$peers/node_modules/onnxruntime-node" ]; then
  echo "### ONNX Runtime (same patches, same machine, right after)"
  (cd "$peers" && PEERS_DIR=$peers node "$shared/peers/ort/bench_ort.js" \
      --model "$shared/peers/ort/yamnet_net.onnx" --batches 1,8,64 --threads 1,2 --runs 20) |
    grep -v '^# executionProviders\|^# [0-9]* warm-up'
else
  echo "### ONNX Runtime: not installed in $peers (see $shared/peers/ort/README.md)"
fi
echo
echo "### ecosight: whole path (decode, resample, front end, network) on 60 s of audio"
# 15 UrbanSound8K clips (22.05 kHz) back to back: a realistic long recording.
files=$(ls "$shared"/data/extracted_audio/dog_bark/*.wav | sed -n 1,15p)
if command -v sox >/dev/null; then
  # shellcheck disable=SC2086
  sox $files "$tmp/long.wav"
  "$bench" path --threads 1,2 --seconds "$seconds" "$tmp/long.wav"
else
  echo "(sox missing: whole path on one 10.3 s reference clip instead)"
  "$bench" path --threads 1,2 --seconds "$seconds" "$shared/reference/mix_10300ms/input.wav"
fi
echo
echo "## load after: $(uptime)"
