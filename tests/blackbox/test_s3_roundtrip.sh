#!/usr/bin/env bash
# test_s3_roundtrip.sh: `ecosight upload` and `ecosight download` against a
# real S3 server (s3rver, SigV4-verifying), with Debian's aws CLI as the
# independent client: our upload read back by aws byte for byte, aws's upload
# downloaded by us byte for byte, a second upload/download transfers nothing,
# the recorded x-amz-meta-sha256 is right, --dry-run changes nothing and
# --delete removes local files gone from S3. Under the sanitizers a subset of
# the recordings is used (same checks).
set -euo pipefail
: "${ES_BIN:?}" "${ES_SOURCE_DIR:?}"
. "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
shared=${ECOSIGHT_SHARED:-$ES_SOURCE_DIR/../shared}
if [ ! -d "$shared/data/extracted_audio" ]; then
    if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then echo "FAIL: no $shared/data/extracted_audio"; exit 1; fi
    echo "*** SKIPPED *** no $shared/data/extracted_audio"; exit 0
fi
s3rver_need_aws
s3rver_start
fail() { echo "FAIL: $*" >&2; exit 1; }
trap '[[ $- != *e* ]] || echo "FAIL: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
work=$(mktemp -d "$S3RVER_BASE/work.XXXXXX")   # removed with the server's directory

