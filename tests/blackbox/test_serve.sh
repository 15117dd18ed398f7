#!/usr/bin/env bash
# test_serve.sh: `ecosight serve` as a client sees it, on 127.0.0.1 with an
# ephemeral port, before any model exists: every model-free endpoint, JSON
# errors with fitting codes for hostile and broken requests (garbage, empty,
# truncated and zero "WAV" files, over-limit and wrongly typed bodies, path
# traversal in file names, unknown classes, malformed JSON, missing token),
# CORS, a slowloris client while others are served, 200 concurrent
# connections, and a SIGTERM drain that lets an in-flight upload finish.
# Never a 5xx for anything the client sent.
set -u
. "$ES_SOURCE_DIR/tests/blackbox/lib/serve.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
PROBE="$ES_SOURCE_DIR/tests/blackbox/lib/http_probe.py"
T="$ES_TEST_TMP/test_serve.$$"
rm -rf "$T"; mkdir -p "$T/data/dog_bark" "$T/data/gun_shot" "$T/models"
fails=0
check() { # name expected actual
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected $2, got $3"; fails=$((fails + 1)); fi
}
check_detail() { # name file: the body is JSON with a non-empty "detail"
    local d
    d=$("$PY" "$PROBE" json-field "$2" detail 2>/dev/null)
    if [ -n "$d" ]; then echo "ok   $1 detail: $d"; else echo "FAIL $1: no JSON detail in $(head -c 200 "$2")"; fails=$((fails + 1)); fi
}

"$PY" "$PROBE" wav "$T/ok.wav" 1.0 3
head -c 1000 /dev/zero > "$T/zero.wav"
: > "$T/empty.wav"
head -c 3000 /dev/urandom > "$T/garbage.wav"
head -c 30 "$T/ok.wav" > "$T/trunc_header.wav"
head -c 20000 "$T/ok.wav" > "$T/trunc_data.wav"
head -c 1500000 /dev/urandom > "$T/big.bin"
printf '{"trigger_reason": ' > "$T/bad.json"

export ECOSIGHT_API_TOKEN=s3cret-token
serve_start "$T/srv" --models "$T/models" --data "$T/data" --max-upload-mb 1 \
    --cors "https://ok.example" --threads 4 --timeout 5 --max-connections-per-ip 256 || exit 1
U=$SERVE_URL
B="$T/body"

# --- model-free endpoints -------------------------------------------------
http c "$B" "$U/";              check "GET / 200" 200 "$c"
check "GET / status field" running "$("$PY" "$PROBE" json-field "$B" status)"
http c "$B" "$U/health";        check "GET /health 200" 200 "$c"
check "health status" healthy "$("$PY" "$PROBE" json-field "$B" status)"
check "health model_loaded" false "$("$PY" "$PROBE" json-field "$B" model_loaded)"
http c "$B" "$U/status";        check "GET /status without model 503" 503 "$c"; check_detail status "$B"
http c "$B" "$U/metrics";       check "GET /metrics without model 503" 503 "$c"
http c "$B" "$U/openapi.json";  check "GET /openapi.json 200" 200 "$c"
check "openapi version" 3.0.3 "$("$PY" "$PROBE" json-field "$B" openapi)"
http c "$B" "$U/retrain/status"; check "GET /retrain/status 200" 200 "$c"
http c "$B" "$U/training-history"; check "GET /training-history 200" 200 "$c"
check "no history yet" false "$("$PY" "$PROBE" json-field "$B" has_history)"
http c "$B" "$U/models";        check "GET /models 200" 200 "$c"
http c "$B" "$U/no/such/path";  check "unknown path 404" 404 "$c"; check_detail 404 "$B"
http c "$B" -X DELETE "$U/health"; check "wrong method 405" 405 "$c"
http c "$B" "$U/metrics/prometheus"; check "prometheus 200" 200 "$c"
grep -q 'ecosight_http_requests_total{endpoint="/health",code="200"}' "$B"; check "prometheus counts /health" 0 $?
grep -q 'ecosight_predict_stage_seconds_bucket{stage="yamnet"' "$B"; check "prometheus has stage histograms" 0 $?

