#!/usr/bin/env bash
# test_train.sh: `ecosight train` on ../shared/data/extracted_audio end to end,
# then `evaluate` of the result on its own test split must reproduce the stored
# test metrics; the split must keep every UrbanSound8K recording (group) in one
# split; `predict` and `predict --timeline` answer sensibly; a failed run leaves
# `latest` and the retraining log alone.
# Under ES_SANITIZED=1 the same checks run on a few files per class, fewer epochs.
set -euo pipefail
: "${ES_BIN:?}" "${ES_TEST_TMP:=/tmp}"
shared=${ECOSIGHT_SHARED:-}
data=$shared/data/extracted_audio
if [ -z "$shared" ] || [ ! -d "$data" ] || [ ! -f "$shared/models/yamnet.tflite" ]; then
  if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then
    echo "FAIL: ../shared data or YAMNet model missing (ECOSIGHT_REQUIRE_SHARED=1)"; exit 1
  fi
  echo "SKIPPED: test_train needs \$ECOSIGHT_SHARED/data/extracted_audio and models/yamnet.tflite"
  exit 0
fi
export ECOSIGHT_YAMNET=$shared/models/yamnet.tflite
work=$(mktemp -d "$ES_TEST_TMP/test_train.XXXXXX")
trap 'rm -rf "$work"' EXIT
models=$work/models
fail() { echo "FAIL: $*"; exit 1; }

if [ "${ES_SANITIZED:-0}" = 1 ]; then
  opts=(--max-files-per-class 8 --per-file 1 --epochs 4 --hidden 64,32 --dropout 0.3,0.2)
else
  opts=(--per-file 2 --epochs 40)
fi
nice -n 10 "$ES_BIN" -q train "$data" --out "$models" --group-pattern '^([0-9]+)-' \
  --seed 7 --threads 2 --json "${opts[@]}" > "$work/train.json" \
  || fail "train exited $?"
version=$(jq -r .version "$work/train.json")
vdir=$models/$version
[ -d "$vdir" ] || fail "no version dir $vdir"
# latest: a relative symlink to the version
[ -L "$models/latest" ] || fail "latest is not a symlink"
[ "$(readlink "$models/latest")" = "$version" ] || fail "latest -> $(readlink "$models/latest"), want $version"
for f in head.esh class_names.json model_metadata.json performance_metrics.json \
         training_history.json split.json; do
  [ -s "$vdir/$f" ] || fail "missing $f"
done
# the seed's keys
jq -e '.model_name and .model_type and .training_date and .num_classes and .classes
       and .input_shape and (.test_accuracy|type=="number") and .test_loss and .sample_rate
       and .architecture.layers and .architecture.activation and .architecture.dropout_rates
       and .architecture.optimizer and .architecture.learning_rate
       and .training_config.epochs and .training_config.batch_size
       and .training_config.train_samples and .training_config.val_samples
       and .training_config.test_samples' "$vdir/model_metadata.json" >/dev/null \
  || fail "model_metadata.json lacks a seed key"
jq -e '(.precision|length) == 4 and (.recall|length) == 4 and (.f1_score|length) == 4
       and (.confusion_matrix|length) == 4 and (.per_class_metrics.gun_shot.support > 0)' \
  "$vdir/performance_metrics.json" >/dev/null || fail "performance_metrics.json shape"
jq -e '(.loss|length) >= 1 and (.loss|length) == (.val_loss|length)
       and (.accuracy|length) == (.lr|length) and (.val_accuracy|length) == (.loss|length)' \
  "$vdir/training_history.json" >/dev/null || fail "training_history.json shape"
[ "$(jq -c . "$vdir/class_names.json")" = '["clips","dog_bark","engine_idling","gun_shot"]' ] \
  || fail "class order $(cat "$vdir/class_names.json")"
[ "$(jq '.retraining_history|length' "$models/retraining_log.json")" = 1 ] || fail "log length"

# No UrbanSound8K recording (FSID) in two splits, checked from the file names
# independently of the recorded group keys.
leaks=$(jq -r '.files[] | "\(.path|split("/")[1]|split("-")[0]) \(.split)"' "$vdir/split.json" \
        | sort -u | awk '{print $1}' | uniq -d | wc -l)
[ "$leaks" = 0 ] || fail "$leaks recordings straddle splits"
ntest=$(jq '[.files[]|select(.split=="test")]|length' "$vdir/split.json")
[ "$ntest" -ge 4 ] || fail "only $ntest test files"
# every class with 3 or more recordings reaches every split
python3 - "$vdir/split.json" <<'PY' || fail "a class with 3+ groups is missing from a split"
import json, sys
files = json.load(open(sys.argv[1]))["files"]
for c in sorted({f["class"] for f in files}):
    mine = [f for f in files if f["class"] == c]
    if len({f["group"] for f in mine}) >= 3:
        assert {f["split"] for f in mine} == {"train", "val", "test"}, c
PY

# evaluate on the test split reproduces the stored metrics
testdir=$work/testsplit
jq -r '.files[]|select(.split=="test" and (has("error")|not))|.path' "$vdir/split.json" |
  while IFS= read -r rel; do
    mkdir -p "$testdir/$(dirname "$rel")"
    ln -s "$data/$rel" "$testdir/$rel"
  done
