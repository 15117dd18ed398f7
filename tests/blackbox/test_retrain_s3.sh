#!/usr/bin/env bash
# test_retrain_s3.sh: `ecosight retrain` against a real S3 server (s3rver on
# 127.0.0.1): the data uploaded with an independent client (aws) is
# downloaded and trained on; the version lands in s3://BUCKET/models/<v>/ and
# models/latest names it; 5 new objects are downloaded alone and only their
# embeddings computed; kill -9 during the download and at publishing leaves
# models/latest and the local latest on the previous model; models
# list/rollback/pull work on the bucket; an unreachable S3 falls back to the
# local copy and says so.
. "$ES_SOURCE_DIR/tests/blackbox/lib/retrain_common.sh"
. "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
rt_setup retrain_s3
s3rver_need_aws
s3rver_extra_cleanup() { rm -rf "$RT"; }
B=ecosight-retrain-test
s3rver_start "$B" || fail "cannot start s3rver"
export AWS_MAX_ATTEMPTS=2

s3latest() { s3rver_aws s3 cp "s3://$B/models/latest" - 2>/dev/null; }

rt_copy_subset "$RT_PER_CLASS" "$RT/src"
n0=$(find "$RT/src" -type f | wc -l)
s3rver_aws s3 cp --recursive --only-show-errors "$RT/src" "s3://$B/extracted_audio/" ||
    fail "aws upload failed"
export S3_BUCKET=$B

# 1. Empty local copy: everything comes from S3, the model goes back up.
rt_retrain --json >"$RT/r1.json" 2>"$RT/r1.err" || { cat "$RT/r1.err"; fail "first retrain failed"; }
[ "$(rt_json .s3_used <"$RT/r1.json")" = true ] || fail "S3 was not used"
[ "$(rt_json .downloaded <"$RT/r1.json")" = "$n0" ] || fail "expected $n0 downloads: $(cat "$RT/r1.json")"
v1=$(rt_json .version <"$RT/r1.json")
[ "$(rt_json .published_to_s3 <"$RT/r1.json")" = true ] || fail "not published to S3"
[ "$(s3latest)" = "$v1" ] || fail "s3 models/latest is '$(s3latest)', expected $v1"
[ "$(rt_latest "$RT_MODELS")" = "$v1" ] || fail "local latest is not $v1"
s3rver_aws s3 ls "s3://$B/models/$v1/model_metadata.json" >/dev/null || fail "no model_metadata.json in S3"
s3rver_aws s3 cp "s3://$B/models/retraining_log.json" "$RT/log.json" >/dev/null ||
    fail "no retraining_log.json in S3"
jq -e --arg v "$v1" '[.retraining_history[] | select(.model_version == $v)] | length == 1' \
    "$RT/log.json" >/dev/null || fail "the S3 log does not record $v1"
cmp <(find "$RT/src" -type f -printf '%P\n' | sort) <(find "$RT_DATA" -type f -printf '%P\n' | sort) ||
    fail "the local copy differs from what was uploaded"

# 2. 5 new recordings in the bucket: only they are downloaded and embedded.
#    One more file appears only in the local copy: the catalog says where
#    each recording came from.
mkdir -p "$RT/more"
cp -r "$RT/src/." "$RT/more/"
rt_add_new 5 "$RT/more"
mkdir -p "$RT/localonly"
cp -r "$RT/more/." "$RT/localonly/"
rt_add_new 1 "$RT/localonly"
lonly=$(comm -13 <(cd "$RT/more" && find . -type f | sort) <(cd "$RT/localonly" && find . -type f | sort) | sed 's|^\./||')
cp "$RT/localonly/$lonly" "$RT_DATA/$lonly"
s3rver_aws s3 sync --only-show-errors "$RT/more" "s3://$B/extracted_audio/" || fail "aws sync failed"
cp "$RT/localonly/$lonly" "$RT/more/$lonly"   # so step 3 adds 4 others (it reaches S3 then)
rt_retrain --min-new-samples 5 --json >"$RT/r2.json" 2>"$RT/r2.err" || { cat "$RT/r2.err"; fail "second retrain failed"; }
[ "$(rt_json .downloaded <"$RT/r2.json")" = 5 ] || fail "expected 5 downloads: $(cat "$RT/r2.json")"
[ "$(rt_json .trained <"$RT/r2.json")" = true ] || fail "5 new did not train"
miss=$(rt_json .cache_misses <"$RT/r2.json")
v2=$(rt_json .version <"$RT/r2.json")
src_of() { sqlite3 "$RT_MODELS/ecosight.db" "SELECT source FROM recordings WHERE path = '$1'"; }
[ "$(src_of "$lonly")" = local ] || fail "$lonly (local only) has source '$(src_of "$lonly")'"
[ "$(sqlite3 "$RT_MODELS/ecosight.db" "SELECT count(*) FROM recordings WHERE source = 's3'")" = $((n0 + 5)) ] ||
    fail "expected $((n0 + 5)) recordings with source s3"
