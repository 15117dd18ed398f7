#!/usr/bin/env bash
# test_yamnet_cli.sh: `ecosight yamnet` end to end on the real binary: top
# classes of a reference clip, the --json shape, the raw arrays against the
# TensorFlow reference (same tolerances as the unit test), a resampled
# 44.1 kHz stereo input, and clean failures (missing model, bad model file,
# not audio, bad options). Needs $ECOSIGHT_SHARED (skips loudly otherwise).
set -euo pipefail
: "${ES_BIN:?}" "${ES_TEST_TMP:=/tmp}"
shared=${ECOSIGHT_SHARED:-}
if [ -z "$shared" ] || [ ! -f "$shared/models/yamnet.tflite" ]; then
  if [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then echo "FAIL: no shared model" >&2; exit 1; fi
  echo "*** SKIPPED *** no \$ECOSIGHT_SHARED/models/yamnet.tflite" >&2; exit 0
fi
tmp=$(mktemp -d "$ES_TEST_TMP/yamnet_cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
model=$shared/models/yamnet.tflite
ref=$shared/reference/sine440_3s
fail() { echo "FAIL: $*" >&2; exit 1; }

# Text output: the reference's top class first.
out=$("$ES_BIN" -q yamnet --yamnet "$model" --threads 1 "$ref/input.wav")
echo "$out"
echo "$out" | sed -n 2p | grep -q "Telephone" || fail "top class is not Telephone"
[ "$(echo "$out" | grep -c '^ *[0-9]\.')" = 5 ] || fail "default --top is not 5"

# JSON + raw arrays, compared with the reference in Python.
"$ES_BIN" -q yamnet --yamnet "$model" --json --top 3 --threads 2 --logmel "$tmp/l.f32" \
  --embeddings "$tmp/e.f32" --scores "$tmp/s.f32" "$ref/input.wav" > "$tmp/out.json"
python3 - "$tmp" "$ref" <<'PY'
import json, math, struct, sys
tmp, ref = sys.argv[1], sys.argv[2]
o = json.load(open(f'{tmp}/out.json'))
assert o['patches'] == 6 and abs(o['duration_s'] - 3.0) < 1e-9, o
assert [t['name'] for t in o['top']] == ['Telephone', 'Dial tone', 'Busy signal'], o['top']
assert all(set(t) == {'index', 'name', 'score'} for t in o['top'])
meta = json.load(open(f'{ref}/meta.json'))
for t, m in zip(o['top'], meta['top5_mean_scores']):
    assert t['index'] == m['index'] and abs(t['score'] - m['score']) < 1e-3, (t, m)
def f32(p):
    b = open(p, 'rb').read()
    return struct.unpack(f'<{len(b) // 4}f', b)
for name, dim, tol in (('l', 64, 1e-3), ('s', 521, 1e-3)):
    a, r = f32(f'{tmp}/{name}.f32'), f32(f'{ref}/{ {"l": "logmel", "s": "scores"}[name] }.f32')
    assert len(a) == len(r), (name, len(a), len(r))
    d = max(abs(x - y) for x, y in zip(a, r))
    assert d <= tol, (name, d)
a, r = f32(f'{tmp}/e.f32'), f32(f'{ref}/embeddings.f32')
assert len(a) == len(r) == 6 * 1024
for p in range(6):
    x, y = a[p * 1024:(p + 1) * 1024], r[p * 1024:(p + 1) * 1024]
    cos = sum(u * v for u, v in zip(x, y)) / math.sqrt(sum(u * u for u in x) * sum(v * v for v in y))
    assert cos >= 0.9999, (p, cos)
print('json and raw arrays match the reference')
PY

# Any supported input: 44.1 kHz stereo 16-bit WAV of the same signal is resampled.
python3 - "$ref/input.wav" "$tmp/stereo44k.wav" <<'PY'
import math, struct, sys, wave
w = wave.open(sys.argv[2], 'wb'); w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
n = 3 * 44100
w.writeframes(b''.join(struct.pack('<hh', *(2 * [int(16000 * math.sin(2 * math.pi * 440 * i / 44100))]))
                       for i in range(n)))
w.close()
PY
"$ES_BIN" -q yamnet --yamnet "$model" --top 10 "$tmp/stereo44k.wav" | grep -q "Sine wave\|Telephone\|Dial tone" \
  || fail "resampled 440 Hz tone not recognised as a tone"

# Failures: each exits non-zero with a message naming the problem.
expect_fail() { # code pattern cmd...
  local code=$1 pat=$2; shift 2
  set +e; "$@" > "$tmp/o" 2> "$tmp/e"; local rc=$?; set -e
  [ "$rc" = "$code" ] || fail "exit $rc (expected $code) for: $*"
  grep -q "$pat" "$tmp/e" || { cat "$tmp/e"; fail "no '$pat' in the message for: $*"; }
}
expect_fail 1 "not found" "$ES_BIN" yamnet --yamnet "$tmp/none.tflite" "$ref/input.wav"
head -c 100000 "$model" > "$tmp/trunc.tflite"
expect_fail 1 "malformed" "$ES_BIN" yamnet --yamnet "$tmp/trunc.tflite" "$ref/input.wav"
echo "not audio at all" > "$tmp/x.wav"
expect_fail 1 "x.wav" "$ES_BIN" yamnet --yamnet "$model" "$tmp/x.wav"
expect_fail 2 "top" "$ES_BIN" yamnet --top 0 "$ref/input.wav"
expect_fail 2 "no input" "$ES_BIN" yamnet
echo "ok"