nice -n 10 "$ES_BIN" -q evaluate "$models/latest" "$testdir" --json --threads 2 > "$work/eval.json" \
  || fail "evaluate exited $?"
python3 - "$vdir/performance_metrics.json" "$work/eval.json" <<'PY' || fail "evaluate differs from the stored metrics"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert a["samples"] == b["samples"], (a["samples"], b["samples"])
assert a["confusion_matrix"] == b["confusion_matrix"], (a["confusion_matrix"], b["confusion_matrix"])
assert abs(a["accuracy"] - b["accuracy"]) < 1e-9, (a["accuracy"], b["accuracy"])
assert abs(a["macro_f1"] - b["macro_f1"]) < 1e-9
assert abs(a["loss"] - b["loss"]) < 1e-4, (a["loss"], b["loss"])
for k in ("precision", "recall", "f1_score"):
    assert all(abs(x - y) < 1e-9 for x, y in zip(a[k], b[k])), k
for c, v in a["roc_auc"].items():
    w = b["roc_auc"][c]
    assert (v is None and w is None) or abs(v - w) < 1e-3, (c, v, w)
for c, v in a["threshold_metrics"].items():
    w = b["threshold_metrics"][c]
    assert abs(v["threshold"] - w["threshold"]) < 1e-6, (c, v, w)
    assert abs(v["precision"] - w["precision"]) < 1e-9 and abs(v["recall"] - w["recall"]) < 1e-9, (c, v, w)
print("evaluate reproduces: accuracy %.4f loss %.4f (stored %.4f)" % (b["accuracy"], b["loss"], a["loss"]))
PY

# predict: the seed API's fields, probabilities summing to 1
one=$(find "$testdir" -name '*.wav' | sort | sed -n 1p)   # sed reads to the end: no SIGPIPE under pipefail
"$ES_BIN" -q predict "$models/latest" "$one" --json > "$work/pred.json" || fail "predict exited $?"
python3 - "$work/pred.json" <<'PY' || fail "predict output"
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["predicted_class"] in ("clips", "dog_bark", "engine_idling", "gun_shot")
p = r["all_probabilities"]
assert abs(sum(p.values()) - 1) < 1e-4 and max(p.values()) == r["confidence"]
PY

# timeline over a 14.5 s recording made of four test clips: 4 s windows, 1 s
# hop, and a last window moved back to end with the recording (0.5 s tail)
long=$work/long.wav
mapfile -t clips < <(find "$testdir" -name '*.wav' | sort | sed -n 1,4p)
[ "${#clips[@]}" -ge 2 ] || fail "not enough wav clips for the timeline"
sox "${clips[@]}" -r 16000 -c 1 "$long" trim 0 14.5 2>/dev/null || fail "sox"
dur=$(soxi -D "$long")
"$ES_BIN" -q predict "$models/latest" "$long" --timeline --json > "$work/tl.json" || fail "timeline"
python3 - "$work/tl.json" "$dur" <<'PY' || fail "timeline output"
import json, math, sys
t = json.load(open(sys.argv[1]))[0]["timeline"]; dur = float(sys.argv[2])
w = t["windows"]
full = math.floor(dur - 4 + 1e-9) + 1
tail = dur - (full - 1) - 4 > 1e-6
assert len(w) == full + tail, (len(w), dur)
assert all(abs(w[i]["start"] - i) < 1e-6 for i in range(full))
assert all(abs(x["end"] - x["start"] - 4) < 1e-6 for x in w)
assert abs(w[-1]["end"] - dur) < 1e-3 and abs(t["duration"] - dur) < 1e-3, (w[-1], dur)
ev = t["events"]
assert sum(e["windows"] for e in ev) == len(w)
for a, b in zip(ev, ev[1:]):
    assert a["start"] < b["start"] and a["class"] != b["class"]
print("timeline: %d windows, %d events" % (len(w), len(ev)))
PY

# a recording shorter than one window gives one window covering all of it
sox "$one" -r 16000 -c 1 "$work/short.wav" trim 0 2 2>/dev/null || fail "sox short"
"$ES_BIN" -q predict "$models/latest" "$work/short.wav" --timeline --json > "$work/tls.json" \
  || fail "short timeline"
jq -e '.[0].timeline.windows|length == 1 and .[0].start == 0 and (.[0].end - 2|fabs) < 1e-3' \
  "$work/tls.json" >/dev/null || fail "short timeline: $(jq -c '.[0].timeline.windows' "$work/tls.json")"

# A failed run (a class folder with no audio) never touches latest or the log.
bad=$work/bad
mkdir -p "$bad/a" "$bad/b"
cp "$one" "$bad/a/"
if "$ES_BIN" -q train "$bad" --out "$models" --epochs 1 2>"$work/bad.err"; then
  fail "training on a class without files succeeded"
fi
grep -q "no audio files" "$work/bad.err" || fail "unexpected error: $(cat "$work/bad.err")"
[ "$(readlink "$models/latest")" = "$version" ] || fail "a failed run moved latest"
[ "$(jq '.retraining_history|length' "$models/retraining_log.json")" = 1 ] || fail "a failed run was logged"
[ -z "$(find "$models" -maxdepth 1 -name '.tmp-*')" ] || fail "temporary directory left behind"
echo "PASS test_train ($version: test accuracy $(jq .test_accuracy "$work/train.json"))"
