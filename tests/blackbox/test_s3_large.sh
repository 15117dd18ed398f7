#!/usr/bin/env bash
# test_s3_large.sh: the sizes that change the protocol, against a real S3
# server with aws as the independent client: a 20 MB file goes up as a
# multipart upload (aws reads back the same bytes; the ETag is a multipart
# one; a second upload skips it), and a prefix of more than 1,000 objects
# (one ListObjectsV2 page) is downloaded whole and then skipped whole.
set -euo pipefail
: "${ES_BIN:?}" "${ES_SOURCE_DIR:?}"
. "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
s3rver_need_aws
s3rver_start es-large
fail() { echo "FAIL: $*" >&2; exit 1; }
trap '[[ $- != *e* ]] || echo "FAIL: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
work=$(mktemp -d "$S3RVER_BASE/work.XXXXXX")

# 1. 20 MB: three 8 MiB parts, sent in parallel.
mkdir -p "$work/big/engine_idling"
head -c 20000000 /dev/urandom >"$work/big/engine_idling/long.wav"
"$ES_BIN" --log-level debug upload --json "$work/big" s3://es-large/big/ >"$work/up.json" \
    2>"$work/up.err" || { cat "$work/up.err"; fail "multipart upload failed"; }
grep -q 'multipart s3://es-large/big/engine_idling/long.wav: 3 parts' "$work/up.err" ||
    fail "20 MB did not go up as 3 parts"
[ "$(grep -c 'UploadPart s3://es-large/big/engine_idling/long.wav -> 200' "$work/up.err")" -eq 3 ] ||
    fail "not 3 successful UploadPart requests"
jq -e '.files == 1 and .bytes == 20000000 and .failed == 0' "$work/up.json" >/dev/null ||
    fail "upload summary: $(cat "$work/up.json")"
etag=$(s3rver_aws s3api head-object --bucket es-large --key big/engine_idling/long.wav | jq -r .ETag)
# Real S3 answers md5-of-part-md5s "-3"; s3rver's multipart ETag is the plain MD5 of the whole.
md5=$(md5sum "$work/big/engine_idling/long.wav" | cut -d' ' -f1)
case "$etag" in
    *-3\"|\"$md5\") ;;
    *) fail "ETag $etag is neither a 3-part multipart ETag nor s3rver's whole MD5" ;;
esac
s3rver_aws s3 cp --only-show-errors s3://es-large/big/engine_idling/long.wav "$work/long.aws"
cmp -s "$work/long.aws" "$work/big/engine_idling/long.wav" || fail "multipart object differs"
"$ES_BIN" -q upload --json "$work/big" s3://es-large/big/ >"$work/up2.json"
jq -e '.files == 0 and .skipped == 1' "$work/up2.json" >/dev/null ||
    fail "second multipart upload: $(cat "$work/up2.json")"
# and down again, verified against x-amz-meta-sha256
"$ES_BIN" -q download --json s3://es-large/big/ "$work/big_back" >"$work/dl.json"
cmp -s "$work/big_back/engine_idling/long.wav" "$work/big/engine_idling/long.wav" ||
    fail "multipart object downloaded wrong"
# A multipart upload by aws (8 MiB parts): our skip check recomputes its ETag.
s3rver_aws s3 cp --only-show-errors "$work/big/engine_idling/long.wav" s3://es-large/aws_big/engine_idling/long.wav
"$ES_BIN" -q download --json s3://es-large/aws_big/ "$work/big" >"$work/dl2.json"
jq -e '.files == 0 and .skipped == 1' "$work/dl2.json" >/dev/null ||
    fail "identical multipart object re-downloaded: $(cat "$work/dl2.json")"
echo "ok: 20 MB multipart up and down"

# 1b. Memory per transfer is bounded: parts are streamed from the file, not held
#     in memory. A 40 MB upload (5 parts of 8 MiB, 4 in flight) must not need
#     more than 16 MiB over a tiny upload by the same binary (holding the parts
#     would cost at least 4 x 8 MiB).
[ -x /usr/bin/time ] || fail "no /usr/bin/time (scripts/install-deps.sh installs it)"
peak_kib() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
mkdir -p "$work/mem_small/clips" "$work/mem_big/clips"
head -c 1000 /dev/urandom >"$work/mem_small/clips/tiny.wav"
head -c 40000000 /dev/urandom >"$work/mem_big/clips/big.wav"
/usr/bin/time -v "$ES_BIN" -q upload --json "$work/mem_small" s3://es-large/mem_small/ \
    >"$work/mem_small.json" 2>"$work/mem_small.time" || fail "tiny upload: $(cat "$work/mem_small.time")"
/usr/bin/time -v "$ES_BIN" -q upload --json "$work/mem_big" s3://es-large/mem_big/ \
    >"$work/mem_big.json" 2>"$work/mem_big.time" || fail "40 MB upload: $(cat "$work/mem_big.time")"
jq -e '.files == 1 and .failed == 0' "$work/mem_big.json" >/dev/null || fail "40 MB upload: $(cat "$work/mem_big.json")"
small=$(peak_kib "$work/mem_small.time"); big=$(peak_kib "$work/mem_big.time")
[ -n "$small" ] && [ -n "$big" ] || fail "no peak RSS from /usr/bin/time"
echo "peak RSS: tiny upload $small KiB, 40 MB multipart upload $big KiB"
[ $((big - small)) -lt $((16 * 1024)) ] || fail "a 40 MB multipart upload took $((big - small)) KiB more than a tiny one"
s3rver_aws s3 cp --only-show-errors s3://es-large/mem_big/clips/big.wav "$work/mem_big.aws"
cmp -s "$work/mem_big.aws" "$work/mem_big/clips/big.wav" || fail "streamed multipart object differs"
echo "ok: multipart upload memory is bounded (+$(( (big - small) / 1024 )) MiB)"

# 2. More than one listing page: 1,100 objects (the check needs > 1,000 even
#    under the sanitizers, so the objects are tiny instead).
n=1100
mkdir -p "$work/many/clips"
for i in $(seq -w 1 $n); do printf 'RIFF%s' "$i" >"$work/many/clips/c$i.wav"; done
s3rver_aws s3 cp --recursive --only-show-errors "$work/many" s3://es-large/many/ || fail "aws upload of $n objects"
"$ES_BIN" -q download --json --jobs 8 s3://es-large/many/ "$work/many_back" >"$work/dlm.json" \
    2>"$work/dlm.err" || { cat "$work/dlm.err"; fail "download of $n objects failed"; }
jq -e --argjson n $n '.files == $n and .failed == 0' "$work/dlm.json" >/dev/null ||
    fail "paginated download: $(cat "$work/dlm.json")"
[ "$(find "$work/many_back" -type f | wc -l)" -eq $n ] || fail "not $n files on disk"
diff -r "$work/many" "$work/many_back" >/dev/null || fail "paginated download differs"
"$ES_BIN" -q upload --json --jobs 8 "$work/many" s3://es-large/many/ >"$work/upm.json"
jq -e --argjson n $n '.files == 0 and .skipped == $n' "$work/upm.json" >/dev/null ||
    fail "upload over $n listed objects did not skip all: $(cat "$work/upm.json")"
echo "ok: $n objects across listing pages"
echo "PASS"
