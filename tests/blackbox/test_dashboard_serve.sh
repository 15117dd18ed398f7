#!/usr/bin/env bash
# test_dashboard_serve.sh: the dashboard in a real browser against the real
# server. Trains a small model on a few files of ../shared/data, starts
# `ecosight serve` on an ephemeral port with an API token, and drives the page
# with headless chromium (tests/browser/check_dashboard.js): no console error,
# every chart equals /metrics and /training-history, a prediction through the
# form equals `ecosight predict`, upload + retrain through the page show
# progress and end with a new version served; screenshots at desktop and phone
# widths under build/test-artifacts/dashboard/.
set -euo pipefail
src=${ES_SOURCE_DIR:?}
bin=${ES_BIN:?}
. "$src/tests/blackbox/lib/serve.sh"
shared=${ECOSIGHT_SHARED:-$src/../shared}
audio=$shared/data/extracted_audio
if [ ! -d "$audio" ] || [ ! -f "$shared/models/yamnet.tflite" ]; then
  if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then echo "FAIL: $audio or the YAMNet model is missing"; exit 1; fi
  echo "*** SKIPPED: $audio or $shared/models/yamnet.tflite not found (set ECOSIGHT_SHARED) ***"; exit 0
fi
browser_dir=$src/tests/browser
[ -d "$browser_dir/node_modules/playwright-core" ] || { echo "FAIL: playwright-core missing: run scripts/install-deps.sh"; exit 1; }
command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null || { echo "FAIL: no chromium (scripts/install-deps.sh)"; exit 1; }

T=$(mktemp -d "${ES_TEST_TMP:-/tmp}/dash-serve.XXXXXX")
cleanup() { serve_stop >/dev/null 2>&1 || true; rm -rf "$T"; }
trap cleanup EXIT INT TERM

# A small data set: N originals per class (fewer under the sanitizers), whole
# UrbanSound8K recordings kept together by the group pattern.
n=8; [ "${ES_SANITIZED:-0}" = 1 ] && n=4
for d in "$audio"/*/; do
  c=$(basename "$d")
  mkdir -p "$T/data/$c"
  ls "$d" | sort | sed -n "1,${n}p" | while read -r f; do cp "$d/$f" "$T/data/$c/"; done
done
train_opts=(--group-pattern '^([0-9]+)-' --per-file 1 --epochs 20 --seed 7)
echo "== training a small model ($n originals per class)"
nice -n 10 "$bin" -q train "$T/data" --out "$T/models" "${train_opts[@]}"
[ -L "$T/models/latest" ] || { echo "FAIL: training left no models/latest"; exit 1; }

# The file to predict through the page, and the CLI's answer for it.
predict_file=$(ls "$audio/gun_shot" | sort | tail -n 1); predict_file=$audio/gun_shot/$predict_file
"$bin" -q predict "$T/models/latest" "$predict_file" --json > "$T/predict.json"
# A long recording (clips end to end: 20 s, 12 s under the sanitizers; over the
# page's 8 s) for the event timeline, and the CLI's events.
ng=3; nd=2; [ "${ES_SANITIZED:-0}" = 1 ] && { ng=2; nd=1; }
python3 - "$T/long.wav" $(ls "$audio/gun_shot" | sort | tail -n $ng | sed "s|^|$audio/gun_shot/|") \
  $(ls "$audio/dog_bark" | sort | tail -n 4 | sed -n "1,${nd}p" | sed "s|^|$audio/dog_bark/|") <<'PY'
import sys, wave
out = wave.open(sys.argv[1], "wb")
for i, p in enumerate(sys.argv[2:]):
    w = wave.open(p, "rb")
    if i == 0:
        out.setparams(w.getparams())
    out.writeframes(w.readframes(w.getnframes()))
out.close()
PY
"$bin" -q predict "$T/models/latest" "$T/long.wav" --timeline --json > "$T/timeline.json"
# Two recordings to upload (not in the training set).
upload_files=$(ls "$audio/dog_bark" | sort | tail -n 2 | sed "s|^|$audio/dog_bark/|" | paste -sd: -)

export ECOSIGHT_API_TOKEN=dash-token-$$
# Retrain as small as the first training.
retrain_opts=(--retrain-epochs 20 --retrain-per-file 1)
serve_start "$T/srv" --models "$T/models" --data "$T/data" --threads 4 "${retrain_opts[@]}" || exit 1
echo "== serving at $SERVE_URL"

cd "$browser_dir"
BASE=$SERVE_URL PREDICT_FILE=$predict_file PREDICT_JSON=$T/predict.json UPLOAD_FILES=$upload_files \
  TIMELINE_FILE=$T/long.wav TIMELINE_JSON=$T/timeline.json \
  UPLOAD_CLASS=dog_bark TOKEN=$ECOSIGHT_API_TOKEN RETRAIN_TIMEOUT_S=900 ES_BUILD_DIR=${ES_BUILD_DIR:-$T} \
  timeout 1100 node check_dashboard.js
serve_stop
echo "test_dashboard_serve: OK"
