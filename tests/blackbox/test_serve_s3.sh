#!/usr/bin/env bash
# test_serve_s3.sh: `ecosight serve` with S3 configured (s3rver on 127.0.0.1):
# started on an empty models directory it pulls the version the bucket's
# models/latest names and serves it; /upload copies the stored file to
# s3://BUCKET/extracted_audio/<class>/<name> (checked with the independent aws
# client, byte for byte) and says s3_uploaded: true.
set -u
. "$ES_SOURCE_DIR/tests/blackbox/lib/serve.sh"
. "$ES_SOURCE_DIR/tests/blackbox/lib/serve_model.sh"
. "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
PROBE="$ES_SOURCE_DIR/tests/blackbox/lib/http_probe.py"
serve_model_need_shared
s3rver_need_aws
T="$ES_TEST_TMP/test_serve_s3.$$"
rm -rf "$T"; mkdir -p "$T"
s3rver_extra_cleanup() { serve_stop >/dev/null 2>&1; rm -rf "$T"; }
fails=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected $2, got $3"; fails=$((fails + 1)); fi; }

serve_model_train "$T" || exit 1
v1=$SERVE_MODEL_VERSION
B=ecosight-serve-test
s3rver_start "$B" || { echo "FAIL: cannot start s3rver"; exit 1; }
s3rver_aws s3 cp --recursive --only-show-errors "$T/models/$v1" "s3://$B/models/$v1/" || { echo "FAIL: aws upload"; exit 1; }
printf '%s' "$v1" > "$T/latest"
s3rver_aws s3 cp --only-show-errors "$T/latest" "s3://$B/models/latest" || { echo "FAIL: aws upload latest"; exit 1; }
export S3_BUCKET=$B

serve_start "$T/srv" --models "$T/empty-models" --data "$T/data" --threads 2 || exit 1
U=$SERVE_URL
curl -s "$U/status" > "$T/status.json"
check "pulled the bucket's latest and serves it" "$v1" "$("$PY" "$PROBE" json-field "$T/status.json" model_name)"
[ -f "$T/empty-models/$v1/performance_metrics.json" ]; check "the version is now local" 0 $?

"$PY" "$PROBE" wav "$T/up.wav" 1.0 21
curl -s -F "file=@$T/up.wav;filename=field recording.wav" -F class_name=gun_shot "$U/upload" > "$T/up.json"
check "upload s3_uploaded" true "$("$PY" "$PROBE" json-field "$T/up.json" s3_uploaded)"
name=$(basename "$("$PY" "$PROBE" json-field "$T/up.json" file_path)")
s3rver_aws s3 cp --only-show-errors "s3://$B/extracted_audio/gun_shot/$name" "$T/back.wav"
cmp -s "$T/up.wav" "$T/back.wav"; check "the object in S3 equals the upload" 0 $?

serve_stop; check "clean exit" 0 $?
[ $fails -eq 0 ] && echo "test_serve_s3: all passed" || echo "test_serve_s3: $fails failed"
exit $((fails > 0))
