#!/usr/bin/env bash
# test_augment_cli.sh: `ecosight augment` as a user runs it, on a few real
# recordings plus made-up edge cases: output names and formats, per-class
# counts, byte-identical results across thread counts, file sets and orders,
# re-runs that leave correct files alone and repair damaged ones, a bad file
# reported and skipped with exit 1, the pool and --per-file auto, the JSON
# summary, and no partial WAV after a killed run.
set -u
: "${ES_BIN:?}" "${ES_TEST_TMP:=/tmp}"
shared=${ECOSIGHT_SHARED:-../shared}
src=$shared/data/extracted_audio
if [ ! -d "$src/dog_bark" ]; then
  if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then echo "FAIL: $src missing"; exit 1; fi
  echo "*** SKIPPED: $src not found (set ECOSIGHT_SHARED) ***"; exit 0
fi
mkdir -p "$ES_TEST_TMP" || exit 1
T=$(mktemp -d "$ES_TEST_TMP/augment_cli.XXXXXX") && [ -d "$T" ] || { echo "FAIL: no scratch dir"; exit 1; }
trap 'rm -rf "$T"' EXIT
fail=0
check() { # description, command...
  local d=$1; shift
  if "$@"; then echo "ok   $d"; else echo "FAIL $d"; fail=1; fi
}
# per class: 2 files (1 under the sanitizers), WAV and MP3 classes
per=2; [ "${ES_SANITIZED:-0}" = 1 ] && per=1
mkdir -p "$T/in/dog_bark" "$T/in/clips" "$T/in/tiny"
for f in $(ls "$src/dog_bark" | head -n $per); do cp "$src/dog_bark/$f" "$T/in/dog_bark/"; done
for f in $(ls "$src/clips" | head -n $per); do cp "$src/clips/$f" "$T/in/clips/"; done
cp "$(ls -d "$src"/gun_shot/* | head -n 1)" "$T/in/tiny/shot.wav"
ndog=$per; nclips=$per

run() { "$ES_BIN" -q augment "$@"; }

# --- 1. basic run, two threads
run "$T/in" "$T/o2" --threads 2 >"$T/sum2.txt" 2>"$T/err2.txt"; rc=$?
check "exit 0 on good input" [ $rc -eq 0 ]
check "summary line per class like the seed's" \
  grep -qx "dog_bark: $ndog → $((ndog * 6)) files (6.0x).*" "$T/sum2.txt"
for c in dog_bark clips tiny; do
  n=$(ls "$T/o2/$c" | wc -l); want=$(( $(ls "$T/in/$c" | wc -l) * 6 ))
  check "$c: $want outputs (original + 5 each)" [ "$n" -eq "$want" ]
done
check "each original has <stem>_original.wav" [ -f "$T/o2/tiny/shot_original.wav" ]
names=$(ls "$T/o2/tiny" | sed 's/^shot_//; s/\.wav$//' | sort | tr '\n' ' ')
bad=0
for n in $names; do
  case $n in original|time_stretch_fast|time_stretch_slow|pitch_up|pitch_down|noise_light|noise_medium|time_shift|volume_up|volume_down|combined_1|combined_2) ;; *) bad=1 ;; esac
done
check "output names are the seed's augmentation names ($names)" [ $bad -eq 0 ]
check "all outputs are 16-bit PCM 16 kHz mono WAV" python3 -c '
import sys,wave
ok=True
for p in sys.argv[1:]:
    with wave.open(p) as w:
        ok &= w.getsampwidth()==2 and w.getframerate()==16000 and w.getnchannels()==1 and w.getcomptype()=="NONE"
sys.exit(0 if ok and len(sys.argv)>1 else 1)' "$T"/o2/*/*.wav
check "no temporary files left" [ -z "$(find "$T/o2" -type f ! -name '*.wav')" ]

