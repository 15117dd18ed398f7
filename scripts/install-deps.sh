#!/usr/bin/env bash
# install-deps.sh: install every Debian package EcoSight needs to build, test
# and benchmark, and the pinned npm packages its tests use. Non-interactive and
# idempotent: packages already present are left alone.
#
#   scripts/install-deps.sh            everything (build, tests, benchmarks)
#   scripts/install-deps.sh --build    only what building the binary needs
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

build_pkgs=(
  build-essential cmake pkg-config git ca-certificates
  libsndfile1-dev libmpg123-dev       # decoding (libsndfile reads MP3 through mpg123)
  libvorbis-dev libogg-dev            # Ogg/Vorbis header check before libsndfile (see src/audio/decode.c)
  libsoxr-dev                         # resampling (librosa's default engine)
  libfftw3-dev                        # FFTs, single and double precision
  libopenblas-dev                     # the classifier head's matrix products (YAMNet has its own kernels: docs/YAMNET.md)
  libcurl4-openssl-dev libssl-dev libexpat1-dev   # S3: HTTP, SigV4 crypto, XML
  libsqlite3-dev sqlite3              # catalog and embedding cache
  libmicrohttpd-dev                   # HTTP API
  libcjson-dev                        # JSON documents
)
test_pkgs=(
  libcmocka-dev                       # unit tests
  clang libclang-rt-14-dev            # libFuzzer targets, sanitizers
  valgrind
  qemu-user                           # older emulated x86-64 CPUs: augmentation determinism test
  nodejs                              # S3 test server (s3rver) and browser tests
  awscli                              # independent S3 client in tests
  chromium                            # dashboard tests (headless)
  python3 curl jq procps psmisc       # black-box test drivers
)
bench_pkgs=(
  ffmpeg sox libsox-fmt-all rubberband-cli hyperfine wrk python3-locust
  bc time                             # bench/s3.sh (timing, peak RSS)
  time                                # peak RSS (/usr/bin/time -v) in bench/retrain.sh
)

pkgs=("${build_pkgs[@]}")
if [ "${1:-}" != "--build" ]; then
  pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}")
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs from another repository (NodeSource) already satisfies the need for node/npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all Debian packages present"
fi

# npm packages for the tests, each directory pinned by its package-lock.json
# (tests/s3: the S3 test server; tests/browser: the dashboard's browser driver).
if [ "${1:-}" != "--build" ]; then
  for d in "$here"/tests/*/; do
    [ -f "$d/package-lock.json" ] || continue
    if ! command -v npm >/dev/null; then
      $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
  done
fi
echo "install-deps: done"
