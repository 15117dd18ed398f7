#!/usr/bin/env bash
# test_s3_failures.sh: failures against a real S3 server. A wrong secret is
# rejected by the server's signature check: exit 1, S3's error code in the
# message, the secret nowhere in the output. A missing bucket is NoSuchBucket.
# The server killed in the middle of a download: the command fails cleanly
# (exit 1, no file under its final name, the partial data kept aside), and
# re-running it resumes and completes with the right bytes; a server that
# comes back within the retry window is waited for and the download completes.
set -euo pipefail
: "${ES_BIN:?}" "${ES_SOURCE_DIR:?}"
. "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
s3rver_need_aws
s3rver_start es-fail
fail() { echo "FAIL: $*" >&2; exit 1; }
trap '[[ $- != *e* ]] || echo "FAIL: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
work=$(mktemp -d "$S3RVER_BASE/work.XXXXXX")
mkdir -p "$work/src/dog_bark"
head -c 300000 /dev/urandom >"$work/src/dog_bark/a.wav"

# 1. Wrong secret.
good_secret=$AWS_SECRET_ACCESS_KEY
set +e
AWS_SECRET_ACCESS_KEY="wrong-$good_secret" "$ES_BIN" upload --json "$work/src" s3://es-fail/x/ \
    >"$work/wrong.json" 2>"$work/wrong.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "wrong secret: exit $rc, want 1"
grep -q SignatureDoesNotMatch "$work/wrong.err" || fail "no S3 error code: $(cat "$work/wrong.err")"
jq -e '.error | test("SignatureDoesNotMatch")' "$work/wrong.json" >/dev/null ||
    fail "JSON lacks the error: $(cat "$work/wrong.json")"
if grep -q -- "$good_secret" "$work/wrong.err" "$work/wrong.json"; then fail "the secret leaked"; fi
s3rver_aws s3 ls s3://es-fail/x/ | grep -q . && fail "something was uploaded with a wrong secret"
# Even at the most verbose log level no secret appears.
"$ES_BIN" --log-level trace upload --json "$work/src" s3://es-fail/ok/ >"$work/ok.json" 2>"$work/ok.err" ||
    fail "upload failed: $(cat "$work/ok.err")"
grep -q 'PutObject s3://es-fail/ok/dog_bark/a.wav' "$work/ok.err" || fail "trace log lacks requests"
if grep -q -- "$good_secret" "$work/ok.err" "$work/ok.json"; then fail "the secret leaked into the log"; fi
grep -q 'Signature=' "$work/ok.err" && fail "a signature leaked into the log"
echo "ok: wrong secret -> exit 1, SignatureDoesNotMatch; no secret in any output"

# An unknown access key, and a bucket that does not exist.
set +e
AWS_ACCESS_KEY_ID=ESNOSUCHKEY "$ES_BIN" -q download s3://es-fail/x/ "$work/none" 2>"$work/key.err"
rc1=$?
"$ES_BIN" -q download s3://es-no-such-bucket/x/ "$work/none" 2>"$work/nb.err"
rc2=$?
set -e
[ $rc1 -eq 1 ] && grep -q InvalidAccessKeyId "$work/key.err" || fail "unknown key: $rc1 $(cat "$work/key.err")"
[ $rc2 -eq 1 ] && grep -q NoSuchBucket "$work/nb.err" || fail "missing bucket: $rc2 $(cat "$work/nb.err")"
set +e
"$ES_BIN" -q upload "$work/no-such-dir" s3://es-fail/x/ 2>"$work/nd.err"; rc3=$?
"$ES_BIN" -q upload "$work/src" not-an-s3-url 2>/dev/null; rc4=$?
set -e
[ $rc3 -eq 1 ] && grep -q "no-such-dir" "$work/nd.err" || fail "missing directory: exit $rc3"
[ $rc4 -eq 2 ] || fail "bad URL: exit $rc4, want 2 (usage)"
echo "ok: InvalidAccessKeyId, NoSuchBucket, missing directory, usage errors"

