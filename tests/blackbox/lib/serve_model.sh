# serve_model.sh: a tiny real model for the server's black-box tests (source it
# after serve.sh). Skips loudly (or fails with ECOSIGHT_REQUIRE_SHARED=1)
# without the shared data and YAMNet model.
#
#   serve_model_train DIR    # DIR/data/<class>/ (a few files each), DIR/models/<version>
#                            # sets SERVE_MODEL_VERSION; ECOSIGHT_YAMNET exported

SHARED=${ECOSIGHT_SHARED:-$ES_SOURCE_DIR/../shared}

serve_model_need_shared() {
    if [ ! -d "$SHARED/data/extracted_audio" ] || [ ! -f "$SHARED/models/yamnet.tflite" ]; then
        if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then
            echo "FAIL: shared data or YAMNet model missing ($SHARED)"; exit 1
        fi
        echo "*** SKIPPED *** shared data or YAMNet model missing ($SHARED)"; exit 0
    fi
    export ECOSIGHT_YAMNET="$SHARED/models/yamnet.tflite"
}

serve_model_train() {
    local dir=$1 per_class=8 epochs=5 d cls
    [ "${ES_SANITIZED:-0}" = 1 ] && per_class=4 && epochs=2
    for d in "$SHARED"/data/extracted_audio/*/; do
        cls=$(basename "$d"); mkdir -p "$dir/data/$cls"
        ls "$d" | grep -iE '\.(wav|flac|ogg|mp3)$' | sort | head -n $per_class |
            while read -r f; do cp "$d/$f" "$dir/data/$cls/"; done
    done
    if ! nice -n 5 "$ES_BIN" -q train "$dir/data" --out "$dir/models" --per-file 0 \
            --epochs $epochs --seed 7 --threads 2 > "$dir/train.out" 2>&1; then
        echo "FAIL: training the test model"; cat "$dir/train.out"; return 1
    fi
    SERVE_MODEL_VERSION=$(basename "$(readlink "$dir/models/latest")")
    [ -n "$SERVE_MODEL_VERSION" ]
}
