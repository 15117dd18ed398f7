#!/usr/bin/env bash
# augment.sh: augmentation throughput in audio-seconds per second per core,
# ours next to rubberband (rubberband-cli) and sox doing the same time stretch
# (tempo x1.1) and pitch shift (+2 semitones) on the same WAV files, in the
# same run, each pinned to one core; then the whole `ecosight augment` of the
# shared recordings on one core. CPU seconds (user+sys) are the figure that
# survives a shared machine; wall seconds are shown too, with the load.
#
#   bench/augment.sh [BUILD_DIR] [FILES_PER_CLASS]    (defaults: build, 20)
#
# AUG_BASELINE_BUILD=DIR (a build of an earlier commit, e.g. before the
# augmentations took the CPU-independent FFT and noise path) adds the cost of
# that path: the operation alone, ours vs the baseline's, alternated 3 times.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
per=${2:-20}
shared=${ECOSIGHT_SHARED:-$here/../shared}
src=$shared/data/extracted_audio
bin=$build/ecosight
bench=$build/bench/bench_augment
for t in "$bin" "$bench"; do [ -x "$t" ] || { echo "build first: $t missing"; exit 1; }; done
[ -d "$src" ] || { echo "no $src"; exit 1; }
have_rb=1; command -v rubberband >/dev/null || have_rb=0
have_sox=1; command -v sox >/dev/null || have_sox=0
pin=""; command -v taskset >/dev/null && pin="taskset -c 0"
T=$(mktemp -d) && [ -d "$T" ] || exit 1
trap 'rm -rf "$T"' EXIT

# the WAV classes (sox and rubberband read WAV everywhere; clips/ is MP3)
files=()
for c in gun_shot dog_bark engine_idling; do
  while read -r f; do files+=("$src/$c/$f"); done < <(ls "$src/$c" | head -n "$per")
done
audio=$("$bench" volume_up "${files[@]}" | sed 's/.*audio_s=\([0-9.]*\).*/\1/')
echo "load before: $(uptime | sed 's/.*load average: //')   cores: $(nproc)   pinned: ${pin:-no}"
echo "${#files[@]} WAV files, ${audio} s of audio (22.05 kHz mono)"
echo

TIMEFORMAT="%R %U %S"
declare -A cpu
# measure NAME CMD...: one timed run; prints a row and stores CPU seconds
measure() {
  local name=$1; shift
  local t
  t=$( { time "$@" >/dev/null 2>"$T/err"; } 2>&1 ) || { echo "$name failed: $(head -c 300 "$T/err")"; return; }
  local r u s
  read -r r u s <<<"$t"
  local c; c=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
  cpu[$name]=$c
  if [ "${no_rate:-0}" = 1 ]; then
    printf "%-34s %8.2f wall s %8.2f cpu s  (fixed cost only)\n" "$name" "$r" "$c"
  else
    printf "%-34s %8.2f wall s %8.2f cpu s %9.0f audio-s/s/core\n" "$name" "$r" "$c" \
      "$(awk -v a="$audio" -v c="$c" 'BEGIN { print a / c }')"
  fi
}
each() { # tool args for every file
  local f
  for f in "${files[@]}"; do "$@" "$f" || return 1; done
}
rb_stretch() { rubberband -q -T 1.1 "$1" "$T/rb.wav"; }
rb_pitch() { rubberband -q -p 2 "$1" "$T/rb.wav"; }
rb3_stretch() { rubberband -q -3 -T 1.1 "$1" "$T/rb.wav"; }
sox_stretch() { sox "$1" "$T/sox.wav" tempo 1.1; }
sox_pitch() { sox "$1" "$T/sox.wav" pitch 200; }

echo "== time stretch x1.1 (time_stretch_fast), decode + stretch + 16-bit WAV =="
measure "ecosight (librosa phase vocoder)" $pin "$bench" time_stretch_fast "${files[@]}"
[ $have_rb = 1 ] && measure "rubberband -T 1.1 (R2, default)" $pin bash -c "$(declare -f each rb_stretch); files=(\"\$@\"); T=$T; each rb_stretch" _ "${files[@]}"
[ $have_rb = 1 ] && measure "rubberband -3 -T 1.1 (R3, finer)" $pin bash -c "$(declare -f each rb3_stretch); files=(\"\$@\"); T=$T; each rb3_stretch" _ "${files[@]}"
[ $have_sox = 1 ] && measure "sox tempo 1.1" $pin bash -c "$(declare -f each sox_stretch); files=(\"\$@\"); T=$T; each sox_stretch" _ "${files[@]}"
echo
echo "== pitch shift +2 semitones (pitch_up) =="
measure "ecosight (stretch + soxr HQ)" $pin "$bench" pitch_up "${files[@]}"
[ $have_rb = 1 ] && measure "rubberband -p 2 (R2, default)" $pin bash -c "$(declare -f each rb_pitch); files=(\"\$@\"); T=$T; each rb_pitch" _ "${files[@]}"
[ $have_sox = 1 ] && measure "sox pitch 200" $pin bash -c "$(declare -f each sox_pitch); files=(\"\$@\"); T=$T; each sox_pitch" _ "${files[@]}"
echo
ratio() { awk -v a="${cpu[$1]:-0}" -v b="${cpu[$2]:-0}" 'BEGIN { if (b > 0 && a > 0) printf "%.1fx", a / b; else print "n/a" }'; }
echo "ratios (CPU time, higher = ours faster):" \
     "stretch vs rubberband $(ratio "rubberband -T 1.1 (R2, default)" "ecosight (librosa phase vocoder)")," \
     "pitch vs rubberband $(ratio "rubberband -p 2 (R2, default)" "ecosight (stretch + soxr HQ)")," \
     "stretch vs sox $(ratio "sox tempo 1.1" "ecosight (librosa phase vocoder)")," \
     "pitch vs sox $(ratio "sox pitch 200" "ecosight (stretch + soxr HQ)")"