# 2. The server killed in the middle of a download.
# Larger than what loopback socket buffers hold (several MB are in flight when
# the server dies and still arrive), so the kill really cuts the transfer.
size=$((16 * 1024 * 1024))
head -c $size /dev/urandom >"$work/big.wav"
s3rver_aws s3 cp --only-show-errors "$work/big.wav" s3://es-fail/rec/gun_shot/big.wav
dst=$work/dst
part=$dst/gun_shot/.big.wav.part
# 1 MiB/s: the transfer would take 16 s, ample time to kill the server in it even on a
# loaded machine (it is killed after the first MB, so the test does not wait that long)
AWS_MAX_ATTEMPTS=3 "$ES_BIN" download --json --limit-rate 1M s3://es-fail/rec/ "$dst" \
    >"$work/k1.json" 2>"$work/k1.err" &
dl=$!
for _ in $(seq 1 100); do
    [ -f "$part" ] && [ "$(stat -c %s "$part")" -gt 1000000 ] && break
    sleep 0.1
done
[ -f "$part" ] || fail "the download never started"
s3rver_kill
set +e
# bounded: 3 attempts with backoff of at most 0.2+0.4 s plus connect failures
timeout 60 tail --pid=$dl -f /dev/null
wait $dl
rc=$?
set -e
[ $rc -eq 1 ] || fail "killed server: exit $rc, want 1 ($(cat "$work/k1.err"))"
[ ! -e "$dst/gun_shot/big.wav" ] || fail "a partial file was left under the final name"
[ -f "$part" ] || fail "the partial data was not kept for resuming"
have=$(stat -c %s "$part")
[ "$have" -gt 0 ] && [ "$have" -lt $size ] || fail "partial file has $have bytes"
jq -e '.failed == 1 and .files == 0' "$work/k1.json" >/dev/null || fail "summary: $(cat "$work/k1.json")"
echo "ok: killed server -> exit 1, no file under its final name ($have bytes kept aside)"

# Re-run after the server is back: resumes from the partial data and completes.
s3rver_launch "$S3RVER_PORT"
"$ES_BIN" download --json s3://es-fail/rec/ "$dst" >"$work/k2.json" 2>"$work/k2.err" ||
    fail "re-run failed: $(cat "$work/k2.err")"
grep -q "resuming s3://es-fail/rec/gun_shot/big.wav at byte $have" "$work/k2.err" ||
    fail "the re-run did not resume: $(cat "$work/k2.err")"
cmp -s "$dst/gun_shot/big.wav" "$work/big.wav" || fail "resumed file differs"
[ ! -e "$part" ] || fail "the partial file was not cleaned up"
echo "ok: re-run resumed at byte $have and completed"

# 3. Killed and restarted within the retry window: the same command completes.
rm -rf "$dst"
AWS_MAX_ATTEMPTS=10 "$ES_BIN" download --json --limit-rate 1M s3://es-fail/rec/ "$dst" \
    >"$work/r.json" 2>"$work/r.err" &
dl=$!
for _ in $(seq 1 100); do
    [ -f "$part" ] && [ "$(stat -c %s "$part")" -gt 1000000 ] && break
    sleep 0.1
done
s3rver_kill
sleep 0.5
s3rver_launch "$S3RVER_PORT"
set +e
timeout 120 tail --pid=$dl -f /dev/null
wait $dl
rc=$?
set -e
[ $rc -eq 0 ] || fail "retry across a restart: exit $rc ($(cat "$work/r.err"))"
grep -q "retrying" "$work/r.err" || fail "no retry was logged"
cmp -s "$dst/gun_shot/big.wav" "$work/big.wav" || fail "file differs after retries"
echo "ok: server restarted mid-download -> retried, resumed, completed"
echo "PASS"
