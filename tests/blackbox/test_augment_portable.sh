#!/usr/bin/env bash
# test_augment_portable.sh: `ecosight augment` must write the same bytes on
# every x86-64 machine. One machine cannot be many, so the same run (all 11
# augmentations of synthetic recordings at 16 and 22.05 kHz, and of a real
# MP3 and WAV when ../shared is there) is repeated with the CPU features the
# libraries dispatch on taken away, and every output's SHA-256 must equal the
# default run's:
#   - glibc's ifuncs (libm's log/exp/sin/cos/pow FMA variants, used by soxr's
#     filter design and FFTW's twiddles) limited by GLIBC_TUNABLES to
#     pre-AVX code;
#   - soxr's AVX engine switched off (SOXR_USE_SIMD64=0; HQ must not use it);
#   - the whole process on emulated older CPUs with qemu-user: Nehalem (SSE4.2,
#     no AVX/FMA) and baseline x86-64 (SSE2), where cpuid itself tells FFTW,
#     glibc, soxr and mpg123 that AVX, AVX2, AVX-512 and FMA do not exist.
# Before the augmentations used FFTW_NO_SIMD, the qemu runs differed from the
# native one in every stretched and pitch-shifted file.
set -u
: "${ES_BIN:?}" "${ES_TEST_TMP:=/tmp}"
mkdir -p "$ES_TEST_TMP" || exit 1
T=$(mktemp -d "$ES_TEST_TMP/augment_portable.XXXXXX") && [ -d "$T" ] || { echo "FAIL: no scratch dir"; exit 1; }
trap 'rm -rf "$T"' EXIT
fail=0
check() { # description, command...
  local d=$1; shift
  if "$@"; then echo "ok   $d"; else echo "FAIL $d"; fail=1; fi
}

# Inputs: two synthetic recordings (a decode-resampled 22.05 kHz one and a
# 16 kHz one), made without libm so they are the same everywhere.
mkdir -p "$T/in/synth" "$T/in/real"
python3 - "$T/in/synth" <<'PY' || { echo "FAIL: could not write inputs"; exit 1; }
import struct, sys, wave
def write(path, rate, n, period):
    lcg, out = 12345, bytearray()
    for i in range(n):
        ph = i % period
        tri = (ph if ph < period // 2 else period - ph) / (period // 2) * 2 - 1
        lcg = (lcg * 1664525 + 1013904223) % 2**32
        nz = ((lcg >> 8) - 2**23) / 2**23 * 0.05
        fade = min(1.0, i / 4000)
        v = int(round(fade * (0.5 * tri + nz) * 32767))
        out += struct.pack('<h', max(-32768, min(32767, v)))
    with wave.open(path, 'wb') as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(bytes(out))
write(sys.argv[1] + '/tone22k.wav', 22050, 33075, 51)
write(sys.argv[1] + '/tone16k.wav', 16000, 20000, 37)
PY
shared=${ECOSIGHT_SHARED:-../shared}
src=$shared/data/extracted_audio
if [ -d "$src/clips" ] && [ -d "$src/dog_bark" ]; then
  cp "$(ls -d "$src"/clips/*.mp3 | head -n 1)" "$T/in/real/"
  cp "$(ls -d "$src"/dog_bark/*.wav | head -n 1)" "$T/in/real/"
elif [ "${ECOSIGHT_REQUIRE_SHARED:-0}" = 1 ]; then
  echo "FAIL: $src missing"; exit 1
else
  echo "*** note: $src not found; synthetic recordings only ***"
  rmdir "$T/in/real"
fi

# $1: output dir; the rest: a command prefix (env settings, an emulator)
aug() {
  local out=$1; shift
  "$@" "$ES_BIN" -q augment "$T/in" "$T/$out" --per-file 11 --threads 2 >"$T/$out.log" 2>&1
}
sums() { (cd "$T/$1" && find . -name '*.wav' | sort | xargs sha256sum); }

aug ref env; rc=$?
check "default run exits 0" [ $rc -eq 0 ]
n=$(find "$T/ref" -name '*.wav' | wc -l)
want=$(( $(find "$T/in" -type f | wc -l) * 12 ))
check "all 11 augmentations + original written ($n of $want)" [ "$n" -eq "$want" ]
sums ref >"$T/ref.sha"

same_as_ref() { # output dir
  sums "$1" >"$T/$1.sha"
  if cmp -s "$T/ref.sha" "$T/$1.sha"; then return 0; fi
  diff "$T/ref.sha" "$T/$1.sha" | head -n 6
  return 1
}

aug tun env GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512DQ,-AVX2,-FMA,-FMA4,-AVX; rc=$?
check "glibc limited to pre-AVX ifuncs: exit 0" [ $rc -eq 0 ]
check "glibc limited to pre-AVX ifuncs: every output byte-identical" same_as_ref tun

aug nosimd64 env SOXR_USE_SIMD64=0; rc=$?
check "soxr AVX engine off: exit 0" [ $rc -eq 0 ]
check "soxr AVX engine off: every output byte-identical" same_as_ref nosimd64

# qemu-user cannot host ASan's shadow memory: the sanitizer tree checks the
# unsanitized binary next to it when there is one, else says so.
qbin=$ES_BIN
if [ "${ES_SANITIZED:-0}" = 1 ]; then
  qbin=""
  for b in "${ES_BUILD_DIR:-}/../build/ecosight"; do [ -x "$b" ] && qbin=$b; done
fi
if ! command -v qemu-x86_64 >/dev/null; then
  echo "FAIL: qemu-x86_64 not installed (apt-get install qemu-user; scripts/install-deps.sh)"
  fail=1
elif [ -z "$qbin" ]; then
  echo "*** note: no unsanitized build next to this tree; emulated-CPU runs left to it ***"
else
  if [ "$qbin" != "$ES_BIN" ]; then # the reference for the other binary
    "$qbin" -q augment "$T/in" "$T/ref_q" --per-file 11 --threads 2 >/dev/null 2>&1
    check "the optimised build writes the same bytes as this sanitized -O0 one" same_as_ref ref_q
    sums ref_q >"$T/ref.sha"
  fi
  for cpu in Nehalem qemu64; do
    qemu-x86_64 -cpu $cpu "$qbin" -q augment "$T/in" "$T/q_$cpu" --per-file 11 --threads 2 \
      >"$T/q_$cpu.log" 2>&1; rc=$?
    check "emulated $cpu CPU: exit 0" [ $rc -eq 0 ]
    check "emulated $cpu CPU: every output byte-identical to the native run" same_as_ref "q_$cpu"
  done
fi
exit $fail
