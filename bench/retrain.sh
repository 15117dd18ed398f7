#!/usr/bin/env bash
# retrain.sh: wall time per stage and peak RSS of `ecosight retrain` on
# ../shared/data: a full first retrain of 95 % of the recordings, then a
# second retrain after the other 5 % arrive (target: <= 15 % of the first,
# because only the new recordings' embeddings are computed). With --s3 the
# data goes through a local s3rver first, so the download and publish stages
# are measured too.
#
# The comparison is the same tool in the same run: the seed's
# retrain_model.py has no cache, so its second run costs what its first does;
# the "first" column is that cost.
#
#   bench/retrain.sh [--s3] [--build DIR] [--threads N] [-- extra retrain options]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
threads=0
use_s3=0
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --s3) use_s3=1 ;;
        --build) build=$2; shift ;;
        --threads) threads=$2; shift ;;
        --) shift; extra=("$@"); break ;;
        *) echo "usage: $0 [--s3] [--build DIR] [--threads N] [-- retrain options]" >&2; exit 2 ;;
    esac
    shift
done
bin=$build/ecosight
shared=${ECOSIGHT_SHARED:-$here/../shared}
pool=$shared/data/extracted_audio
[ -x "$bin" ] || { echo "no $bin: build first" >&2; exit 1; }
[ -d "$pool" ] || { echo "no $pool" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
export ECOSIGHT_SHARED=$shared

tmp=$(mktemp -d "${TMPDIR:-/tmp}/es-bench-retrain.XXXXXX")
ES_SOURCE_DIR=$here
if [ "$use_s3" = 1 ]; then
    . "$here/tests/blackbox/lib/s3rver.sh"
    s3rver_extra_cleanup() { rm -rf "$tmp"; }
    s3rver_start ecosight-bench || exit 1
    export S3_BUCKET=ecosight-bench
else
    trap 'rm -rf "$tmp"' EXIT
    unset S3_BUCKET
fi

# Hold back every 20th file of each class (5 %) for the second run.
src=$tmp/src
mkdir -p "$src" "$tmp/later"
for c in "$pool"/*/; do
    c=$(basename "$c")
    mkdir -p "$src/$c" "$tmp/later/$c"
    i=0
    for f in $(ls "$pool/$c" | sort); do
        if [ $((i % 20)) = 19 ]; then cp "$pool/$c/$f" "$tmp/later/$c/"; else cp "$pool/$c/$f" "$src/$c/"; fi
        i=$((i + 1))
    done
done
n1=$(find "$src" -type f | wc -l)
n2=$(find "$tmp/later" -type f | wc -l)
data=$tmp/data
if [ "$use_s3" = 1 ]; then
    "$bin" -q upload "$src" "s3://$S3_BUCKET/extracted_audio/" >/dev/null || exit 1
    s3opt=()
else
    cp -r "$src" "$data"
    s3opt=(--no-s3)
fi

run() { # label
    /usr/bin/time -v -o "$tmp/$1.time" nice -n 10 "$bin" retrain --data "$data" \
        --models "$tmp/models" --threads "$threads" --min-new-samples 1 \
        --group-pattern '^([0-9]+)-' --json "${s3opt[@]}" "${extra[@]}" \
        >"$tmp/$1.json" 2>"$tmp/$1.err" || { cat "$tmp/$1.err" >&2; exit 1; }
}

echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run first
if [ "$use_s3" = 1 ]; then
    "$bin" -q upload "$tmp/later" "s3://$S3_BUCKET/extracted_audio/" >/dev/null || exit 1
else
    cp -r "$tmp/later/." "$data/"
fi
run second
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

rss() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$tmp/$1.time"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/$1.time"; }
printf '\nfirst run: %d recordings; second run: +%d new (%s %%)\n' "$n1" "$n2" \
    "$(awk -v a="$n2" -v b="$n1" 'BEGIN { printf "%.1f", 100 * a / b }')"
printf '%-10s %10s %10s %8s\n' stage "first (s)" "second (s)" ratio
for s in download scan features train evaluate save publish total; do
    a=$(jq -r ".stage_seconds.$s" "$tmp/first.json")
    b=$(jq -r ".stage_seconds.$s" "$tmp/second.json")
    r=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "%.1f %%", 100 * b / a; else print "-" }')
    printf '%-10s %10.2f %10.2f %8s\n' "$s" "$a" "$b" "$r"
done
printf '%-10s %10s %10s\n' "wall" "$(wall first)" "$(wall second)"
printf '%-10s %10s %10s\n' "peak RSS" "$(rss first) MB" "$(rss second) MB"
printf 'embeddings computed: %s then %s; reused: %s then %s\n' \
    "$(jq .cache_misses "$tmp/first.json")" "$(jq .cache_misses "$tmp/second.json")" \
    "$(jq .cache_hits "$tmp/first.json")" "$(jq .cache_hits "$tmp/second.json")"
printf 'test accuracy: %s then %s\n' "$(jq .test_accuracy "$tmp/first.json")" \
    "$(jq .test_accuracy "$tmp/second.json")"
# The head's training is not cached: its cost follows the epochs early stopping ran.
printf 'epochs run: %s\n' "$(jq -r '[.retraining_history[].epochs_run | tostring] | join(" then ")' \
    "$tmp/models/retraining_log.json")"
# Why the second run computed what it did: (original, variant) pairs of the
# second version's split.json that the first did not use, split into the new
# originals' and those of earlier originals whose split (or plan) changed.
pairs() { jq -r '.files[] | .audio_sha256 as $k | (["original"] + .augmentations)[] | "\($k)|\(.)"' "$1" | sort -u; }
v1=$(jq -r .version "$tmp/first.json")
v2=$(jq -r .version "$tmp/second.json")
pairs "$tmp/models/$v1/split.json" >"$tmp/p1"
pairs "$tmp/models/$v2/split.json" | comm -13 "$tmp/p1" - >"$tmp/need"
jq -r '.files[].audio_sha256' "$tmp/models/$v1/split.json" | sort -u >"$tmp/k1"
old=$(cut -d'|' -f1 "$tmp/need" | sort | join - "$tmp/k1" | wc -l)   # pairs, duplicates kept
moved=$(jq -r '.files[] | "\(.path) \(.split)"' "$tmp/models/$v1/split.json" | sort >"$tmp/s1";
        jq -r '.files[] | "\(.path) \(.split)"' "$tmp/models/$v2/split.json" | sort |
        join "$tmp/s1" - | awk '$2 != $3' | wc -l)
printf 'second run needed %d new (original, variant) pairs: %d for the %d new originals, %d for\n' \
    "$(wc -l <"$tmp/need")" "$(($(wc -l <"$tmp/need") - old))" "$n2" "$old"
printf 'earlier originals (%d of them changed split between the two versions)\n' "$moved"
