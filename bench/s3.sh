#!/usr/bin/env bash
# s3.sh: `ecosight upload` / `ecosight download` next to the peer the seed
# used (boto3, here through Debian's aws CLI v2, which is botocore: the same
# transfer manager as boto3's upload_file/download_file), measured in the same
# run against the same local S3 server (s3rver on 127.0.0.1), on the same data.
#
#   bench/s3.sh [DIR]      (default: $ECOSIGHT_SHARED/data/extracted_audio)
#   ES_BENCH_REPEAT=3      runs of each (the best is reported)
#
# Prints the machine load, then per tool: upload, download, and a second
# (no-op) upload, in seconds and MB/s, plus each tool's peak RSS.
# Both tools use 10 parallel transfers (aws's default max_concurrent_requests).
# The server is the bottleneck on a loaded 2-core box: compare side by side only.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ES_BIN:-$here/build/ecosight}
shared=${ECOSIGHT_SHARED:-$here/../shared}
data=${1:-$shared/data/extracted_audio}
REPEAT=${ES_BENCH_REPEAT:-3}
export ES_SOURCE_DIR=$here
. "$here/tests/blackbox/lib/s3rver.sh"
s3rver_need_aws
s3rver_start
work=$(mktemp -d "$S3RVER_BASE/bench.XXXXXX")
aws=("$S3RVER_AWS_BIN" --endpoint-url "$S3RVER_ENDPOINT" --no-cli-pager)
printf '[default]\ns3 =\n    addressing_style = path\n    max_concurrent_requests = 10\n' >"$AWS_CONFIG_FILE"
files=$(find "$data" -type f | wc -l)
bytes=$(find "$data" -type f -printf "%s\n" | awk "{s += \$1} END {print s}")
echo "data: $data ($files files, $bytes bytes)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

# t CMD...: wall seconds and peak RSS (KiB) of one run
t() {
    local s e
    s=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; return 1; }
    e=$(date +%s.%N)
    echo "$(echo "$e - $s" | bc) $(cat "$work/rss")"
}
best() { sort -n | awk 'NR == 1'; }
mbps() { echo "scale=1; $bytes / 1048576 / $1" | bc; }

declare -A res
for i in $(seq 1 "$REPEAT"); do
    b="bench-$i"
    res[eco_up]+="$(t "$BIN" -q upload --jobs 10 "$data" "s3://$b/eco/")"$'\n'
    res[eco_noop]+="$(t "$BIN" -q upload --jobs 10 "$data" "s3://$b/eco/")"$'\n'
    res[eco_down]+="$(t "$BIN" -q download --jobs 10 "s3://$b/eco/" "$work/eco-$i")"$'\n'
    res[aws_up]+="$(t "${aws[@]}" s3 cp --recursive --only-show-errors "$data" "s3://$b/aws/")"$'\n'
    res[aws_noop]+="$(t "${aws[@]}" s3 sync --only-show-errors "$data" "s3://$b/aws/")"$'\n'
    res[aws_down]+="$(t "${aws[@]}" s3 cp --recursive --only-show-errors "s3://$b/aws/" "$work/aws-$i")"$'\n'
    diff -r "$data" "$work/eco-$i" >/dev/null || { echo "ecosight download differs"; exit 1; }
    diff -r "$data" "$work/aws-$i" >/dev/null || { echo "aws download differs"; exit 1; }
    rm -rf "$work/eco-$i" "$work/aws-$i"
done
printf '\n%-28s %10s %10s %12s\n' "best of $REPEAT" seconds MB/s "peak RSS"
for k in eco_up aws_up eco_down aws_down eco_noop aws_noop; do
    line=$(printf '%s' "${res[$k]}" | grep . | best)
    s=${line% *}; rss=${line#* }
    case $k in
        eco_up) name="ecosight upload" ;; aws_up) name="aws s3 cp (upload)" ;;
        eco_down) name="ecosight download" ;; aws_down) name="aws s3 cp (download)" ;;
        eco_noop) name="ecosight upload (unchanged)" ;; aws_noop) name="aws s3 sync (unchanged)" ;;
    esac
    printf '%-28s %10.2f %10s %9d KiB\n' "$name" "$s" "$(mbps "$s")" "$rss"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
