#!/usr/bin/env bash
# test_cli.sh: the `ecosight` front door. Exit codes (0 ok, 1 failure,
# 2 usage), --help for every command the top-level help lists (and
# `ecosight help CMD` says the same), version, unknown commands/options,
# and the log level from -q, -v, --log-level and ECOSIGHT_LOG (the command
# line wins over the environment).
set -uo pipefail
BIN=$(realpath "${ES_BIN:?ES_BIN not set}")
T=$(mktemp -d "${ES_TEST_TMP:-/tmp}/bb_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
ok()   { echo "ok   - $*"; }
bad()  { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# run: exit code into $rc, stdout into $T/out, stderr into $T/err
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }
unset ECOSIGHT_LOG

# --- no command, help, version
run "$BIN"
check "no command: exit 2" [ "$rc" -eq 2 ]
check "no command: usage on stderr" grep -q "^usage: ecosight" "$T/err"
run "$BIN" --help
check "--help: exit 0, usage on stdout" [ "$rc" -eq 0 ] && grep -q "^usage: ecosight" "$T/out"
cmds=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$T/out")
check "--help lists commands (info, version, help among them)" \
  bash -c '[[ " $* " == *" info "* && " $* " == *" version "* && " $* " == *" help "* ]]' _ $cmds
for c in $cmds; do
  run "$BIN" "$c" --help
  check "'$c --help': exit 0 and a usage line" [ "$rc" -eq 0 ] && grep -q "^usage: ecosight $c" "$T/out"
  cp "$T/out" "$T/direct"
  run "$BIN" help "$c"
  check "'help $c' is the same text" [ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/direct"
  run "$BIN" "$c" -h
  check "'$c -h' works too" [ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/direct"
done
run "$BIN" help
check "'help' alone lists the commands" [ "$rc" -eq 0 ] && grep -q "^Commands:" "$T/out"
run "$BIN" version
check "version prints 'ecosight X.Y.Z'" [ "$rc" -eq 0 ] && grep -Eq '^ecosight [0-9]+\.[0-9]+\.[0-9]+$' "$T/out"
v=$(cat "$T/out")
run "$BIN" --version
check "--version says the same" [ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$v" ]

# --- usage errors: exit 2, a message naming the problem, a hint
for args in "frobnicate" "--bogus info" "-x info" "--log-level" "--log-level loud info" \
            "version extra" "help frobnicate" "help info extra" "info" "info --nope x.wav"; do
  # shellcheck disable=SC2086
  run "$BIN" $args
  check "'ecosight $args': exit 2" [ "$rc" -eq 2 ]
  check "'ecosight $args': says what is wrong, nothing on stdout" [ -s "$T/err" ] && [ ! -s "$T/out" ]
done
run "$BIN" frobnicate
check "unknown command is named" grep -q "frobnicate" "$T/err"
check "usage errors point at --help" grep -q "Try 'ecosight --help'" "$T/err"

# --- log levels on a command that fails for one file: the error line is
# always printed, the summary is INFO, per-file timing is DEBUG
python3 -c "
import wave
with wave.open('$T/a.wav', 'wb') as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(b'\0\0' * 800)
"
levels() { # expected: error summary debug (1/0 each); then the command
  local e=$1 s=$2 d=$3; shift 3
  run "$@"
  local ge=0 gs=0 gd=0
  grep -q "error: $T/missing.wav" "$T/err" && ge=1
  grep -q "1 of 2 files could not be read" "$T/err" && gs=1
  grep -q "^debug: probed" "$T/err" && gd=1
  check "$(echo "${*:2}" | sed "s#$T/##g; s#$BIN#ecosight#"): error=$e summary=$s debug=$d (got $ge $gs $gd), exit 1, result on stdout" \
    [ "$ge$gs$gd" = "$e$s$d" ] && [ "$rc" -eq 1 ] && grep -q "a.wav: WAV" "$T/out"
}
levels 1 1 0 "$BIN" info "$T/a.wav" "$T/missing.wav"
levels 1 0 0 "$BIN" -q info "$T/a.wav" "$T/missing.wav"
levels 1 1 1 "$BIN" -v info "$T/a.wav" "$T/missing.wav"
levels 1 1 1 "$BIN" --log-level debug info "$T/a.wav" "$T/missing.wav"
levels 1 0 0 "$BIN" --log-level error info "$T/a.wav" "$T/missing.wav"
levels 1 1 1 env ECOSIGHT_LOG=debug "$BIN" info "$T/a.wav" "$T/missing.wav"
levels 1 0 0 env ECOSIGHT_LOG=quiet "$BIN" info "$T/a.wav" "$T/missing.wav"
levels 1 0 0 env ECOSIGHT_LOG=debug "$BIN" -q info "$T/a.wav" "$T/missing.wav"
levels 1 1 1 env ECOSIGHT_LOG=error "$BIN" -v info "$T/a.wav" "$T/missing.wav"
run env ECOSIGHT_LOG=shouty "$BIN" info "$T/a.wav"
check "a bad ECOSIGHT_LOG is reported and ignored" \
  [ "$rc" -eq 0 ] && grep -q "ECOSIGHT_LOG" "$T/err" && grep -q "a.wav: WAV" "$T/out"

echo "test_cli: $fails failed"
[ "$fails" -eq 0 ]
