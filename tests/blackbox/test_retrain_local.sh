#!/usr/bin/env bash
# test_retrain_local.sh: `ecosight retrain` without S3: the seed's fallback
# message, a first run that always trains, "nothing to do" when nothing
# changed, 5 new recordings trigger a run that computes only their
# embeddings (cache statistics), `status --json`, a second retrain refused
# while one holds the lock, and kill -9 at several stages leaving latest and
# the catalog intact with the next run reusing every cached embedding.
. "$ES_SOURCE_DIR/tests/blackbox/lib/retrain_common.sh"
rt_setup retrain_local
trap '[ -n "${holder:-}" ] && kill -KILL "$holder" 2>/dev/null; rm -rf "$RT"' EXIT
rt_copy_subset "$RT_PER_CLASS" "$RT_DATA"
n0=$(find "$RT_DATA" -type f | wc -l)

# 1. First run, no S3: the seed's message, trains, publishes locally.
rt_retrain --json >"$RT/r1.json" 2>"$RT/r1.err" || { cat "$RT/r1.err"; fail "first retrain failed"; }
grep -q "S3 not configured, using local training data" "$RT/r1.err" || fail "no local-fallback message"
[ "$(rt_json .trained <"$RT/r1.json")" = true ] || fail "first run did not train"
v1=$(rt_json .version <"$RT/r1.json")
[ -n "$v1" ] && [ "$(rt_latest "$RT_MODELS")" = "$v1" ] || fail "latest is not $v1"
[ -f "$RT_MODELS/$v1/model_metadata.json" ] || fail "no model_metadata.json in $v1"
m1=$(rt_json .cache_misses <"$RT/r1.json")
[ "$m1" -ge "$n0" ] || fail "first run computed $m1 embeddings for $n0 recordings"
jq -e '.retraining_history[-1].stage_seconds.features >= 0' "$RT_MODELS/retraining_log.json" >/dev/null ||
    fail "retraining_log.json lacks stage timings"

# 2. Nothing changed: exit 0, nothing to do, latest untouched.
out=$(rt_retrain 2>"$RT/r2.err") || fail "second retrain failed: $(cat "$RT/r2.err")"
echo "$out" | grep -q "nothing to do" || fail "expected 'nothing to do', got: $out"
[ "$(rt_latest "$RT_MODELS")" = "$v1" ] || fail "latest changed without a run"

# 3. 5 new recordings: below the default threshold nothing happens, with
#    --min-new-samples 5 it trains and computes embeddings only for them.
rt_add_new 5 "$RT_DATA"
rt_retrain --json >"$RT/r3.json" 2>/dev/null || fail "retrain with 5 new failed"
[ "$(rt_json .trained <"$RT/r3.json")" = false ] || fail "trained below the default threshold of 100"
[ "$(rt_json .new <"$RT/r3.json")" = 5 ] || fail "expected 5 new recordings: $(cat "$RT/r3.json")"
"$ES_BIN" status --models "$RT_MODELS" --json >"$RT/s3.json" || fail "status failed"
[ "$(rt_json .since_last_run.new <"$RT/s3.json")" = 5 ] || fail "status does not show 5 new"
[ "$(rt_json .model.version <"$RT/s3.json")" = "$v1" ] || fail "status shows the wrong model"
total=$(rt_json .recordings <"$RT/s3.json")
[ "$total" = $((n0 + 5)) ] || fail "status counts $total recordings, expected $((n0 + 5))"
rt_retrain --min-new-samples 5 --json >"$RT/r4.json" 2>"$RT/r4.err" ||
    { cat "$RT/r4.err"; fail "retrain of 5 new failed"; }
[ "$(rt_json .trained <"$RT/r4.json")" = true ] || fail "5 new with threshold 5 did not train"
v2=$(rt_json .version <"$RT/r4.json")
miss=$(rt_json .cache_misses <"$RT/r4.json")
hits=$(rt_json .cache_hits <"$RT/r4.json")
read -r want old < <(rt_expected_misses "$RT_MODELS" "$v2")
echo "second run: $hits embeddings reused, $miss computed (first run computed $m1);" \
     "new pairs in split.json: $want, of which $old for earlier originals whose split moved"
# Exactly the (original, variant) pairs no earlier run used were computed:
# each of the 5 new originals with its augmentations (--per-file 1), plus
# augmentations of earlier originals the split moved from test to train/val.
[ "$miss" = "$want" ] || fail "computed $miss embeddings, expected exactly $want"
[ "$((want - old))" -ge 5 ] && [ "$((want - old))" -le 10 ] || fail "new originals cost $((want - old)) embeddings, expected 5..10"
[ "$hits" -gt 0 ] || fail "nothing was reused from the cache"
[ "$(rt_latest "$RT_MODELS")" = "$v2" ] || fail "latest is not the new $v2"

