#!/usr/bin/env bash
# test_augment_shared.sh: every recording of ../shared/data/extracted_audio
# augments without error (every 8th one under the sanitizers), each original
# gets 6 outputs, and every output's duration is what its augmentation
# promises relative to its own original: stretches round(N / rate) samples,
# everything else exactly N.
set -u
: "${ES_BIN:?}" "${ES_TEST_TMP:=/tmp}"
shared=${ECOSIGHT_SHARED:-../shared}
src=$shared/data/extracted_audio
if [ ! -d "$src/gun_shot" ]; then
  if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then echo "FAIL: $src missing"; exit 1; fi
  echo "*** SKIPPED: $src not found (set ECOSIGHT_SHARED) ***"; exit 0
fi
mkdir -p "$ES_TEST_TMP" || exit 1
T=$(mktemp -d "$ES_TEST_TMP/augment_shared.XXXXXX") && [ -d "$T" ] || { echo "FAIL: no scratch dir"; exit 1; }
trap 'rm -rf "$T"' EXIT
in=$src
if [ "${ES_SANITIZED:-0}" = 1 ]; then
  in=$T/in
  for c in "$src"/*/; do
    c=$(basename "$c"); mkdir -p "$in/$c"
    ls "$src/$c" | awk 'NR % 8 == 1' | while read -r f; do ln -s "$src/$c/$f" "$in/$c/$f"; done
  done
fi
n_in=$(find -L "$in" -mindepth 2 -type f | wc -l)
"$ES_BIN" -q augment "$in" "$T/out" --json >"$T/sum.json" 2>"$T/err.txt"; rc=$?
fail=0
if [ $rc -ne 0 ]; then echo "FAIL: exit $rc"; cat "$T/err.txt"; fail=1; fi
python3 - "$T/sum.json" "$n_in" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1])); n = int(sys.argv[2])
orig = sum(v["original_files"] for v in j.values())
out = sum(v["augmented_files"] for v in j.values())
failed = sum(v["failed_files"] for v in j.values())
print(f"{orig} originals -> {out} files, {failed} failed, classes {sorted(j)}")
ok = orig == n and out == 6 * n and failed == 0
print("ok   every recording augmented" if ok else "FAIL counts")
sys.exit(0 if ok else 1)
PY
find "$T/out" -name '*.wav' | sort >"$T/list"
xargs -a "$T/list" "$ES_BIN" info --json >"$T/info.json" 2>"$T/info_err.txt" || { echo "FAIL: info"; fail=1; }
python3 - "$T/info.json" <<'PY' || fail=1
import json, sys, collections
rates = {"time_stretch_fast": 1.1, "time_stretch_slow": 0.9, "combined_1": 1.05}
# xargs may run info several times: one JSON array per run
text, dec, files, pos = open(sys.argv[1]).read(), json.JSONDecoder(), [], 0
while text[pos:].strip():
    arr, end = dec.raw_decode(text, pos + len(text[pos:]) - len(text[pos:].lstrip()))
    files += arr
    pos = end
by_stem = collections.defaultdict(dict)
for f in files:
    base = f["path"].rsplit("/", 1)[1][:-4]
    for name in ["original", "time_stretch_fast", "time_stretch_slow", "pitch_up", "pitch_down",
                 "noise_light", "noise_medium", "time_shift", "volume_up", "volume_down",
                 "combined_1", "combined_2"]:
        if base.endswith("_" + name):
            by_stem[f["path"][:-len(name) - 5]][name] = f
            break
    else:
        print("FAIL unexpected output", f["path"]); sys.exit(1)
bad = 0
for stem, outs in by_stem.items():
    n = outs["original"]["frames"]
    for name, f in outs.items():
        want = round(n / rates[name]) if name in rates else n
        if f["frames"] != want or f["sample_rate"] != 16000 or f["subtype"] != "PCM_16":
            bad += 1
            print("FAIL", f["path"], f["frames"], "want", want)
print(f"{'ok  ' if bad == 0 else 'FAIL'} durations of {len(files)} outputs of {len(by_stem)} originals")
sys.exit(1 if bad else 0)
PY
exit $fail
