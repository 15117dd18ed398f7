#!/usr/bin/env bash
# serve.sh: load benchmark of `ecosight serve` with the original's Locust
# scenario (python3-locust) and with wrk, next to the original FastAPI
# service's published figures (which cannot run here: no PyPI).
#
#   bench/serve.sh [MODELS_DIR]        (default: models/, else a tiny model trained now)
#   ES_BENCH_SECONDS=600 bench/serve.sh   # seconds per Locust phase (default 120)
#
# Prints: machine load, wrk /health and /predict, Locust standard (1-3 s waits)
# and heavy (0.1-0.5 s) profiles: predict req/s, p50/p99, failures; the
# server's RSS sampled every 5 s over the whole run (flat = no leak).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ES_BIN:-$here/build/ecosight}
SECS=${ES_BENCH_SECONDS:-120}
USERS_STD=${ES_BENCH_USERS:-300}
USERS_HEAVY=${ES_BENCH_USERS_HEAVY:-60}
out=${ES_BENCH_OUT:-$here/bench/out/serve}
mkdir -p "$out"
PY=/usr/bin/python3
models=${1:-$here/models}

if [ ! -e "$models/latest" ]; then
    echo "no model in $models: training a tiny one on a subset of \$ECOSIGHT_SHARED/data"
    shared=${ECOSIGHT_SHARED:-$here/../shared}
    models=$out/models
    rm -rf "$models"
    nice -n 10 "$BIN" -q train "$shared/data/extracted_audio" --out "$models" \
        --max-files-per-class 12 --per-file 0 --epochs 20 --yamnet "$shared/models/yamnet.tflite" >/dev/null
fi

echo "== machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$here/tests/blackbox/lib/http_probe.py" wav "$out/noise2s.wav" 2.0 1234

# Every load client runs here, from 127.0.0.1: no per-address connection limit.
ECOSIGHT_YAMNET=${ECOSIGHT_YAMNET:-${ECOSIGHT_SHARED:-$here/../shared}/models/yamnet.tflite} \
"$BIN" -q serve --host 127.0.0.1 --port 0 --port-file "$out/port" --models "$models" \
    --data "$out/data" --access-log off --max-connections-per-ip 0 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; kill $rss_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$out/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$out/port")"
curl -sf "$url/status" >/dev/null || { echo "server has no model"; exit 1; }

: > "$out/rss.txt"
( while kill -0 $pid 2>/dev/null; do
      echo "$(date +%s) $(awk '/VmRSS/ {print $2}' /proc/$pid/status)" >> "$out/rss.txt"; sleep 5
  done ) &
rss_pid=$!

echo "== wrk (2 threads, 16 connections, 20 s each)"
wrk -t2 -c16 -d20s "$url/health" | sed -n 's/^Requests\/sec:/  GET  \/health   req\/s:/p'
WRK_WAV="$out/noise2s.wav" wrk -t2 -c16 -d20s -s "$here/bench/wrk_predict.lua" "$url/predict" \
    | grep '^wrk:' | sed 's/^wrk:/  POST \/predict:/'

locust_phase() { # name users profile
    ES_LOCUST_PROFILE=$3 nice -n 5 locust -f "$here/bench/locustfile.py" --headless \
        -u "$2" -r 50 -t "${SECS}s" --host "$url" --csv "$out/$1" --only-summary \
        >"$out/$1.log" 2>&1 || true
    "$PY" - "$out/${1}_stats.csv" "$1" "$2" <<'PYEOF'
import csv, sys
rows = {r["Name"]: r for r in csv.DictReader(open(sys.argv[1]))}
p, agg = rows.get("/predict"), rows.get("Aggregated")
print("  %-8s %4s users: predict %6.1f req/s, p50 %4s ms, p99 %4s ms, %s/%s failed; all %6.1f req/s, %s failed"
      % (sys.argv[2], sys.argv[3], float(p["Requests/s"]), p["50%"], p["99%"], p["Failure Count"],
         p["Request Count"], float(agg["Requests/s"]), agg["Failure Count"]))
PYEOF
}
echo "== Locust, ${SECS} s per profile (load during: see below)"
locust_phase standard "$USERS_STD" standard
echo "   load now: $(cut -d' ' -f1-3 /proc/loadavg)"
locust_phase heavy "$USERS_HEAVY" heavy
echo "   load now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== server-side time per prediction stage (Prometheus means over the run)"
curl -s "$url/metrics/prometheus" | awk '
  /^ecosight_predict_stage_seconds_sum/ {split($1, a, "\""); sum[a[2]] = $2}
  /^ecosight_predict_stage_seconds_count/ {split($1, a, "\""); cnt[a[2]] = $2}
  END {for (s in sum) if (cnt[s] > 0) printf "  %-7s %6.2f ms mean over %d\n", s, 1000 * sum[s] / cnt[s], cnt[s]}'
sleep 6
kill $rss_pid 2>/dev/null || true
echo "== server RSS (KiB) every 5 s: first, max, last"
awk 'NR==1 {f=$2} {if ($2>m) m=$2; l=$2} END {printf "  %d  %d  %d  (%d samples)\n", f, m, l, NR}' "$out/rss.txt"
echo "== the original FastAPI service (published, same Locust scenario): 8.5 predict req/s,"
echo "   43 % failures, median 3.5 s, 3.2 GB per container"
