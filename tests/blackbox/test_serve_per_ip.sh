#!/usr/bin/env bash
# test_serve_per_ip.sh: one client cannot starve another (slowloris). With a
# global cap of 48 connections and 16 per client address, client A
# (127.0.0.1) opens 60 slow connections: exactly 16 are kept, A's next request
# is refused, while client B (127.0.0.2, also loopback) keeps getting /health
# answered; once A lets go it is served again. Without the per-address limit
# A would hold all 48 slots and B would be refused (this test fails then).
set -u
. "$ES_SOURCE_DIR/tests/blackbox/lib/serve.sh"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
PROBE="$ES_SOURCE_DIR/tests/blackbox/lib/http_probe.py"
T="$ES_TEST_TMP/test_serve_per_ip.$$"
rm -rf "$T"; mkdir -p "$T"
fails=0
check() { if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected $2, got $3"; fails=$((fails + 1)); fi; }

serve_start "$T/srv" --models "$T/models" --data "$T/data" --threads 2 --timeout 20 \
    --max-connections 48 --max-connections-per-ip 16 || exit 1
timeout 60 "$PY" "$PROBE" per-ip "$SERVE_PORT" 16 60
check "per-address limit: A kept at 16, B served, A served again" 0 $?
check "health after" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$SERVE_URL/health")"
"$ES_BIN" serve --max-connections-per-ip x > /dev/null 2>&1; check "bad --max-connections-per-ip is a usage error" 2 $?
serve_stop; check "clean exit" 0 $?
[ $fails -eq 0 ] && rm -rf "$T"
[ $fails -eq 0 ] && echo "test_serve_per_ip: all passed" || echo "test_serve_per_ip: $fails failed"
exit $((fails > 0))
