#!/usr/bin/env bash
# test_s3_region.sh: a bucket in another region than AWS_REGION. A proxy in
# front of the real S3 server plays S3's wrong-region answers (301
# PermanentRedirect / 400 AuthorizationHeaderMalformed with
# x-amz-bucket-region: eu-west-1) to requests not signed for eu-west-1.
# ecosight follows once (re-signs for eu-west-1, remembers it for the bucket's
# other requests, warns to set AWS_REGION) and completes; a server that keeps
# redirecting is followed only once and the run fails with exit 1.
set -euo pipefail
: "${ES_BIN:?}" "${ES_SOURCE_DIR:?}"
. "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
[ -n "$py" ] || _s3rver_skip "no python3 for the fault proxy"
s3rver_start es-elsewhere es-malformed es-nowhere
fail() { echo "FAIL: $*" >&2; exit 1; }
trap '[[ $- != *e* ]] || echo "FAIL: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
work=$(mktemp -d "$S3RVER_BASE/work.XXXXXX")
proxy_pid=""
s3rver_extra_cleanup() { [ -z "$proxy_pid" ] || { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; } || true; }

n=6
[ "${ES_SANITIZED:-0}" = 1 ] && n=4
for c in dog_bark gun_shot; do
    mkdir -p "$work/src/$c"
    for i in $(seq 1 $n); do head -c $((30000 + i * 1013)) /dev/urandom >"$work/src/$c/f$i.wav"; done
done
head -c $((9 * 1024 * 1024)) /dev/urandom >"$work/src/gun_shot/long.wav"   # multipart too
# straight to the server (no proxy): the bucket's content
"$ES_BIN" -q upload --json "$work/src" s3://es-elsewhere/x/ >/dev/null || fail "direct upload"

"$py" "$ES_SOURCE_DIR/tests/blackbox/lib/s3_fault_proxy.py" "$S3RVER_PORT" 1000000000 "$work/proxy.log" \
    >"$work/proxy.out" 2>"$work/proxy.err" &
proxy_pid=$!
for _ in $(seq 1 100); do grep -q '^READY ' "$work/proxy.out" 2>/dev/null && break; sleep 0.1; done
pport=$(sed -n 's/^READY //p' "$work/proxy.out")
[ -n "$pport" ] || fail "proxy did not start: $(cat "$work/proxy.err")"
direct=$AWS_ENDPOINT_URL
export AWS_ENDPOINT_URL="http://127.0.0.1:$pport" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
count() { grep -Ec "^region $1 .* /$2[/?]" "$work/proxy.log" || true; }

# 1. 301 PermanentRedirect: the download follows it once and completes.
"$ES_BIN" download --json --jobs 4 s3://es-elsewhere/x/ "$work/dl" >"$work/dl.json" 2>"$work/dl.err" ||
    fail "download from a bucket in another region: $(cat "$work/dl.err")"
jq -e --argjson n $((2 * n + 1)) '.files == $n and .failed == 0' "$work/dl.json" >/dev/null ||
    fail "summary: $(cat "$work/dl.json")"
diff -r "$work/src" "$work/dl" >/dev/null || fail "bytes differ after the redirect"
[ "$(grep -c 'is in region eu-west-1, not us-east-1.*set AWS_REGION=eu-west-1' "$work/dl.err")" -eq 1 ] ||
    fail "want one warning naming AWS_REGION=eu-west-1: $(cat "$work/dl.err")"
[ "$(count 301 es-elsewhere)" -eq 1 ] ||
    fail "want exactly one redirected request (the region is remembered): $(grep ^region "$work/proxy.log")"
echo "ok: 301 PermanentRedirect followed once, $((2 * n + 1)) objects downloaded signed for eu-west-1"

# 2. 400 AuthorizationHeaderMalformed: an upload (listing, parts, completion) follows it once.
"$ES_BIN" upload --json --jobs 4 "$work/src" s3://es-malformed/y/ >"$work/up.json" 2>"$work/up.err" ||
    fail "upload to a bucket in another region: $(cat "$work/up.err")"
jq -e --argjson n $((2 * n + 1)) '.files == $n and .failed == 0' "$work/up.json" >/dev/null ||
    fail "summary: $(cat "$work/up.json")"
grep -q 'set AWS_REGION=eu-west-1' "$work/up.err" || fail "no AWS_REGION warning: $(cat "$work/up.err")"
[ "$(count 400 es-malformed)" -eq 1 ] || fail "want one 400 answer: $(grep ^region "$work/proxy.log")"
AWS_ENDPOINT_URL=$direct "$ES_BIN" -q download --json s3://es-malformed/y/ "$work/back" >/dev/null ||
    fail "reading back the redirected upload"
diff -r "$work/src" "$work/back" >/dev/null || fail "redirected upload differs"
echo "ok: 400 AuthorizationHeaderMalformed followed once, upload complete"

# 3. The right region from the start: no redirect, no warning.
: >"$work/proxy.log"
AWS_REGION=eu-west-1 "$ES_BIN" download --json s3://es-elsewhere/x/ "$work/dl3" >"$work/dl3.json" 2>"$work/dl3.err" ||
    fail "download with AWS_REGION=eu-west-1: $(cat "$work/dl3.err")"
grep -q 'AWS_REGION' "$work/dl3.err" && fail "warned although the region was right"
[ "$(count '[0-9]+' es-elsewhere)" -eq 0 ] || fail "redirected although the region was right"

# 4. A server that keeps redirecting: followed once, then exit 1 naming the code.
: >"$work/proxy.log"
set +e
"$ES_BIN" download --json s3://es-nowhere/z/ "$work/dl4" >"$work/dl4.json" 2>"$work/dl4.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "redirect loop: exit $rc"
grep -q 'PermanentRedirect' "$work/dl4.err" || fail "redirect loop: $(cat "$work/dl4.err")"
grep -q 'AWS_REGION=ap-south-1' "$work/dl4.err" || fail "redirect loop: region not named: $(cat "$work/dl4.err")"
[ "$(count 301 es-nowhere)" -eq 2 ] || fail "want exactly 2 requests (one redirect followed): $(cat "$work/proxy.log")"
grep -q 'signed=us-east-1' "$work/proxy.log" && grep -q 'signed=eu-west-1' "$work/proxy.log" ||
    fail "the followed request was not re-signed: $(cat "$work/proxy.log")"
echo "ok: a second redirect is not followed (exit 1)"
echo "PASS"
