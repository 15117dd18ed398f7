#!/usr/bin/env bash
# layering.sh: the dependency rule, checked. A module may include only the
# public headers (and, for its own files, the private headers) of modules
# below it, and each third-party API is included by exactly one module.
set -u
root=${1:-.}
cd "$root" || exit 2

declare -A allowed=(
  [core]=""
  [audio]="core"
  [dsp]="core"
  [augment]="core audio dsp"
  [nn]="core"
  [yamnet]="core audio dsp nn"
  [classifier]="core nn"
  [s3]="core"
  [store]="core"
  [pipeline]="core audio dsp augment nn yamnet classifier s3 store"
  [server]="core audio dsp augment nn yamnet classifier s3 store pipeline"
  [cli]="core audio dsp augment nn yamnet classifier s3 store pipeline server"
)
# third-party header prefix -> the one module allowed to include it
declare -A owner=(
  [openssl/]=core [sndfile.h]=audio [soxr.h]=audio [vorbis/]=audio [ogg/]=audio [fftw3.h]=dsp
  [curl/]=s3 [sqlite3.h]=store [microhttpd.h]=server
  [cblas.h]=nn [dnnl]=nn [expat.h]=s3
)
fail=0
check_file() { # module file
  local m=$1 f=$2 inc dep
  while IFS= read -r inc; do
    case "$inc" in
      ecosight/es.h) dep=ALL ;;
      ecosight/*.h) dep=${inc#ecosight/}; dep=${dep%.h}; dep=${dep%%_*} ;;
      */*) dep=${inc%%/*} ;;
      *) dep="" ;;
    esac
    if [ "$dep" = ALL ]; then
      if [ "$m" != cli ] && [ "$m" != server ]; then
        echo "LAYERING: $f includes the umbrella ecosight/es.h (only front doors may)"; fail=1
      fi
      continue
    fi
    [ -z "$dep" ] && continue
    [ "$dep" = "$m" ] && continue
    [ -z "${allowed[$dep]+x}" ] && continue   # not a module (e.g. generated/)
    case " ${allowed[$m]} " in
      *" $dep "*) ;;
      *) echo "LAYERING: $f ($m) includes $inc ($dep is not below $m)"; fail=1 ;;
    esac
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
  while IFS= read -r inc; do
    for pfx in "${!owner[@]}"; do
      case "$inc" in
        "$pfx"*) if [ "${owner[$pfx]}" != "$m" ]; then
                   echo "LAYERING: $f ($m) includes <$inc>, which only ${owner[$pfx]}/ may include"; fail=1
                 fi ;;
      esac
    done
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/\1/p' "$f")
}
for m in "${!allowed[@]}"; do
  [ -d "src/$m" ] && for f in src/"$m"/*.[ch]; do [ -e "$f" ] && check_file "$m" "$f"; done
  for f in include/ecosight/"$m".h include/ecosight/"$m"_*.h; do [ -f "$f" ] && check_file "$m" "$f"; done
done
if [ $fail -ne 0 ]; then echo "layering: FAILED"; exit 1; fi
echo "layering: OK"
