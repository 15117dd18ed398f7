# retrain_common.sh: what the retrain black-box tests share (source it).
#
#   rt_setup NAME          fresh $RT (under ES_TEST_TMP), $RT_DATA, $RT_MODELS, $RT_POOL
#   rt_copy_subset N DIR   N originals per class from ../shared/data into DIR/<class>/
#   rt_add_new K DIR       K more originals (not yet in DIR) from the pool
#   rt_retrain ARGS...     ecosight retrain with small, fast training settings
#   rt_latest DIR          the version MODELS_DIR/latest names ("" when none)
#   fail MSG               print and exit 1
#
# Sizes scale down under the sanitizers (ES_SANITIZED=1): same checks, fewer files.
set -uo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

: "${ES_BIN:?ES_BIN must point at the ecosight binary}"
SHARED=${ECOSIGHT_SHARED:-$ES_SOURCE_DIR/../shared}
if [ ! -d "$SHARED/data/extracted_audio" ] || [ ! -f "$SHARED/models/yamnet.tflite" ]; then
    if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then
        fail "ECOSIGHT_REQUIRE_SHARED=1 but $SHARED/data or models/yamnet.tflite is missing"
    fi
    echo "*** SKIPPED: $SHARED/data/extracted_audio or models/yamnet.tflite not found ***" >&2
    exit 0
fi
export ECOSIGHT_SHARED=$SHARED

if [ "${ES_SANITIZED:-0}" = 1 ]; then
    RT_PER_CLASS=${RT_PER_CLASS:-5}
    RT_EPOCHS=3
else
    RT_PER_CLASS=${RT_PER_CLASS:-12}
    RT_EPOCHS=8
fi

rt_setup() {
    RT=${ES_TEST_TMP:-/tmp}/$1.$$
    rm -rf "$RT"
    mkdir -p "$RT"
    RT_DATA=$RT/data
    RT_MODELS=$RT/models
    RT_POOL=$SHARED/data/extracted_audio
    unset S3_BUCKET ES_RETRAIN_KILL_AT ES_RETRAIN_STOP_AT
}

# Deterministic choice: files in name order, every class.
rt_copy_subset() {
    local n=$1 dir=$2 c f
    for c in "$RT_POOL"/*/; do
        c=$(basename "$c")
        mkdir -p "$dir/$c"
        ls "$RT_POOL/$c" | sort | sed -n "1,${n}p" | while read -r f; do
            cp "$RT_POOL/$c/$f" "$dir/$c/$f"
        done
    done
}

# K files not yet in DIR, spread over the classes (round robin).
rt_add_new() {
    local k=$1 dir=$2 added=0 c f
    local classes=()
    for c in "$RT_POOL"/*/; do classes+=("$(basename "$c")"); done
    while [ "$added" -lt "$k" ]; do
        for c in "${classes[@]}"; do
            [ "$added" -ge "$k" ] && break
            f=$(comm -23 <(ls "$RT_POOL/$c" | sort) <(ls "$dir/$c" | sort) | sed -n 1p)
            [ -n "$f" ] || continue
            cp "$RT_POOL/$c/$f" "$dir/$c/$f"
            added=$((added + 1))
        done
    done
}

rt_retrain() {
    timeout 900 "$ES_BIN" retrain --data "$RT_DATA" --models "$RT_MODELS" --per-file 1 \
        --epochs "$RT_EPOCHS" --patience 3 --threads 2 "$@"
}

rt_latest() {
    local l
    l=$(readlink "$1/latest" 2>/dev/null) || { echo ""; return 0; }
    basename "$l"
}

# A field of a JSON document on stdin: rt_json '.a.b' (jq syntax).
rt_json() { jq -r "$1"; }

# The embeddings a run of version V must compute when every earlier version's
# embeddings are cached: the (original, variant) pairs its split.json uses
# that no earlier version's split.json used. Prints "total old_files" where
# old_files counts pairs of originals that earlier versions already had (a
# file whose split moved, e.g. test -> train, needs its augmentations).
rt_expected_misses() { # MODELS_DIR VERSION
    local m=$1 v=$2 d
    : >"$RT/prev.pairs"
    : >"$RT/prev.keys"
    for d in "$m"/*/; do
        d=$(basename "$d")
        { [ "$d" = "$v" ] || [ "$d" = latest ] || [ ! -f "$m/$d/split.json" ]; } && continue
        jq -r '.files[] | .audio_sha256 as $k | (["original"] + .augmentations)[] | "\($k)|\(.)"' \
            "$m/$d/split.json" >>"$RT/prev.pairs"
        jq -r '.files[].audio_sha256' "$m/$d/split.json" >>"$RT/prev.keys"
    done
    sort -u -o "$RT/prev.pairs" "$RT/prev.pairs"
    sort -u -o "$RT/prev.keys" "$RT/prev.keys"
    jq -r '.files[] | .audio_sha256 as $k | (["original"] + .augmentations)[] | "\($k)|\(.)"' \
        "$m/$v/split.json" | sort -u | comm -13 "$RT/prev.pairs" - >"$RT/need.pairs"
    local total old
    total=$(wc -l <"$RT/need.pairs")
    old=$(cut -d'|' -f1 "$RT/need.pairs" | sort | join - "$RT/prev.keys" | wc -l)
    echo "$total $old"
}
