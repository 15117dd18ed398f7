#!/usr/bin/env bash
# test_info.sh: `ecosight info` as a user runs it. Fixtures are written here
# by Python's wave module (an independent WAV writer); the real recordings
# of ../shared/data are checked against MANIFEST.tsv. Checks: the text and
# --json forms (exact keys path/format/channels/sample_rate/frames/
# duration_s), a bad file among good ones (listed with its reason, the others
# still listed, exit 1), usage errors (exit 2), a closed stdout (exit 1),
# and a valgrind run (no leaks, no invalid accesses) outside the ASan tree.
set -uo pipefail
BIN=$(realpath "${ES_BIN:?ES_BIN not set}")
T=$(mktemp -d "${ES_TEST_TMP:-/tmp}/bb_info.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
ok()   { echo "ok   - $*"; }
bad()  { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

command -v jq >/dev/null || { echo "FAIL - jq missing (scripts/install-deps.sh installs it)"; exit 1; }

# --- fixtures: stereo 16-bit 22.05 kHz, 1.5 s; mono 8 kHz 24-bit, 0.25 s
python3 - "$T" <<'PY'
import math, struct, sys, wave
d = sys.argv[1]
def write(path, ch, rate, width, frames):
    with wave.open(path, "wb") as w:
        w.setnchannels(ch); w.setsampwidth(width); w.setframerate(rate)
        data = bytearray()
        full = 2 ** (8 * width - 1) - 1
        for i in range(frames):
            v = int(full * 0.5 * math.sin(2 * math.pi * 440 * i / rate))
            for _ in range(ch):
                data += v.to_bytes(width, "little", signed=True)
        w.writeframes(bytes(data))
write(f"{d}/stereo.wav", 2, 22050, 2, 33075)
write(f"{d}/mono24.wav", 1, 8000, 3, 2000)
PY
mkdir "$T/adir"
: > "$T/empty.wav"
head -c 3000 /dev/urandom > "$T/random.mp3"
head -c 3000 /dev/urandom > "$T/random.wav"
# an Ogg Vorbis file cut inside its headers (from the fuzz seed corpus; its
# first byte is the fuzzer's name selector)
SRC=${ES_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tail -c +2 "$SRC/tests/fuzz/corpus/fuzz_decode/s_ogg" | head -c 300 > "$T/cut.ogg"

# --- text form
out=$("$BIN" info "$T/stereo.wav" "$T/mono24.wav" 2>"$T/err"); rc=$?
check "info on good files exits 0" [ "$rc" -eq 0 ]
check "text names stereo file with WAV, 2 ch, 22050 Hz, 33075 frames, 1.500 s" \
  grep -q "^$T/stereo.wav: WAV (PCM_16), 2 ch, 22050 Hz, 33075 frames, 1.500 s$" <<<"$out"
check "text names 24-bit mono file" \
  grep -q "^$T/mono24.wav: WAV (PCM_24), 1 ch, 8000 Hz, 2000 frames, 0.250 s$" <<<"$out"
check "nothing on stderr for good files" [ ! -s "$T/err" ]

# --- JSON form: one array, one object per file, exact keys
json=$("$BIN" info --json "$T/stereo.wav" "$T/mono24.wav"); rc=$?
check "info --json exits 0" [ "$rc" -eq 0 ]
check "--json is an array of 2" [ "$(jq 'length' <<<"$json")" = 2 ]
check "--json objects have exactly the keys path/format/subtype/channels/sample_rate/frames/duration_s" \
  [ "$(jq -c '[.[] | keys_unsorted | sort] | unique' <<<"$json")" = \
    '[["channels","duration_s","format","frames","path","sample_rate","subtype"]]' ]
check "--json subtype of the 24-bit file" [ "$(jq -r '.[1].subtype' <<<"$json")" = PCM_24 ]
check "--json values of the stereo file" \
  [ "$(jq -c '.[0] | [.path, .format, .channels, .sample_rate, .frames, .duration_s]' <<<"$json")" = \
    "[\"$T/stereo.wav\",\"WAV\",2,22050,33075,1.5]" ]
check "--json types (numbers are numbers)" \
  [ "$(jq -c '[.[1] | (.channels, .sample_rate, .frames, .duration_s) | type] | unique' <<<"$json")" = '["number"]' ]
check "--json after the files (options may follow arguments)" \
  [ "$("$BIN" info "$T/mono24.wav" --json | jq -r '.[0].frames')" = 2000 ]

# --- a bad file among good ones
json=$("$BIN" info --json "$T/stereo.wav" "$T/missing.wav" "$T/adir" "$T/empty.wav" \
        "$T/random.mp3" "$T/random.wav" "$T/cut.ogg" "$T/mono24.wav" 2>"$T/err"); rc=$?
check "bad files make exit 1" [ "$rc" -eq 1 ]
check "every file is listed, in order" \
  [ "$(jq -r '.[].path' <<<"$json" | tr '\n' ' ')" = \
    "$T/stereo.wav $T/missing.wav $T/adir $T/empty.wav $T/random.mp3 $T/random.wav $T/cut.ogg $T/mono24.wav " ]
check "good files still described" \
  [ "$(jq -c '[.[0].frames, .[7].frames]' <<<"$json")" = '[33075,2000]' ]
check "bad files carry only path and error" \
  [ "$(jq -c '[.[1:7][] | keys | sort] | unique' <<<"$json")" = '[["error","path"]]' ]
for pair in "missing.wav:No such file" "adir:directory" "empty.wav:empty" \
            "random.mp3:not a readable audio file" "random.wav:not a readable audio file" \
            "cut.ogg:Ogg Vorbis headers"; do
  f=${pair%%:*}; why=${pair#*:}
  check "JSON error for $f names it and says '$why'" \
    [ "$(jq -n --argjson j "$json" --arg p "$T/$f" --arg w "$why" \
      '$j[] | select(.path == $p) | .error | (contains($p) and contains($w))')" = true ]
  check "stderr line for $f names it and says '$why'" grep -q "error: $T/$f: .*$why" "$T/err"
done
out=$("$BIN" info "$T/missing.wav" "$T/stereo.wav" 2>/dev/null); rc=$?
check "text form: exit 1, good file still listed" \
  [ "$rc" -eq 1 ] && grep -q "^$T/stereo.wav: WAV" <<<"$out"

# --- things that could hang a reader: a FIFO nobody writes to, an endless device
mkfifo "$T/fifo.wav"
timeout 20 "$BIN" info "$T/fifo.wav" /dev/zero >/dev/null 2>"$T/err"; rc=$?
check "a FIFO and /dev/zero are refused at once (exit $rc, 124 = hung)" [ "$rc" -eq 1 ]
check "... each named with the reason" \
  grep -q "$T/fifo.wav: not a regular file" "$T/err" && grep -q "/dev/zero: not a regular file" "$T/err"

# --- usage errors
"$BIN" info >/dev/null 2>&1; check "info without files exits 2" [ $? -eq 2 ]
"$BIN" info --bogus "$T/stereo.wav" >/dev/null 2>&1; check "info --bogus exits 2" [ $? -eq 2 ]
"$BIN" info --help | grep -q "^usage: ecosight info"; check "info --help prints usage" [ $? -eq 0 ]

# --- a closed stdout is a failure we report, not a silent success
"$BIN" info "$T/stereo.wav" >&- 2>"$T/err"; rc=$?
check "closed stdout exits 1" [ "$rc" -eq 1 ]
check "closed stdout is reported" grep -q "cannot write to standard output" "$T/err"

# --- the shared recordings: durations as MANIFEST.tsv states (+-0.1 s)
S=${ECOSIGHT_SHARED:-}
if [ -n "$S" ] && [ -f "$S/data/MANIFEST.tsv" ]; then
  stride=1; [ "${ES_SANITIZED:-0}" = 1 ] && stride=10
  awk -F'\t' -v s="$stride" 'NR > 1 && (NR - 2) % s == 0 { print $2 "\t" $3 "\t" $4 }' \
    "$S/data/MANIFEST.tsv" > "$T/want.tsv"
  n=$(wc -l < "$T/want.tsv")
  (cd "$S/data" && cut -f1 "$T/want.tsv" | tr '\n' '\0' | xargs -0 "$BIN" info --json) > "$T/shared.json" 2>"$T/err"
  rc=$?
  check "info over $n shared recordings exits 0" [ "$rc" -eq 0 ]
  jq -r '.[] | [.path, .duration_s, .sample_rate] | @tsv' "$T/shared.json" > "$T/got.tsv"
  bads=$(paste "$T/want.tsv" "$T/got.tsv" | awk -F'\t' '
    $1 != $4 || ($2 - $5 > 0.1) || ($5 - $2 > 0.1) || $3 != $6 { print; n++ } END { print n + 0 > "/dev/stderr" }' 2>&1 >/dev/null)
  check "all $n shared recordings within 0.1 s of MANIFEST.tsv, same rate (mismatches: $bads)" [ "$bads" = 0 ]
elif [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then
  bad "ECOSIGHT_REQUIRE_SHARED=1 but ${S:-../shared}/data/MANIFEST.tsv is missing"
else
  echo; echo "*** SKIPPED: shared recordings not found (set ECOSIGHT_SHARED) ***"; echo
fi

# --- valgrind: no leaks, no invalid reads/writes (not under ASan: they clash)
if [ "${ES_SANITIZED:-0}" != 1 ] && command -v valgrind >/dev/null; then
  files=("$T/stereo.wav" "$T/mono24.wav" "$T/missing.wav" "$T/random.mp3" "$T/random.wav" "$T/cut.ogg")
  [ -n "$S" ] && [ -d "$S/data/extracted_audio/clips" ] && \
    files+=("$(find "$S/data/extracted_audio/clips" -name '*.mp3' | sort | sed -n 1p)")
  valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect -q "$BIN" info --json "${files[@]}" >/dev/null 2>"$T/vg"
  rc=$?
  check "valgrind: ecosight info is clean (exit $rc; 1 = the bad files, 99 = valgrind errors)" [ "$rc" -eq 1 ]
  [ "$rc" -eq 99 ] && grep -E "==[0-9]+==" "$T/vg" | head -30
elif [ "${ES_SANITIZED:-0}" != 1 ]; then
  bad "valgrind missing (scripts/install-deps.sh installs it)"
fi

echo "test_info: $fails failed"
[ "$fails" -eq 0 ]