echo "(rubberband and sox run once per file, as a user would: process start and WAV"
echo " file I/O are in their figures; ours decodes each file and encodes the WAV in memory.)"
if [ $have_rb = 1 ] && [ $have_sox = 1 ]; then
  # the same number of runs on a 50 ms file: rubberband's fixed cost per file
  sox -n -r 22050 -c 1 -b 16 "$T/short.wav" synth 0.05 sine 440 2>/dev/null
  short=(); for f in "${files[@]}"; do short+=("$T/short.wav"); done
  no_rate=1 measure "rubberband -T 1.1 on 50 ms files" $pin bash -c "$(declare -f each rb_stretch); files=(\"\$@\"); T=$T; each rb_stretch" _ "${short[@]}"
  no_rate=1 measure "rubberband -p 2 on 50 ms files" $pin bash -c "$(declare -f each rb_pitch); files=(\"\$@\"); T=$T; each rb_pitch" _ "${short[@]}"
  net() { awk -v a="${cpu[$1]:-0}" -v s="${cpu[$2]:-0}" -v b="${cpu[$3]:-0}" 'BEGIN { if (b > 0 && a - s > 0) printf "%.1fx", (a - s) / b; else print "n/a" }'; }
  echo "without rubberband's per-file fixed cost: stretch $(net "rubberband -T 1.1 (R2, default)" "rubberband -T 1.1 on 50 ms files" "ecosight (librosa phase vocoder)")," \
       "pitch $(net "rubberband -p 2 (R2, default)" "rubberband -p 2 on 50 ms files" "ecosight (stretch + soxr HQ)")"
fi
if [ -n "${AUG_BASELINE_BUILD:-}" ] && [ -x "$AUG_BASELINE_BUILD/bench/bench_augment" ]; then
  echo
  echo "== cost of the CPU-independent path: the operation alone, CPU s (best of 3, alternated) =="
  opcpu() { "$@" | sed 's/.*op_cpu_s=\([0-9.]*\).*/\1/'; }
  for op in time_stretch_fast pitch_up noise_medium; do
    ours=9e9; base=9e9
    for _ in 1 2 3; do
      o=$(opcpu $pin "$bench" $op "${files[@]}"); b=$(opcpu $pin "$AUG_BASELINE_BUILD/bench/bench_augment" $op "${files[@]}")
      ours=$(awk -v a="$ours" -v b="$o" 'BEGIN { print (b < a) ? b : a }')
      base=$(awk -v a="$base" -v b="$b" 'BEGIN { print (b < a) ? b : a }')
    done
    printf "%-18s ours %6.3f s (%6.0f audio-s/s)   baseline %6.3f s (%6.0f audio-s/s)   cost %s\n" "$op" \
      "$ours" "$(awk -v a="$audio" -v c="$ours" 'BEGIN { print a / c }')" \
      "$base" "$(awk -v a="$audio" -v c="$base" 'BEGIN { print a / c }')" \
      "$(awk -v a="$ours" -v b="$base" 'BEGIN { printf "%+.0f%%", (a / b - 1) * 100 }')"
  done
fi
echo
echo "== whole 'ecosight augment' of $src (6 outputs per recording, one thread, one core) =="
all_audio=$("$bench" volume_up $(find "$src" -name '*.wav' | sort) | sed 's/.*audio_s=\([0-9.]*\).*/\1/')
mp3_s=$(( $(find "$src" -name '*.mp3' | wc -l) * 4 ))
audio=$(awk -v a="$all_audio" -v b="$mp3_s" 'BEGIN { print a + b }')   # the MP3s are 4 s clips too
measure "ecosight augment --threads 1" $pin "$bin" -q augment "$src" "$T/out" --threads 1
echo "($(find "$T/out" -name '*.wav' | wc -l) WAVs written; the audio-s figure counts input seconds)"
echo
echo "load after: $(uptime | sed 's/.*load average: //')"