# --- 2. determinism: one thread, and a different file set and order
run "$T/in" "$T/o1" --threads 1 >/dev/null 2>&1
check "--threads 1 and --threads 2 are byte-identical" diff -r "$T/o1" "$T/o2"
mkdir -p "$T/in2/dog_bark" "$T/in2/aaa_first"
cp "$T/in/dog_bark/"* "$T/in2/dog_bark/"
# extra recordings that sort first and change which thread gets what
for f in $(ls "$src/engine_idling" | head -n 3); do cp "$src/engine_idling/$f" "$T/in2/aaa_first/"; done
cp "$(ls -d "$src"/gun_shot/* | sed -n 2p)" "$T/in2/dog_bark/0000_extra.wav"
run "$T/in2" "$T/o3" --threads 2 >/dev/null 2>&1
same=1
for f in "$T/o2/dog_bark/"*; do cmp -s "$f" "$T/o3/dog_bark/$(basename "$f")" || same=0; done
check "outputs do not depend on the other files or their order" [ $same -eq 1 ]
run "$T/in" "$T/o4" --threads 2 --seed 7 >/dev/null 2>&1
check "a different seed changes the outputs" bash -c "! diff -rq '$T/o2' '$T/o4' >/dev/null"
# outputs of another seed's plan left in OUT_DIR are counted as stale and kept
cp -r "$T/o4" "$T/o4b"
run "$T/in" "$T/o4b" --threads 2 --json >"$T/stale.json" 2>/dev/null
check "outputs from another seed's plan are reported stale, not deleted" python3 -c '
import json, os, sys
j = json.load(open(sys.argv[1])); d7, d42 = sys.argv[2], sys.argv[3]
ok = True
for c, v in j.items():
    old = set(os.listdir(os.path.join(d7, c))); new = set(os.listdir(os.path.join(d42, c)))
    ok &= v["stale_files"] == len(old - new)
    ok &= set(os.listdir(os.path.join(sys.argv[4], c))) == old | new
sys.exit(0 if ok and sum(v["stale_files"] for v in j.values()) > 0 else 1)' "$T/stale.json" "$T/o4" "$T/o2" "$T/o4b"

# --- 3. re-run leaves correct files alone, repairs a damaged one
touch -d '2001-01-01' "$T/o2/tiny/"*.wav
victim=$(ls "$T/o2/tiny/" | grep -v original | head -n 1)
cp "$T/o2/tiny/$victim" "$T/good.wav"
head -c 1000 "$T/good.wav" >"$T/o2/tiny/$victim"
run "$T/in" "$T/o2" --threads 2 >"$T/sum_re.txt" 2>&1; rc=$?
check "re-run exits 0" [ $rc -eq 0 ]
check "re-run rewrites exactly the damaged file" grep -q " 1 written, $(( (ndog + nclips + 1) * 6 - 1 )) already up to date" "$T/sum_re.txt"
check "the damaged file is restored byte for byte" cmp -s "$T/good.wav" "$T/o2/tiny/$victim"
old=$(find "$T/o2/tiny" -name '*.wav' ! -name "$victim" ! -newermt '2002-01-01' | wc -l)
check "untouched files kept their mtime" [ "$old" -eq 5 ]

# --- 4. a bad file is reported and skipped, exit 1
cp -r "$T/in" "$T/inbad"
printf 'RIFF\x10\x00\x00\x00WAVEjunkjunk' >"$T/inbad/tiny/broken.wav"
run "$T/inbad" "$T/o5" --threads 2 >"$T/sum5.txt" 2>"$T/err5.txt"; rc=$?
check "bad file gives exit 1" [ $rc -eq 1 ]
check "bad file is named on stderr" grep -q "broken.wav" "$T/err5.txt"
check "the good files are still written" [ "$(ls "$T/o5/tiny" | wc -l)" -eq 6 ]
check "summary counts the failure" grep -q "tiny: 1 → 6 files (6.0x), 1 failed" "$T/sum5.txt"

# --- 5. pool restriction, --per-file N and auto, JSON
run "$T/in" "$T/o6" --augmentations pitch_up,volume_down --per-file 5 >/dev/null 2>&1
check "--augmentations restricts the pool" \
  [ "$(ls "$T/o6/tiny" | sort | tr '\n' ' ')" = "shot_original.wav shot_pitch_up.wav shot_volume_down.wav " ]
run "$T/in" "$T/o7" --per-file auto --json >"$T/auto.json" 2>/dev/null
check "--per-file auto: small classes get 10 (11 files each)" python3 -c '
import json,sys
j=json.load(open(sys.argv[1]))
ok = set(j)=={"dog_bark","clips","tiny"} and all(v["augmented_files"]==11*v["original_files"] and v["increase_factor"]==11 and v["failed_files"]==0 for v in j.values())
sys.exit(0 if ok else 1)' "$T/auto.json"
run "$T/in" "$T/o8" --per-file 2 --json >"$T/two.json" 2>/dev/null
check "--per-file 2 --json: 3 files per original" python3 -c '
import json,sys
j=json.load(open(sys.argv[1]))
sys.exit(0 if all(v["augmented_files"]==3*v["original_files"] for v in j.values()) else 1)' "$T/two.json"
check "--per-file 2 picks a prefix of the 5-plan" bash -c "for f in '$T'/o8/*/*.wav; do c=\$(basename \$(dirname \$f)); [ -f '$T'/o2/\$c/\$(basename \$f) ] || exit 1; done"