read -r want old < <(rt_expected_misses "$RT_MODELS" "$v2")
echo "second run: $miss computed; new pairs: $want ($old for earlier originals whose split moved)"
[ "$miss" = "$want" ] || fail "computed $miss embeddings, expected exactly $want"
[ "$(s3latest)" = "$v2" ] || fail "s3 latest is not $v2"

# 3. kill -9 during the download and when publishing starts: both latest
#    pointers stay on v2.
rt_add_new 4 "$RT/more"
s3rver_aws s3 sync --only-show-errors "$RT/more" "s3://$B/extracted_audio/" || fail "aws sync failed"
for at in download@0.5 publish; do
    ES_RETRAIN_KILL_AT=$at rt_retrain --force >/dev/null 2>"$RT/kill.err"
    rc=$?
    [ "$rc" = 137 ] || { cat "$RT/kill.err"; fail "kill at $at: exit $rc, expected 137"; }
    [ "$(s3latest)" = "$v2" ] || fail "kill at $at moved s3 latest to $(s3latest)"
    [ "$(rt_latest "$RT_MODELS")" = "$v2" ] || fail "kill at $at moved local latest"
    find "$RT_DATA" -name '*.part' | grep -q . && echo "(a .part file awaits resumption after $at)"
    echo "killed at $at: latest still $v2 locally and in S3"
done
rt_retrain --force --json >"$RT/r3.json" 2>"$RT/r3.err" || { cat "$RT/r3.err"; fail "resume failed"; }
v3=$(rt_json .version <"$RT/r3.json")
[ "$(rt_json .cache_misses <"$RT/r3.json")" = 0 ] || fail "resume recomputed embeddings"
[ "$(s3latest)" = "$v3" ] && [ "$(rt_latest "$RT_MODELS")" = "$v3" ] || fail "resume did not publish $v3"
[ "$(find "$RT_DATA" -type f -name '*.wav' -o -type f -name '*.mp3' | wc -l)" = "$((n0 + 10))" ] ||
    fail "the local copy does not hold all $((n0 + 9)) recordings and the local one"

# 4. models list / rollback / pull on the bucket.
"$ES_BIN" models list --models "$RT_MODELS" --json >"$RT/list.json" || fail "models list failed"
[ "$(jq -r '.latest_s3' "$RT/list.json")" = "$v3" ] || fail "models list: wrong s3 latest"
[ "$(jq '[.versions[] | select(.s3 and .local)] | length' "$RT/list.json")" = 3 ] || fail "models list: expected 3 versions in both places"
"$ES_BIN" models rollback "$v1" --models "$RT_MODELS" >/dev/null || fail "rollback failed"
[ "$(s3latest)" = "$v1" ] && [ "$(rt_latest "$RT_MODELS")" = "$v1" ] || fail "rollback did not move both pointers"
"$ES_BIN" models pull --set-latest --models "$RT/models2" >/dev/null || fail "pull failed"
[ "$(rt_latest "$RT/models2")" = "$v1" ] || fail "pull did not fetch the bucket's latest"
cmp "$RT_MODELS/$v1/model_metadata.json" "$RT/models2/$v1/model_metadata.json" || fail "pulled files differ"

# 5. S3 configured but unreachable: the local copy is used, and said so.
s3rver_stop
rt_retrain --force --json >"$RT/r4.json" 2>"$RT/r4.err" || { cat "$RT/r4.err"; fail "fallback retrain failed"; }
grep -qi "unreachable" "$RT/r4.err" || fail "no 'unreachable' message: $(cat "$RT/r4.err")"
[ "$(rt_json .s3_fallback <"$RT/r4.json")" = true ] || fail "not flagged as a fallback"
[ "$(rt_json .published_to_s3 <"$RT/r4.json")" = false ] || fail "claims an S3 publish"
echo "PASS"
