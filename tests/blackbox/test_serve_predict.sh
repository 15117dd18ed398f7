#!/usr/bin/env bash
# test_serve_predict.sh: the serving path with a real model (a tiny one
# trained with `ecosight train` on a few recordings per class of the shared
# data): /status, /metrics, /training-history, /models; predictions equal
# `ecosight predict --json` on the same files; broken audio (garbage, empty,
# truncated, a 1000-byte zero "WAV") is a 400, a wrong body 415/422, never a
# 5xx; ?timeline=1 returns events; Prometheus counts the stages.
set -u
. "$ES_SOURCE_DIR/tests/blackbox/lib/serve.sh"
. "$ES_SOURCE_DIR/tests/blackbox/lib/serve_model.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
LIB="$ES_SOURCE_DIR/tests/blackbox/lib"
PROBE="$LIB/http_probe.py"
serve_model_need_shared
T="$ES_TEST_TMP/test_serve_predict.$$"
rm -rf "$T"; mkdir -p "$T"
fails=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected $2, got $3"; fails=$((fails + 1)); fi; }
serve_model_train "$T" || exit 1
v1=$SERVE_MODEL_VERSION
serve_start "$T/srv" --models "$T/models" --data "$T/data" --threads 4 || exit 1
U=$SERVE_URL; B="$T/body"
http c "$B" "$U/status"; check "GET /status 200" 200 "$c"
check "status model_name" "$v1" "$("$PY" "$PROBE" json-field "$B" model_name)"
check "status num_classes" 4 "$("$PY" "$PROBE" json-field "$B" num_classes)"
# `ecosight train` does not catalog: the catalog knows no recording yet, the
# rest comes from the version's files.
"$PY" "$LIB/status_check.py" "$B" "$T/models/$v1" "$T/data" none
check "status thresholds, threshold metrics and data = the model's files" 0 $?
http c "$B" "$U/metrics"; check "GET /metrics 200" 200 "$c"
cmp -s <("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])),sort_keys=True))' "$B") \
       <("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])),sort_keys=True))' "$T/models/$v1/performance_metrics.json")
check "/metrics is the version's performance_metrics.json" 0 $?
http c "$B" "$U/training-history"; check "GET /training-history 200" 200 "$c"
check "has_history" true "$("$PY" "$PROBE" json-field "$B" has_history)"
http c "$B" "$U/models"; check "GET /models 200" 200 "$c"
check "models live" "$v1" "$("$PY" "$PROBE" json-field "$B" live)"
check "health model_loaded" true "$(curl -s "$U/health" | "$PY" -c 'import json,sys; print(str(json.load(sys.stdin)["model_loaded"]).lower())')"

# --- predictions equal `ecosight predict` -----------------------------------
files=()
for d in "$T"/data/*/; do files+=("$d$(ls "$d" | head -1)"); done
"$PY" "$PROBE" wav "$T/noise.wav" 2.0 99; files+=("$T/noise.wav")
"$ES_BIN" -q predict "$T/models" "${files[@]}" --json > "$T/cli.json"
check "ecosight predict ran" 0 $?
i=0
for f in "${files[@]}"; do
    http c "$T/p$i.json" -F "file=@$f" "$U/predict"; check "predict $(basename "$f") 200" 200 "$c"
    "$PY" - "$T/cli.json" "$i" "$T/p$i.json" <<'PYEOF'
import json, sys
cli = json.load(open(sys.argv[1]))[int(sys.argv[2])]
srv = json.load(open(sys.argv[3]))
assert srv["success"] is True, srv
assert srv["predicted_class"] == cli["predicted_class"], (srv["predicted_class"], cli["predicted_class"])
for k, p in cli["all_probabilities"].items():
    assert abs(srv["all_probabilities"][k] - p) <= 1e-5, (k, srv["all_probabilities"][k], p)
assert abs(srv["confidence"] - cli["confidence"]) <= 1e-5
for k in ("processing_time", "timestamp", "model_version"):
    assert k in srv, k
PYEOF
    check "server = CLI for $(basename "$f")" 0 $?
    i=$((i + 1))
done

# --- broken audio and bodies ----------------------------------------------------
head -c 1000 /dev/zero > "$T/zero.wav"; : > "$T/empty.wav"; head -c 4000 /dev/urandom > "$T/garbage.mp3"
head -c 40 "$T/noise.wav" > "$T/trunc.wav"
for f in zero empty garbage trunc; do
    ext=wav; [ $f = garbage ] && ext=mp3
    http c "$B" -F "file=@$T/$f.$ext" "$U/predict"; check "predict $f 400" 400 "$c"
done
head -c 30000 "$T/noise.wav" > "$T/trunc_data.wav"
http c "$B" -F "file=@$T/trunc_data.wav" "$U/predict"
case $c in 200|400) check "predict truncated data 200/400" ok ok ;; *) check "predict truncated data 200/400" "200|400" "$c" ;; esac
http c "$B" -F "other=@$T/noise.wav" "$U/predict"; check "predict without a file field 422" 422 "$c"
http c "$B" -H 'Content-Type: application/json' -d '{}' "$U/predict"; check "predict JSON body 415" 415 "$c"

# --- timeline over a long file ----------------------------------------------------
"$PY" "$PROBE" wav "$T/long.wav" 9.0 5
http c "$B" -F "file=@$T/long.wav" "$U/predict?timeline=1"; check "predict ?timeline=1 200" 200 "$c"
n=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["timeline"]) > 0 and d["timeline_windows"] >= 6)' "$B")
check "timeline has events over >= 6 windows" True "$n"

# --- an upload is in /status's data at once ------------------------------------------
http c "$B" -F "file=@$T/noise.wav;filename=up.wav" -F class_name=dog_bark "$U/upload"; check "upload 200" 200 "$c"
http c "$B" "$U/status"; check "GET /status after an upload 200" 200 "$c"
"$PY" "$LIB/status_check.py" "$B" "$T/models/$v1" "$T/data" dog_bark:1:1
check "status data counts the upload as an original, new since training" 0 $?

# --- Prometheus stages ----------------------------------------------------------------
curl -s "$U/metrics/prometheus" > "$B"
for st in decode yamnet head; do
    n=$(awk -v s="ecosight_predict_stage_seconds_count{stage=\"$st\"}" '$1 == s {print $2}' "$B")
    check "stage $st observed" 1 "$([ "${n:-0}" -ge ${#files[@]} ] && echo 1)"
done

n5=$(awk '$5 ~ /^5/' "$T/srv/serve.out" | wc -l); check "no 5xx in the access log" 0 "$n5"

serve_stop; check "clean exit" 0 $?
[ $fails -eq 0 ] && rm -rf "$T"
[ $fails -eq 0 ] && echo "test_serve_predict: all passed" || echo "test_serve_predict: $fails failed"
exit $((fails > 0))