# --- 5b. clipping: a loud 16 kHz tone, volume_up only; the summary counts
# exactly the samples whose float32 product exceeds +-1
mkdir -p "$T/loud/c"
python3 - "$T/loud/c/tone.wav" >"$T/want_clip.txt" <<'PY'
import math, struct, sys, wave
f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]
s = [int(round(0.95 * 32767 * math.sin(2 * math.pi * 440 * i / 16000))) for i in range(16000)]
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(struct.pack("<%dh" % len(s), *s))
print(sum(1 for v in s if abs(f32(f32(v / 32768.0) * f32(1.2))) > 1.0))
PY
run "$T/loud" "$T/o10" --augmentations volume_up --per-file 1 --json >"$T/clip.json" 2>/dev/null
check "clipped samples counted exactly ($(cat "$T/want_clip.txt") expected)" python3 -c '
import json,sys
j=json.load(open(sys.argv[1])); want=int(open(sys.argv[2]).read())
sys.exit(0 if want > 0 and j["c"]["clipped_samples"] == want else 1)' "$T/clip.json" "$T/want_clip.txt"
check "the original is copied bit for bit (PCM16 in, PCM16 out)" python3 -c '
import sys, wave
a=wave.open(sys.argv[1]).readframes(10**6); b=wave.open(sys.argv[2]).readframes(10**6)
sys.exit(0 if a == b else 1)' "$T/loud/c/tone.wav" "$T/o10/c/tone_original.wav"

# --- 6. usage errors
"$ES_BIN" augment "$T/in" >/dev/null 2>&1; check "missing OUT_DIR is a usage error (2)" [ $? -eq 2 ]
"$ES_BIN" augment "$T/in" "$T/x" --augmentations nope >/dev/null 2>&1; check "unknown augmentation is a usage error" [ $? -eq 2 ]
"$ES_BIN" augment "$T/in" "$T/x" --per-file 12 >/dev/null 2>&1; check "--per-file 12 is a usage error" [ $? -eq 2 ]
"$ES_BIN" augment "$T/nowhere" "$T/x" >/dev/null 2>&1; check "missing IN_DIR fails (1)" [ $? -eq 1 ]
"$ES_BIN" augment "$T/in" "$T/in/." >/dev/null 2>&1; check "OUT_DIR = IN_DIR is a usage error" [ $? -eq 2 ]
check "and writes nothing into IN_DIR" [ -z "$(find "$T/in" -name '*_original.wav')" ]

# --- 7. a killed run leaves only complete WAVs
mkdir -p "$T/big/c"
for f in $(ls "$src/dog_bark" | head -n 30); do cp "$src/dog_bark/$f" "$T/big/c/"; done
"$ES_BIN" -q augment "$T/big" "$T/o9" --threads 1 >/dev/null 2>&1 &
pid=$!
# kill it as soon as the first outputs appear, mid-run
for _ in $(seq 1 400); do
  [ "$(ls "$T/o9/c" 2>/dev/null | wc -l)" -ge 8 ] && break
  sleep 0.01
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
complete=1
for f in "$T"/o9/c/*.wav; do
  [ -e "$f" ] || continue
  "$ES_BIN" info "$f" >/dev/null 2>&1 || complete=0
  sz=$(stat -c %s "$f"); [ "$sz" -gt 1000 ] || complete=0
done
check "after kill -9 every WAV present is complete ($(ls "$T/o9/c" 2>/dev/null | grep -c wav) written)" [ $complete -eq 1 ]
run "$T/big" "$T/o9" --threads 2 >/dev/null 2>&1
check "re-run after the kill completes the set" [ "$(ls "$T/o9/c" | grep -c '\.wav$')" -eq 180 ]
check "re-run removes the killed run's temporary files" [ -z "$(find "$T/o9" -type f ! -name '*.wav')" ]

exit $fail
