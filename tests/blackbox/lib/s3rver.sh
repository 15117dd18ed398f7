# s3rver.sh: a real S3 server on 127.0.0.1 for black-box tests (source it).
#
#   . "$ES_SOURCE_DIR/tests/blackbox/lib/s3rver.sh"
#   s3rver_start            # or: s3rver_start BUCKET... (buckets created by the server)
#   "$ES_BIN" upload dir s3://bucket/prefix/    # env already points at the server
#   s3rver_aws s3 ls s3://bucket/ --recursive    # the independent client (Debian's aws v2)
#   s3rver_stop             # also done by the EXIT trap
#
# The server is @20minutes/s3rver 5.0.0 (tests/s3/, pinned by its lock file; it
# verifies SigV4 signatures), started through tests/s3/run-s3rver.js on a
# kernel-chosen free port with a fresh data directory and a random key pair.
# s3rver_start exports AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
# AWS_ENDPOINT_URL (and ES_S3_PATH_STYLE=1), points the AWS config files at a
# private directory so nothing from ~/.aws leaks in, and sets S3RVER_PORT,
# S3RVER_ENDPOINT, S3RVER_DIR (the server's data), S3RVER_PID.
#
# Cleanup: s3rver_start installs an EXIT/INT/TERM trap that stops the server
# and removes its directory. A test with its own cleanup should define a
# function s3rver_extra_cleanup; the trap calls it first.
#
# When the npm package is not installed (scripts/install-deps.sh runs `npm ci`
# in tests/s3), tests SKIP loudly, or FAIL when ECOSIGHT_REQUIRE_SHARED=1 or CI=true.

S3RVER_AWS_BIN=${S3RVER_AWS_BIN:-/usr/bin/aws}   # Debian's awscli v2, not a v1 on PATH
_s3rver_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../s3" && pwd)
S3RVER_PID=""
S3RVER_BASE=""

_s3rver_skip() {
    if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ] || [ "${CI:-}" = true ]; then
        echo "FAIL: $*" >&2
        exit 1
    fi
    echo "*** SKIPPED *** $*" >&2
    exit 0
}

# s3rver_need_aws: skip (or fail) when the independent client is missing.
s3rver_need_aws() {
    [ -x "$S3RVER_AWS_BIN" ] || _s3rver_skip "no $S3RVER_AWS_BIN (apt-get install awscli)"
}

_s3rver_cleanup() {
    local rc=$?
    if declare -F s3rver_extra_cleanup >/dev/null; then s3rver_extra_cleanup || true; fi
    s3rver_stop
    [ -n "$S3RVER_BASE" ] && rm -rf "$S3RVER_BASE"
    S3RVER_BASE=""
    return $rc
}

# s3rver_launch [PORT [BUCKET...]]: start the server on the existing
# S3RVER_DIR (so a test can kill it and start it again over the same data).
s3rver_launch() {
    local port=${1:-0} i line=""
    [ $# -gt 0 ] && shift
    : >"$S3RVER_BASE/out"
    node --openssl-legacy-provider "$_s3rver_src/run-s3rver.js" "$S3RVER_DIR" \
        "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$port" "$@" \
        >"$S3RVER_BASE/out" 2>>"$S3RVER_BASE/err" &
    S3RVER_PID=$!
    for i in $(seq 1 300); do   # up to 30 s: node starts slowly on a loaded box
        line=$(grep -m1 '^READY ' "$S3RVER_BASE/out" 2>/dev/null || true)
        [ -n "$line" ] && break
        if ! kill -0 "$S3RVER_PID" 2>/dev/null; then
            echo "s3rver exited during startup:" >&2
            cat "$S3RVER_BASE/err" >&2
            S3RVER_PID=""
            return 1
        fi
        sleep 0.1
    done
    if [ -z "$line" ]; then
        echo "s3rver did not become ready in 30 s" >&2
        cat "$S3RVER_BASE/err" >&2
        s3rver_stop
        return 1
    fi
    S3RVER_PORT=${line#READY }
    S3RVER_ENDPOINT="http://127.0.0.1:$S3RVER_PORT"
    export S3RVER_PORT S3RVER_ENDPOINT
    export AWS_ENDPOINT_URL="$S3RVER_ENDPOINT"
}

# s3rver_start [BUCKET...]   (needs node and tests/s3/node_modules only; aws is optional)
s3rver_start() {
    command -v node >/dev/null || _s3rver_skip "node is not installed"
    [ -d "$_s3rver_src/node_modules/@20minutes/s3rver" ] ||
        _s3rver_skip "s3rver is not installed (run: cd tests/s3 && npm ci)"
    local root=/tmp
    [ -d /dev/shm ] && [ -w /dev/shm ] && root=/dev/shm
    S3RVER_BASE=$(mktemp -d "$root/es-s3rver.XXXXXX") || return 1
    S3RVER_DIR="$S3RVER_BASE/data"
    mkdir -p "$S3RVER_DIR" "$S3RVER_BASE/aws"
    trap _s3rver_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # A fresh identity each run; nothing from the user's ~/.aws.
    export AWS_ACCESS_KEY_ID="ESTEST$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
    export AWS_SECRET_ACCESS_KEY="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 ES_S3_PATH_STYLE=1
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL_S3 AWS_DEFAULT_PROFILE
    export AWS_SHARED_CREDENTIALS_FILE="$S3RVER_BASE/aws/credentials"
    export AWS_CONFIG_FILE="$S3RVER_BASE/aws/config"
    export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
    printf '[default]\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
    : >"$AWS_SHARED_CREDENTIALS_FILE"

    s3rver_launch 0 "$@" || return 1   # buckets are made by the server itself: no aws needed
}

# s3rver_kill: stop the server abruptly (SIGKILL), as a crash would.
s3rver_kill() {
    [ -n "$S3RVER_PID" ] || return 0
    kill -KILL "$S3RVER_PID" 2>/dev/null || true
    wait "$S3RVER_PID" 2>/dev/null || true
    S3RVER_PID=""
}

# s3rver_stop: SIGTERM, then SIGKILL after 5 s.
s3rver_stop() {
    [ -n "$S3RVER_PID" ] || return 0
    local i
    kill -TERM "$S3RVER_PID" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$S3RVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    s3rver_kill
}

# s3rver_aws ARGS...: Debian's aws v2 against the test server, bounded in time.
s3rver_aws() {
    timeout 300 "$S3RVER_AWS_BIN" --endpoint-url "$S3RVER_ENDPOINT" --no-cli-pager "$@"
}
