#!/usr/bin/env bash
# test_s3_retry.sh: retries with backoff. A proxy in front of the real S3
# server fails every 4th request in turn with 503 SlowDown, 500
# InternalError, 429, a dropped connection and (for GETs) a body cut off
# half-way; an upload and a download through it must still complete with the
# right bytes, having retried. With retries off (AWS_MAX_ATTEMPTS=1) the same
# faults fail the run with exit 1 and S3's error code.
set -euo pipefail
: "${ES_BIN:?}" "${ES_SOURCE_DIR:?}"
. "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
[ -n "$py" ] || _s3rver_skip "no python3 for the fault proxy"
s3rver_start es-retry
fail() { echo "FAIL: $*" >&2; exit 1; }
trap '[[ $- != *e* ]] || echo "FAIL: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
work=$(mktemp -d "$S3RVER_BASE/work.XXXXXX")
proxy_pid=""
s3rver_extra_cleanup() { [ -z "$proxy_pid" ] || { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; } || true; }

# start_proxy EVERY: a fresh proxy (request count from 1) in front of s3rver
start_proxy() {
    if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
    : >"$work/proxy.out"; : >"$work/proxy.log"
    "$py" "$ES_SOURCE_DIR/tests/blackbox/lib/s3_fault_proxy.py" "$S3RVER_PORT" "$1" "$work/proxy.log" \
        >"$work/proxy.out" 2>"$work/proxy.err" &
    proxy_pid=$!
    local _
    for _ in $(seq 1 100); do grep -q '^READY ' "$work/proxy.out" 2>/dev/null && break; sleep 0.1; done
    local pport
    pport=$(sed -n 's/^READY //p' "$work/proxy.out")
    [ -n "$pport" ] || fail "proxy did not start: $(cat "$work/proxy.err")"
    export AWS_ENDPOINT_URL="http://127.0.0.1:$pport"
}
start_proxy 4

n=24
# (small files: the same count under the sanitizers, so every fault kind is hit)
for c in dog_bark gun_shot; do
    mkdir -p "$work/src/$c"
    for i in $(seq 1 $((n / 2))); do head -c $((20000 + i * 997)) /dev/urandom >"$work/src/$c/f$i.wav"; done
done
# one multipart object too: its parts and completion go through the faults
head -c $((9 * 1024 * 1024)) /dev/urandom >"$work/src/dog_bark/long.wav"

export AWS_MAX_ATTEMPTS=8
"$ES_BIN" upload --json --jobs 4 "$work/src" s3://es-retry/p/ >"$work/up.json" 2>"$work/up.err" ||
    fail "upload through faults: $(cat "$work/up.err")"
jq -e --argjson n $((n + 1)) '.files == $n and .failed == 0' "$work/up.json" >/dev/null ||
    fail "upload summary: $(cat "$work/up.json")"
grep -q 'retrying' "$work/up.err" || fail "no retry happened during the upload"
"$ES_BIN" download --json --jobs 4 s3://es-retry/p/ "$work/dst" >"$work/dl.json" 2>"$work/dl.err" ||
    fail "download through faults: $(cat "$work/dl.err")"
grep -q 'retrying' "$work/dl.err" || fail "no retry happened during the download"
diff -r "$work/src" "$work/dst" >/dev/null || fail "bytes differ after retried transfers"
faults=$(awk '$4 != "-"' "$work/proxy.log" | wc -l)
kinds=$(awk '$4 != "-" {print $4}' "$work/proxy.log" | sort -u | tr '\n' ' ')
echo "ok: upload and download completed through $faults injected faults ($kinds)"
for k in slowdown internal throttle drop truncate; do
    grep -q " $k\$" "$work/proxy.log" || fail "fault $k was never injected"
done

# Without retries the faults are errors: exit 1, with the S3 code when there is one.
# (fresh proxy: request 1 is the listing, request 4 the first fault)
rm -rf "$work/dst"
start_proxy 4
set +e
AWS_MAX_ATTEMPTS=1 "$ES_BIN" -q download --json --jobs 1 s3://es-retry/p/ "$work/dst" \
    >"$work/nr.json" 2>"$work/nr.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "no retries: exit $rc, want 1"
grep -Eq 'SlowDown|InternalError|Empty reply|Failure when receiving|transfer closed' "$work/nr.err" ||
    fail "no retries: unclear error: $(cat "$work/nr.err")"
jq -e '.failed > 0 and .files > 0' "$work/nr.json" >/dev/null ||
    fail "no retries: the other objects were not all attempted: $(cat "$work/nr.json")"
[ -z "$(find "$work/dst" -name '*.wav' -size 0)" ] || fail "empty files left behind"
echo "ok: without retries the faults fail the run (exit 1) after the other objects"

# A multipart upload whose part fails (no retries) is aborted, not left behind.
# A fresh proxy makes it exact: requests 1-3 are ListObjectsV2,
# PutPublicAccessBlock and CreateMultipartUpload, request 4 (a part) fails.
start_proxy 4
mkdir -p "$work/mp/engine_idling"
head -c $((17 * 1024 * 1024)) /dev/urandom >"$work/mp/engine_idling/big.wav"
set +e
AWS_MAX_ATTEMPTS=1 "$ES_BIN" -q upload --json "$work/mp" s3://es-retry/mp/ >"$work/mp.json" 2>"$work/mp.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "a multipart upload with a failed part exited $rc"
grep -Eq '^4 PUT /es-retry/mp/engine_idling/big.wav\?partNumber=[0-9]+&uploadId=.* slowdown$' "$work/proxy.log" ||
    fail "request 4 was not a failed part: $(cat "$work/proxy.log")"
grep -Eq '^[0-9]+ DELETE /es-retry/mp/engine_idling/big.wav\?uploadId=.* -$' "$work/proxy.log" ||
    fail "the failed multipart upload was not aborted: $(cat "$work/proxy.log")"
grep -q 'POST .*uploadId=' "$work/proxy.log" && fail "a multipart upload with a failed part was completed"
if s3rver_aws s3 ls s3://es-retry/mp/ --recursive | grep -q big.wav; then fail "a failed upload left an object"; fi
echo "ok: a multipart upload with a failed part is aborted"
echo "PASS"