# --- dashboard: its paths, and / for browsers only ---------------------------
ct=$(curl -s -o "$B" -w '%{http_code} %{content_type}' "$U/dashboard"); check "GET /dashboard html" "200 text/html; charset=utf-8" "$ct"
grep -qi '<html' "$B"; check "dashboard is an HTML page" 0 $?
ct=$(curl -s -o /dev/null -w '%{content_type}' -H 'Accept: text/html,application/xhtml+xml,*/*;q=0.8' "$U/"); check "GET / for a browser is the dashboard" "text/html; charset=utf-8" "$ct"
ct=$(curl -s -o /dev/null -w '%{content_type}' -H 'Accept: application/json' "$U/"); check "GET / for JSON clients stays JSON" "application/json" "$ct"
http c "$B" "$U/dashboard/no-such-asset.js"; check "missing dashboard asset 404" 404 "$c"

# --- CORS -----------------------------------------------------------------
h=$(curl -s -D - -o /dev/null -H 'Origin: https://ok.example' "$U/health" | tr -d '\r' | grep -i '^access-control-allow-origin:' | cut -d' ' -f2)
check "CORS allowed origin echoed" "https://ok.example" "$h"
h=$(curl -s -D - -o /dev/null -H 'Origin: https://evil.example' "$U/health" | grep -ci '^access-control-allow-origin:')
check "CORS other origin refused" 0 "$h"
c=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://ok.example' \
    -H 'Access-Control-Request-Method: POST' "$U/predict")
check "CORS preflight 204" 204 "$c"

# --- auth -------------------------------------------------------------------
AUTH=(-H "Authorization: Bearer $ECOSIGHT_API_TOKEN")
http c "$B" -F file=@"$T/ok.wav" -F class_name=dog_bark "$U/upload"; check "upload without token 401" 401 "$c"
http c "$B" -H 'Authorization: Bearer wrong' -F file=@"$T/ok.wav" -F class_name=dog_bark "$U/upload"
check "upload with a wrong token 401" 401 "$c"
http c "$B" -H "Authorization: Bearer ${ECOSIGHT_API_TOKEN}x" -F file=@"$T/ok.wav" -F class_name=dog_bark "$U/upload"
check "upload with a longer token 401" 401 "$c"
http c "$B" -H 'Content-Type: application/json' -d '{}' "$U/retrain"; check "retrain without token 401" 401 "$c"

# --- hostile uploads ------------------------------------------------------------
for f in garbage zero empty trunc_header; do
    http c "$B" "${AUTH[@]}" -F file=@"$T/$f.wav" -F class_name=dog_bark "$U/upload"
    check "upload $f 400" 400 "$c"; check_detail "upload $f" "$B"
done
http c "$B" "${AUTH[@]}" -F file=@"$T/trunc_data.wav" -F class_name=dog_bark "$U/upload"
case $c in 200|400) check "upload truncated data 200/400" ok ok ;; *) check "upload truncated data 200/400" "200|400" "$c" ;; esac
http c "$B" "${AUTH[@]}" -F file=@"$T/big.bin" -F class_name=dog_bark "$U/upload"; check "upload over limit 413" 413 "$c"
http c "$B" "${AUTH[@]}" -H 'Content-Type: audio/wav' --data-binary @"$T/ok.wav" "$U/upload"; check "upload wrong content type 415" 415 "$c"
http c "$B" "${AUTH[@]}" -F file=@"$T/ok.wav" -F class_name=lion "$U/upload"; check "upload unknown class 422" 422 "$c"
http c "$B" "${AUTH[@]}" -F file=@"$T/ok.wav" -F 'class_name=../../tmp' "$U/upload"; check "upload class traversal 422" 422 "$c"
http c "$B" "${AUTH[@]}" -F file=@"$T/ok.wav" "$U/upload"; check "upload without class 422" 422 "$c"
http c "$B" "${AUTH[@]}" -F 'file=@'"$T/ok.wav"';filename=../../etc/passwd' -F class_name=dog_bark "$U/upload"
check "upload ../../etc/passwd 200" 200 "$c"
p=$("$PY" "$PROBE" json-field "$B" file_path)
case $p in "$T/data/dog_bark/"*_passwd*) check "traversal name stays in the class folder" ok ok ;;
           *) check "traversal name stays in the class folder" "$T/data/dog_bark/*_passwd" "$p" ;; esac
