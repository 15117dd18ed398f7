#!/usr/bin/env bash
# fetch-models.sh: put the YAMNet model and its class map into models/yamnet/
# (the project's model directory, which is never committed). It copies them
# from $ECOSIGHT_SHARED/models (default ../shared/models) when present, and
# otherwise downloads them from their public sources. Either way it checks
# the SHA-256 values published in docs/MODELS.md and refuses any other file.
#
#   scripts/fetch-models.sh [DEST_DIR]      (default: models/yamnet)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/models/yamnet}
shared=${ECOSIGHT_SHARED:-$(cd "$here/.." && pwd)/shared}

# name  sha256  url...
MODEL_SHA=469be6a3421cbc52cf97e9f2f966cba984198e8e7af9854d68b3e3ebb1e04194
MAP_SHA=cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2
MODEL_URLS=(
  "https://tfhub.dev/google/lite-model/yamnet/tflite/1?lite-format=tflite"
  "https://storage.googleapis.com/tfhub-lite-models/google/lite-model/yamnet/tflite/1.tflite"
)
MAP_URLS=(
  "https://raw.githubusercontent.com/tensorflow/models/master/research/audioset/yamnet/yamnet_class_map.csv"
)

mkdir -p "$dest"
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

get() { # file sha url...
  local name=$1 sha=$2; shift 2
  local out="$dest/$name"
  if [ -f "$out" ] && [ "$(sha_of "$out")" = "$sha" ]; then
    echo "fetch-models: $name present and verified"; return 0
  fi
  local tmp; tmp=$(mktemp "$dest/.$name.XXXXXX")
  if [ -f "$shared/models/$name" ]; then
    cp "$shared/models/$name" "$tmp"
    src="$shared/models/$name"
  else
    local ok=0
    for url in "$@"; do
      if curl -fsSL --retry 3 --max-time 300 -o "$tmp" "$url"; then ok=1; src=$url; break; fi
    done
    if [ $ok -ne 1 ]; then rm -f "$tmp"; echo "fetch-models: cannot download $name" >&2; return 1; fi
  fi
  local got; got=$(sha_of "$tmp")
  if [ "$got" != "$sha" ]; then
    rm -f "$tmp"
    echo "fetch-models: REFUSED $name from $src: SHA-256 $got, expected $sha" >&2
    return 1
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$out"
  echo "fetch-models: $name from $src (SHA-256 verified)"
}

get yamnet.tflite "$MODEL_SHA" "${MODEL_URLS[@]}"
get yamnet_class_map.csv "$MAP_SHA" "${MAP_URLS[@]}"
