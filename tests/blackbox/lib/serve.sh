# serve.sh: run `ecosight serve` on 127.0.0.1 for black-box tests (source it).
#
#   . "$ES_SOURCE_DIR/tests/blackbox/lib/serve.sh"
#   serve_start DIR [serve options...]   # ephemeral port; sets SERVE_PID, SERVE_PORT, SERVE_URL
#   curl "$SERVE_URL/health"
#   serve_stop                            # SIGTERM, waits for a clean exit (also on EXIT)
#
# The server's stdout (access log) and stderr go to DIR/serve.out and DIR/serve.err.
# Everything is bounded in time: start waits at most 60 s, stop 30 s then kills.

SERVE_PID=""
SERVE_PORT=""
SERVE_URL=""
SERVE_DIR=""

serve_start() {
    SERVE_DIR=$1; shift
    mkdir -p "$SERVE_DIR"
    rm -f "$SERVE_DIR/port"
    "$ES_BIN" serve --host 127.0.0.1 --port 0 --port-file "$SERVE_DIR/port" "$@" \
        >"$SERVE_DIR/serve.out" 2>"$SERVE_DIR/serve.err" &
    SERVE_PID=$!
    local i
    for i in $(seq 1 600); do
        if [ -s "$SERVE_DIR/port" ]; then
            SERVE_PORT=$(cat "$SERVE_DIR/port")
            SERVE_URL="http://127.0.0.1:$SERVE_PORT"
            return 0
        fi
        if ! kill -0 "$SERVE_PID" 2>/dev/null; then
            echo "serve_start: the server exited:" >&2
            cat "$SERVE_DIR/serve.err" >&2
            SERVE_PID=""
            return 1
        fi
        sleep 0.1
    done
    echo "serve_start: no port after 60 s" >&2
    return 1
}

# serve_stop: SIGTERM and wait; returns the server's exit status (124 if it had to be killed).
serve_stop() {
    [ -n "$SERVE_PID" ] || return 0
    local pid=$SERVE_PID i
    SERVE_PID=""
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            return $?
        fi
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
}

trap 'serve_stop >/dev/null 2>&1' EXIT INT TERM

# http CODE_VAR BODY_FILE curl-args...: status code into CODE_VAR, body into BODY_FILE.
http() {
    local __var=$1 __out=$2; shift 2
    local __code
    __code=$(curl -s -o "$__out" -w '%{http_code}' --max-time 60 "$@")
    printf -v "$__var" '%s' "$__code"
}