[ -f "$p" ] && cmp -s "$p" "$T/ok.wav"; check "stored upload equals the sent file" 0 $?
http c "$B" "${AUTH[@]}" -F file=@"$T/ok.wav" -F class_name=gun_shot "$U/upload"; check "upload valid 200" 200 "$c"
check "upload success" true "$("$PY" "$PROBE" json-field "$B" success)"
check "upload class" gun_shot "$("$PY" "$PROBE" json-field "$B" class)"
n=$(ls "$T/data/gun_shot" | wc -l); check "one file in gun_shot" 1 "$n"
check "upload cataloged" true "$("$PY" "$PROBE" json-field "$B" cataloged)"
[ -f "$T/models/ecosight.db" ]; check "catalog database in the models dir" 0 $?

# --- hostile predictions (no model: the body is still refused for what it is) --
http c "$B" -H 'Content-Type: text/plain' --data-binary @"$T/ok.wav" "$U/predict"; check "predict wrong content type 415" 415 "$c"
http c "$B" -F file=@"$T/big.bin" "$U/predict"; check "predict over limit 413" 413 "$c"
http c "$B" -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary @"$T/garbage.wav" "$U/predict"
case $c in 4*) check "predict garbage multipart 4xx" ok ok ;; *) check "predict garbage multipart 4xx" 4xx "$c" ;; esac

# --- retrain body ---------------------------------------------------------
http c "$B" "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary @"$T/bad.json" "$U/retrain"; check "retrain malformed JSON 422" 422 "$c"
http c "$B" "${AUTH[@]}" -H 'Content-Type: text/plain' -d 'x' "$U/retrain"; check "retrain wrong content type 415" 415 "$c"
http c "$B" "${AUTH[@]}" -H 'Content-Type: application/json' -d '{"min_new_samples": "many"}' "$U/retrain"; check "retrain bad field 422" 422 "$c"

# --- slow and many clients ------------------------------------------------
"$PY" "$PROBE" slowloris "$SERVE_PORT" 3; check "slowloris: others still served" 0 $?
"$PY" "$PROBE" concurrent "$SERVE_PORT" 200 /health; check "200 concurrent connections" 0 $?
n=300; [ "${ES_SANITIZED:-0}" = 1 ] && n=120
"$PY" "$PROBE" garbage "$SERVE_PORT" $n; check "malformed requests: no 5xx, still serving" 0 $?

# --- no 5xx anywhere, and an access-log line per request ---------------------
n5=$(awk '$5 ~ /^5/' "$T/srv/serve.out" | grep -v '"GET /status"\|"GET /metrics"' | wc -l)
check "no 5xx except no-model 503s" 0 "$n5"
grep -q '"GET /health" 200' "$T/srv/serve.out"; check "access log lines" 0 $?

# --- SIGTERM drains: a slow upload in flight still gets its answer ---------------
code=$("$PY" "$PROBE" slow-upload "$SERVE_PORT" "$T/ok.wav" 2 "$SERVE_PID")
check "in-flight request answered during drain" 503 "$code"
serve_stop; check "clean exit after SIGTERM" 0 $?
grep -q "stopped" "$T/srv/serve.err"; check "drain logged" 0 $?

# --- a second SIGTERM during the drain does not kill the server mid-drain ------
# (a library thread started before the signal mask would take it: exit 143)
serve_start "$T/srv2" --models "$T/models" --data "$T/data" --threads 2 || exit 1
timeout 30 "$PY" - "$SERVE_PORT" "$SERVE_PID" <<'PYEOF'
import os, signal, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
          b"Content-Length: 100000\r\n\r\n")
for i in range(30):
    try:
        s.sendall(b"x" * 100)
    except OSError:
        break
    time.sleep(0.1)
    if i in (5, 12, 13):
        os.kill(int(sys.argv[2]), signal.SIGTERM)
s.close()
PYEOF
serve_stop; check "clean exit after three SIGTERMs during a drain" 0 $?

rm -rf "$T"
[ $fails -eq 0 ] && echo "test_serve: all passed" || echo "test_serve: $fails failed"
exit $((fails > 0))
