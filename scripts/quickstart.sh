#!/usr/bin/env bash
# quickstart.sh: from a fresh Debian/Ubuntu machine to the main job: install
# every dependency, fetch and verify the YAMNet model, build, and run the
# main job on the demo recordings (no S3 needed: local storage is the
# embedded default).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export ECOSIGHT_SHARED=${ECOSIGHT_SHARED:-$(cd .. && pwd)/shared}
scripts/install-deps.sh
scripts/fetch-models.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
# The main job (until retraining lands): describe the demo recordings.
build/ecosight info "$ECOSIGHT_SHARED"/data/extracted_audio/*/*
