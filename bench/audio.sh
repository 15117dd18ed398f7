#!/usr/bin/env bash
# bench/audio.sh: decode + resample to 16 kHz mono float32, the front half
# of every prediction, in audio-seconds per wall-second on ONE core
# (taskset), for WAV and MP3, side by side in one run:
#   ecosight  (bench_audio: libsndfile/mpg123 + libsoxr HQ, in-process)
#   ffmpeg -i F -ac 1 -ar 16000 -f f32le -      (one process per file)
#   sox F -c 1 -r 16000 -t f32 -                 (one process per file)
# Two shapes: the shared 4 s clips (our real workload: many short files,
# where a per-file process start counts) and one long file made by
# concatenating them (pure decode + resample throughput).
#
#   bench/audio.sh [BUILD_DIR]     (default build/; needs ffmpeg, sox, libsox-fmt-mp3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
bench=$build/bench/bench_audio
S=${ECOSIGHT_SHARED:-$here/../shared}
N=${ES_BENCH_FILES:-40}
CPU=${ES_BENCH_CPU:-1}
[ -x "$bench" ] || { echo "build first: cmake --build $build --target bench_audio" >&2; exit 1; }
for t in ffmpeg sox taskset; do command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }; done
[ -d "$S/data/extracted_audio" ] || { echo "shared recordings not found at $S (set ECOSIGHT_SHARED)" >&2; exit 1; }

T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
find "$S/data/extracted_audio/dog_bark" -name '*.wav' | sort | head -n "$N" > "$T/wav.list"
find "$S/data/extracted_audio/clips" -name '*.mp3' | sort | head -n "$N" > "$T/mp3.list"
# the long files: the same clips end to end (ffmpeg concat, re-encoded MP3 at 128 kbit/s)
for k in wav mp3; do sed "s/'/'\\\\''/g; s/^/file '/; s/$/'/" "$T/$k.list" > "$T/$k.concat"; done
ffmpeg -loglevel error -f concat -safe 0 -i "$T/wav.concat" -c:a pcm_s16le "$T/long.wav"
ffmpeg -loglevel error -f concat -safe 0 -i "$T/mp3.concat" -c:a libmp3lame -b:a 128k "$T/long.mp3"
echo "long.wav" > "$T/longwav.list"; echo "long.mp3" > "$T/longmp3.list"

pin() { taskset -c "$CPU" "$@"; }
# seconds of wall time for a shell loop over the files, best of 3
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
best_of() { local best=999999 t0 t1 el; for _ in 1 2 3; do
    t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N)
    el=$(calc "$t1 - $t0"); best=$(calc "($el < $best) ? $el : $best")
  done; echo "$best"; }
run_ffmpeg() { while IFS= read -r f; do pin ffmpeg -nostdin -loglevel error -i "$f" -ac 1 -ar 16000 -f f32le - ; done < "$1" > /dev/null; }
# sox warns about clipping on loud clips (stderr); the work is the same
run_sox()    { while IFS= read -r f; do pin sox "$f" -c 1 -r 16000 -t f32 - 2>/dev/null; done < "$1" > /dev/null; }

echo "== bench/audio.sh: decode + resample to 16 kHz mono float, one core (cpu $CPU)"
echo "== $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== load before: $(uptime)"
printf "%-10s %-9s %6s %9s %9s %12s\n" shape tool files audio_s wall_s "audio-s/s"
for shape in wav mp3 longwav longmp3; do
  list=$T/$shape.list
  [ "${shape#long}" != "$shape" ] && sed -i "s#^#$T/#" "$list"
  # audio seconds as we decode them (the peers' output is counted below)
  line=$(pin "$bench" -r 3 -l ecosight $(cat "$list"))
  IFS=$'\t' read -r _ files audio wall rate _ <<<"$line"
  printf "%-10s %-9s %6s %9.1f %9.3f %12.1f\n" "$shape" ecosight "$files" "$audio" "$wall" "$rate"
  for tool in ffmpeg sox; do
    w=$(best_of run_$tool "$list")
    # audio the peer produced: bytes of float32 at 16 kHz
    bytes=$(while IFS= read -r f; do
        if [ $tool = ffmpeg ]; then ffmpeg -nostdin -loglevel error -i "$f" -ac 1 -ar 16000 -f f32le -;
        else sox "$f" -c 1 -r 16000 -t f32 - 2>/dev/null; fi; done < "$list" | wc -c)
    a=$(calc "$bytes / 4 / 16000")
    printf "%-10s %-9s %6s %9.1f %9.3f %12.1f\n" "$shape" "$tool" "$files" "$a" "$w" "$(calc "$a / $w")"
  done
done
echo "== load after: $(uptime)"
