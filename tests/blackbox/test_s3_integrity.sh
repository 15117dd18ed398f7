#!/usr/bin/env bash
# test_s3_integrity.sh: every download is verified against what S3 says the
# object is, hashed while it streams in. A proxy in front of the real S3
# server flips one byte of the body of keys named "flipbyte": a large
# single-part object (over 64 MiB, put by aws, so only its ETag = MD5 vouches
# for it) and an object we uploaded (x-amz-meta-sha256) must both fail
# verification, exit 1, leaving nothing under the final name. The same large
# object fetched unflipped verifies and is byte-identical.
set -euo pipefail
: "${ES_BIN:?}" "${ES_SOURCE_DIR:?}"
. "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
[ -n "$py" ] || _s3rver_skip "no python3 for the fault proxy"
s3rver_need_aws
s3rver_start es-integrity
fail() { echo "FAIL: $*" >&2; exit 1; }
trap '[[ $- != *e* ]] || echo "FAIL: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
work=$(mktemp -d "$S3RVER_BASE/work.XXXXXX")
proxy_pid=""
s3rver_extra_cleanup() { [ -z "$proxy_pid" ] || { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; } || true; }

# A large single-part object (over the old 64 MiB limit of whole-file MD5 checks),
# put by aws in one PutObject: S3's ETag is its MD5 and there is no sha256 metadata.
mkdir -p "$work/src"
head -c $((70 * 1024 * 1024)) /dev/urandom >"$work/src/big.wav"
for k in ok/clips/big.wav flipbyte/clips/big.wav; do
    s3rver_aws s3api put-object --bucket es-integrity --key "$k" --body "$work/src/big.wav" >/dev/null
done
etag=$(s3rver_aws s3api head-object --bucket es-integrity --key flipbyte/clips/big.wav | jq -r .ETag)
[ "$etag" = "\"$(md5sum "$work/src/big.wav" | cut -d' ' -f1)\"" ] || fail "not a single-part MD5 ETag: $etag"
# One small object of ours: verified by its x-amz-meta-sha256.
mkdir -p "$work/ours/dog_bark"
head -c 300000 /dev/urandom >"$work/ours/dog_bark/a.wav"
"$ES_BIN" -q upload --json "$work/ours" s3://es-integrity/flipbyte/sha/ >/dev/null || fail "upload"

# the proxy (no injected faults: EVERY is huge), only the byte flips
"$py" "$ES_SOURCE_DIR/tests/blackbox/lib/s3_fault_proxy.py" "$S3RVER_PORT" 1000000000 "$work/proxy.log" \
    >"$work/proxy.out" 2>"$work/proxy.err" &
proxy_pid=$!
for _ in $(seq 1 100); do grep -q '^READY ' "$work/proxy.out" 2>/dev/null && break; sleep 0.1; done
pport=$(sed -n 's/^READY //p' "$work/proxy.out")
[ -n "$pport" ] || fail "proxy did not start: $(cat "$work/proxy.err")"
export AWS_ENDPOINT_URL="http://127.0.0.1:$pport"

# 1. Unflipped, through the same proxy: verified by streaming MD5, identical bytes.
"$ES_BIN" --log-level debug download --json s3://es-integrity/ok/ "$work/ok" >"$work/ok.json" 2>"$work/ok.err" ||
    fail "clean download: $(tail -5 "$work/ok.err")"
jq -e '.files == 1 and .failed == 0' "$work/ok.json" >/dev/null || fail "clean download: $(cat "$work/ok.json")"
cmp -s "$work/ok/clips/big.wav" "$work/src/big.wav" || fail "clean download differs"
echo "ok: a 70 MiB single-part object downloads verified"

# 2. Flipped byte in the large object: MD5 differs from the ETag.
set +e
"$ES_BIN" download --json s3://es-integrity/flipbyte/clips/ "$work/bad" >"$work/bad.json" 2>"$work/bad.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "corrupted large download: exit $rc ($(tail -3 "$work/bad.err"))"
grep -q 'flipped byte' "$work/proxy.log" || fail "the proxy flipped nothing"
grep -Eq 'MD5 [0-9a-f]{32} differs from ETag' "$work/bad.err" || fail "no MD5 mismatch reported: $(cat "$work/bad.err")"
jq -e '.failed == 1 and .files == 0' "$work/bad.json" >/dev/null || fail "summary: $(cat "$work/bad.json")"
[ ! -e "$work/bad/big.wav" ] || fail "a corrupted download was kept under its final name"
[ -z "$(find "$work/bad" -name '*.part' 2>/dev/null)" ] || fail "a corrupted partial file was kept"
echo "ok: a flipped byte in a 70 MiB single-part object fails MD5 verification (exit 1, no file)"

# 3. Flipped byte in our own object: SHA-256 differs from x-amz-meta-sha256.
set +e
"$ES_BIN" download --json s3://es-integrity/flipbyte/sha/ "$work/bad2" >"$work/bad2.json" 2>"$work/bad2.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "corrupted sha256 download: exit $rc"
grep -Eq 'SHA-256 [0-9a-f]{64} differs from x-amz-meta-sha256' "$work/bad2.err" ||
    fail "no SHA-256 mismatch reported: $(cat "$work/bad2.err")"
[ -z "$(find "$work/bad2" -type f 2>/dev/null)" ] || fail "files left: $(find "$work/bad2" -type f)"
echo "ok: a flipped byte in an object with sha256 metadata fails verification"

# 4. A resumed download is verified whole: a correct first half kept from an
#    earlier try, the rest flipped in transit -> fails (and the retry from
#    scratch fails too); nothing under the final name.
mkdir -p "$work/res"
head -c $((35 * 1024 * 1024)) "$work/src/big.wav" >"$work/res/.big.wav.part"
set +e
"$ES_BIN" download --json s3://es-integrity/flipbyte/clips/ "$work/res" >"$work/res.json" 2>"$work/res.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "corrupted resumed download: exit $rc"
grep -q 'resuming' "$work/res.err" || fail "the partial file was not resumed: $(cat "$work/res.err")"
grep -q 'differs from ETag' "$work/res.err" || fail "resumed corruption not detected: $(cat "$work/res.err")"
[ ! -e "$work/res/big.wav" ] || fail "a corrupted resumed download was kept"
echo "PASS"