# 4. Two retrains at once: the second refuses (the first is held stopped
#    inside its run, lock taken), nothing changes.
ES_RETRAIN_STOP_AT=scan rt_retrain --force >/dev/null 2>"$RT/bg.err" &
bgpid=$!
holder=""
for _ in $(seq 1 600); do
    holder=$(sed -n 's/^pid \([0-9]*\),.*/\1/p' "$RT_MODELS/.retrain.lock" 2>/dev/null)
    if [ -n "$holder" ]; then
        case "$(ps -o stat= -p "$holder" 2>/dev/null)" in T*) break ;; esac
    fi
    sleep 0.1
done
case "$(ps -o stat= -p "${holder:-0}" 2>/dev/null)" in
    T*) ;; *) fail "the first retrain did not reach its stop point" ;;
esac
if rt_retrain --force >"$RT/second.out" 2>"$RT/second.err"; then fail "a second concurrent retrain ran"; fi
grep -q "another retrain is already running.*pid $holder" "$RT/second.err" ||
    fail "no lock message naming pid $holder: $(cat "$RT/second.err")"
kill -KILL "$holder"; wait "$bgpid" 2>/dev/null
[ "$(rt_latest "$RT_MODELS")" = "$v2" ] || fail "latest changed by the refused/killed runs"

# 5. kill -9 at several stages: latest unchanged, the catalog sound, and the
#    next run resumes reusing what was cached.
rt_add_new 3 "$RT_DATA"
stages="scan features@0.5 train publish"
[ "${ES_SANITIZED:-0}" = 1 ] && stages="features@0.5 publish"
for at in $stages; do
    ES_RETRAIN_KILL_AT=$at rt_retrain --force >/dev/null 2>"$RT/kill.err"
    rc=$?
    [ "$rc" = 137 ] || { cat "$RT/kill.err"; fail "kill at $at: exit $rc, expected 137 (SIGKILL)"; }
    [ "$(rt_latest "$RT_MODELS")" = "$v2" ] || fail "kill at $at moved latest"
    "$ES_BIN" status --models "$RT_MODELS" --json >"$RT/sk.json" || fail "status after kill at $at failed"
    # Before the trigger no run is recorded; after it, the killed one is
    # shown interrupted (its process is gone) at stage $at.
    case $at in
        scan) [ "$(rt_json .last_run.version <"$RT/sk.json")" = "$v2" ] || fail "kill at scan left a run record" ;;
        *) [ "$(rt_json .last_run.status <"$RT/sk.json")" = interrupted ] || fail "the run killed at $at is not shown interrupted"
           [ "$(rt_json .last_run.stage <"$RT/sk.json")" = "${at%@*}" ] || fail "the run killed at $at shows stage $(rt_json .last_run.stage <"$RT/sk.json")" ;;
    esac
    if command -v sqlite3 >/dev/null; then
        [ "$(sqlite3 "$RT_MODELS/ecosight.db" 'PRAGMA integrity_check')" = ok ] ||
            fail "catalog damaged after kill at $at"
    fi
    echo "killed at $at: latest still $v2, catalog sound"
done
rt_retrain --force --json >"$RT/r5.json" 2>"$RT/r5.err" || { cat "$RT/r5.err"; fail "resume failed"; }
grep -q "interrupted" "$RT/r5.err" || fail "the resumed run did not mention the interrupted one"
miss=$(rt_json .cache_misses <"$RT/r5.json")
# features@0.5 was killed with the 3 new files' embeddings partly computed;
# the later kills (train, publish) had all of them: nothing left to compute.
[ "$miss" = 0 ] || fail "the resumed run computed $miss embeddings, expected all from the cache"
v3=$(rt_json .version <"$RT/r5.json")
[ "$(rt_latest "$RT_MODELS")" = "$v3" ] && [ "$v3" != "$v2" ] || fail "resumed run did not publish"
"$ES_BIN" models list --models "$RT_MODELS" --no-s3 --json >"$RT/list.json" || fail "models list failed"
[ "$(jq -r '.versions[] | select(.latest) | .version' "$RT/list.json")" = "$v3" ] || fail "models list latest"
"$ES_BIN" models rollback "$v1" --models "$RT_MODELS" --no-s3 >/dev/null || fail "rollback failed"
[ "$(rt_latest "$RT_MODELS")" = "$v1" ] || fail "rollback did not move latest"
if "$ES_BIN" models rollback nosuchversion --models "$RT_MODELS" --no-s3 2>/dev/null; then
    fail "rollback to a missing version succeeded"
fi
echo "PASS"