# The data set: all of it, or a few files per class under the sanitizers.
src=$work/src
if [ "${ES_SANITIZED:-0}" = 1 ]; then
    for d in "$shared"/data/extracted_audio/*/; do
        c=$(basename "$d"); mkdir -p "$src/$c"
        find "$d" -maxdepth 1 -type f | sort | awk 'NR <= 8' | while read -r f; do cp "$f" "$src/$c/"; done
    done
else
    cp -r "$shared/data/extracted_audio" "$src"
fi
echo "notes" >"$src/README.txt"   # not audio: not uploaded
# keys that need encoding (space, '+', '%', UTF-8) must sign and round-trip too
odd=$(find "$src" -type f -name '*.wav' | sort | awk 'NR == 1')
mkdir -p "$src/clips"
cp "$odd" "$src/clips/odd name+1%20 é.wav"
n=$(find "$src" -type f -name '*.wav' -o -type f -name '*.mp3' -o -type f -name '*.flac' -o -type f -name '*.ogg' | wc -l)
bytes=$(find "$src" -type f ! -name README.txt -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "data: $n audio files, $bytes bytes"

# 1. ecosight uploads into a bucket that does not exist yet.
"$ES_BIN" -q upload --json --jobs 4 "$src" s3://es-roundtrip/extracted_audio/ >"$work/up1.json" \
    2>"$work/up1.err" || { cat "$work/up1.err"; fail "first upload failed"; }
jq -e --argjson n "$n" --argjson b "$bytes" \
    '.files == $n and .bytes == $b and .skipped == 0 and .failed == 0' "$work/up1.json" >/dev/null ||
    fail "first upload summary: $(cat "$work/up1.json")"

# aws sees every object under the same names and gets the same bytes back.
s3rver_aws s3 ls --recursive s3://es-roundtrip/extracted_audio/ >"$work/ls.txt"
[ "$(wc -l <"$work/ls.txt")" -eq "$n" ] || fail "aws lists $(wc -l <"$work/ls.txt") objects, want $n"
grep -q 'README.txt' "$work/ls.txt" && fail "a non-audio file was uploaded"
s3rver_aws s3 cp --recursive --only-show-errors s3://es-roundtrip/extracted_audio/ "$work/by_aws" ||
    fail "aws download failed"
rm "$src/README.txt"
diff -r "$src" "$work/by_aws" >/dev/null || fail "aws read back different bytes than we uploaded"
echo "ok: our upload read back by aws ($n files)"

# The SHA-256 we record matches the file.
f=$(cd "$src" && find . -type f | sort | awk 'NR == 1' | sed 's|^\./||')
meta=$(s3rver_aws s3api head-object --bucket es-roundtrip --key "extracted_audio/$f" |
       jq -r '.Metadata.sha256')
[ "$meta" = "$(sha256sum "$src/$f" | cut -d' ' -f1)" ] || fail "x-amz-meta-sha256 of $f is '$meta'"

# 2. A second upload transfers nothing.
"$ES_BIN" -q upload --json "$src" s3://es-roundtrip/extracted_audio/ >"$work/up2.json" 2>/dev/null ||
    fail "second upload failed"
jq -e --argjson n "$n" '.files == 0 and .bytes == 0 and .skipped == $n and .failed == 0' \
    "$work/up2.json" >/dev/null || fail "second upload transferred: $(cat "$work/up2.json")"
echo "ok: second upload transferred nothing"

# One changed file and one new file: exactly those go (dry run first: nothing moves).
first=$(cd "$src" && find . -type f | sort | awk 'NR == 1' | sed 's|^\./||')
printf 'changed' >>"$src/$first"
cp "$src/$first" "$src/$(dirname "$first")/zz_new.wav"
"$ES_BIN" -q upload --json --dry-run "$src" s3://es-roundtrip/extracted_audio/ >"$work/dry.json"
jq -e '.files == 2 and .dry_run == true' "$work/dry.json" >/dev/null || fail "dry run: $(cat "$work/dry.json")"
s3rver_aws s3api head-object --bucket es-roundtrip --key "extracted_audio/$(dirname "$first")/zz_new.wav" \
    >/dev/null 2>&1 && fail "--dry-run uploaded a file"
"$ES_BIN" -q upload --json "$src" s3://es-roundtrip/extracted_audio/ >"$work/up3.json"
jq -e '.files == 2 and .failed == 0' "$work/up3.json" >/dev/null || fail "changed upload: $(cat "$work/up3.json")"
s3rver_aws s3 cp --only-show-errors "s3://es-roundtrip/extracted_audio/$first" "$work/one"
cmp -s "$work/one" "$src/$first" || fail "the changed file did not replace the object"
echo "ok: only changed and new files uploaded; dry run changed nothing"

# 3. The reverse: aws uploads, ecosight downloads.
s3rver_aws s3 cp --recursive --only-show-errors "$work/by_aws" s3://es-roundtrip/from_aws/ ||
    fail "aws upload failed"
"$ES_BIN" -q download --json --jobs 4 s3://es-roundtrip/from_aws/ "$work/by_us" >"$work/dl1.json" \
    2>"$work/dl1.err" || { cat "$work/dl1.err"; fail "download failed"; }
jq -e --argjson n "$n" '.files == $n and .failed == 0' "$work/dl1.json" >/dev/null ||
    fail "download summary: $(cat "$work/dl1.json")"
diff -r "$work/by_aws" "$work/by_us" >/dev/null || fail "downloaded bytes differ from aws's upload"
[ -z "$(find "$work/by_us" -name '*.part')" ] || fail "partial files left behind"
echo "ok: aws's upload downloaded by us ($n files)"

# A second download transfers nothing; a damaged local file is fetched again.
victim=$(cd "$work/by_us" && find . -type f | sort | awk 'END {print}' | sed 's|^\./||')
printf 'X' | dd of="$work/by_us/$victim" bs=1 seek=100 conv=notrunc status=none
"$ES_BIN" -q download --json s3://es-roundtrip/from_aws/ "$work/by_us" >"$work/dl2.json"
jq -e --argjson n "$n" '.files == 1 and .skipped == ($n - 1) and .failed == 0' "$work/dl2.json" \
    >/dev/null || fail "second download: $(cat "$work/dl2.json")"
cmp -s "$work/by_aws/$victim" "$work/by_us/$victim" || fail "damaged file not repaired"
echo "ok: second download fetched only the damaged file"

# --delete removes local files gone from S3 (a dry run only says so).
mkdir -p "$work/by_us/gun_shot"
echo stale >"$work/by_us/gun_shot/stale.wav"
"$ES_BIN" -q download --json --delete --dry-run s3://es-roundtrip/from_aws/ "$work/by_us" >"$work/dl3.json"
[ -f "$work/by_us/gun_shot/stale.wav" ] || fail "--dry-run deleted a file"
jq -e '.deleted == 1 and .files == 0' "$work/dl3.json" >/dev/null || fail "dry delete: $(cat "$work/dl3.json")"
"$ES_BIN" -q download --json --delete s3://es-roundtrip/from_aws/ "$work/by_us" >"$work/dl4.json"
[ ! -e "$work/by_us/gun_shot/stale.wav" ] || fail "--delete kept a file gone from S3"
jq -e '.deleted == 1 and .files == 0 and .failed == 0' "$work/dl4.json" >/dev/null ||
    fail "delete: $(cat "$work/dl4.json")"
diff -r "$work/by_aws" "$work/by_us" >/dev/null || fail "--delete removed too much"
echo "ok: --delete"

# Default target: s3://$S3_BUCKET/extracted_audio/ with S3_BUCKET from the environment.
S3_BUCKET=es-default "$ES_BIN" -q upload --json "$work/by_aws" >"$work/def.json"
s3rver_aws s3api head-object --bucket es-default --key "extracted_audio/$victim" >/dev/null ||
    fail "default upload target is not s3://\$S3_BUCKET/extracted_audio/"
echo "ok: default bucket and prefix"
echo "PASS"
