#!/usr/bin/env bash
# test_serve_retrain.sh: POST /retrain while two clients stream predictions:
# none fails (requests in flight finish on the old model), a second retrain
# request answers in_progress, /retrain/status reports the stages, and the
# new version is what /predict and /status serve afterwards.
set -u
. "$ES_SOURCE_DIR/tests/blackbox/lib/serve.sh"
. "$ES_SOURCE_DIR/tests/blackbox/lib/serve_model.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
LIB="$ES_SOURCE_DIR/tests/blackbox/lib"
PROBE="$LIB/http_probe.py"
serve_model_need_shared
T="$ES_TEST_TMP/test_serve_retrain.$$"
rm -rf "$T"; mkdir -p "$T"
fails=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected $2, got $3"; fails=$((fails + 1)); fi; }
serve_model_train "$T" || exit 1
v1=$SERVE_MODEL_VERSION
# Local data only: the retrain must not look for a bucket in the environment.
unset S3_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AWS_PROFILE
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent
epochs=3; [ "${ES_SANITIZED:-0}" = 1 ] && epochs=2
serve_start "$T/srv" --models "$T/models" --data "$T/data" --threads 4 \
    --retrain-epochs $epochs --retrain-per-file 0 --retrain-threads 1 || exit 1
U=$SERVE_URL; B="$T/body"
"$PY" "$PROBE" wav "$T/noise.wav" 2.0 99
# --- retrain during a stream of predictions ---------------------------------------------
"$PY" "$PROBE" wav "$T/new.wav" 1.5 11
for k in 1 2; do curl -s -o /dev/null -F "file=@$T/new.wav;filename=new$k.wav" -F class_name=dog_bark "$U/upload"; done
sleep 1 # distinct version name (UTC seconds)
"$PY" "$LIB/predict_stream.py" "$SERVE_PORT" "$T/noise.wav" "$T/stop" "$T/stream.tsv" 2 > "$T/stream.out" &
spid=$!
http c "$B" -H 'Content-Type: application/json' -d '{"trigger_reason":"test","min_new_samples":0}' "$U/retrain"
check "POST /retrain 200" 200 "$c"; check "retrain status running" running "$("$PY" "$PROBE" json-field "$B" status)"
http c "$B" -H 'Content-Type: application/json' -d '{}' "$U/retrain"
check "second retrain is in_progress" in_progress "$("$PY" "$PROBE" json-field "$B" status)"
state=running
for _ in $(seq 1 1800); do
    state=$(curl -s "$U/retrain/status" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    [ "$state" != running ] && break
    sleep 0.5
done
check "retrain completed" completed "$state"
curl -s "$U/retrain/status" > "$B"
check "retrain status names its reason" test "$("$PY" "$PROBE" json-field "$B" trigger_reason)"
check "retrain finished_at set" 1 "$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["finished_at"] is not None))' "$B")"
v2=$(curl -s "$U/retrain/status" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["new_version"])')
sleep 2
touch "$T/stop"; wait $spid; check "no prediction failed during the retrain" 0 $?
cat "$T/stream.out"
first=$(head -1 "$T/stream.tsv" | cut -f2)
check "the stream started on the old version" "$v1" "$first"
last=$(tail -1 "$T/stream.tsv" | cut -f2)
check "the new version is served after the retrain" "$v2" "$last"
check "the new version differs from the old" 1 "$([ "$v2" != "$v1" ] && echo 1)"
check "status names the new version" "$v2" "$(curl -s "$U/status" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["model_name"])')"
http c "$B" "$U/models"; check "GET /models 200" 200 "$c"
check "models lists both versions" 2 "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["models"]))' "$B")"
check "models: the new one is live" "$v2" "$("$PY" "$PROBE" json-field "$B" live)"
# The retrain cataloged every recording and trained on all of them: /status's
# data has each class's files as originals, none new, and the new version's
# thresholds and split.
spec=$(for d in "$T"/data/*/; do printf '%s:%s:0,' "$(basename "$d")" "$(ls "$d" | wc -l)"; done)
http c "$B" "$U/status"; check "GET /status after the retrain 200" 200 "$c"
"$PY" "$LIB/status_check.py" "$B" "$T/models/$v2" "$T/data" "${spec%,}"
check "status data and thresholds after the retrain = catalog and new version's files" 0 $?

# --- rollback to the first version (a model change) ---------------------------------------
http c "$B" -H 'Content-Type: application/json' -d '{"version":"../etc"}' "$U/models/rollback"; check "rollback to a bad name 422" 422 "$c"
http c "$B" -H 'Content-Type: application/json' -d '{"version":"20000101T000000Z"}' "$U/models/rollback"; check "rollback to a missing version 404" 404 "$c"
http c "$B" -H 'Content-Type: application/json' -d "{\"version\":\"$v1\"}" "$U/models/rollback"; check "rollback 200" 200 "$c"
check "status after rollback" "$v1" "$(curl -s "$U/status" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["model_name"])')"
check "latest after rollback" "$v1" "$(basename "$(readlink "$T/models/latest")")"

n5=$(awk '$5 ~ /^5/' "$T/srv/serve.out" | wc -l); check "no 5xx in the access log" 0 "$n5"

# --- SIGTERM while a retrain runs: cancelled, clean exit -------------------------------------
http c "$B" -H 'Content-Type: application/json' -d '{"min_new_samples":0}' "$U/retrain"
check "third retrain started" running "$("$PY" "$PROBE" json-field "$B" status)"
st=$(curl -s "$U/retrain/status" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state"])')
serve_stop; check "clean exit" 0 $?
# Still running at SIGTERM: it must have been cancelled (and said so), not waited for.
# On a quiet machine the third run (features cached) can end between the status
# query and the signal: the log then shows it ended before "draining".
ended=$(sed '/SIGTERM: draining/q' "$T/srv/serve.err" | grep -cE 'retrain: new version|retrain failed|retrain: version')
if [ "$st" = running ] && [ "$ended" -ge 2 ]; then
    echo "ok   (the third retrain ended before SIGTERM arrived: nothing to cancel)"
elif [ "$st" = running ]; then
    grep -q "retrain cancelled" "$T/srv/serve.err"; check "the running retrain was cancelled" 0 $?
fi
[ $fails -eq 0 ] && rm -rf "$T"
[ $fails -eq 0 ] && echo "test_serve_retrain: all passed" || echo "test_serve_retrain: $fails failed"
exit $((fails > 0))
