#!/usr/bin/env bash
# Image build step: starts the function once on the bundled demo model, waits until it is ready, segments one
# picture, then stops it with SIGTERM. On the JVM this writes the class-data-sharing archive (-XX:ArchiveClassesAtExit)
# that run-java.sh uses; on both JVM and native images it leaves OpenCV's natives unpacked in JavaCPP's cache.
#   usage: training-run.sh [picture]   (env: APP_DIR, CDS_ARCHIVE, AOT_CACHE, TRAINING_ARCHIVE, TRAINING_PORT)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
app_dir="${APP_DIR:-/deployments}"
picture="${1:-$here/training.jpg}"
port="${TRAINING_PORT:-8089}"
export CDS_ARCHIVE="${CDS_ARCHIVE:-$app_dir/app-cds.jsa}" AOT_CACHE="${AOT_CACHE:-$app_dir/app.aot}"
rm -f "$CDS_ARCHIVE" "$AOT_CACHE"
# JDK 25 and newer: an AOT cache (JEP 483/514, one training run); older JDKs: a dynamic AppCDS archive.
java_major="$( (java -XshowSettings:properties -version 2>&1 || true) | sed -n 's/^ *java.specification.version = //p')"
java_major="${java_major:-0}" # a native image has no java

# A training run must not need a GPU, a network or a model download.
export SAPIENS_EXECUTION_PROVIDER=cpu SAPIENS_MODEL_URI= SAPIENS_MODEL_PRESET= SAPIENS_MODEL_PATH= \
  QUARKUS_HTTP_PORT="$port" QUARKUS_SHUTDOWN_DELAY_ENABLED=false
training_opts="-XX:ArchiveClassesAtExit=$CDS_ARCHIVE -Xlog:cds=error"
archive="$CDS_ARCHIVE"
mode="${TRAINING_ARCHIVE:-auto}" # auto, or cds / aot to choose (deploy/cold-start-benchmark.sh compares them)
if [[ "$mode" == aot || ( "$mode" == auto && "${java_major%%.*}" -ge 25 ) ]]; then
  training_opts="-XX:AOTCacheOutput=$AOT_CACHE -Xlog:aot=error -Xlog:cds=error"
  archive="$AOT_CACHE"
fi
[[ -x "$app_dir/application" ]] && training_opts=""
JAVA_OPTS="$training_opts ${JAVA_OPTS:-}" "$here/run-java.sh" &
pid=$!

http() { # method path [body-file content-type] -> status line; bash's /dev/tcp, as images have no curl
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  if [[ $# -gt 2 ]]; then
    printf '%s %s HTTP/1.0\r\nce-specversion: 1.0\r\nce-id: training\r\nce-source: /training\r\nce-type: sapiens.segment\r\nContent-Type: %s\r\nContent-Length: %s\r\n\r\n' \
      "$1" "$2" "$4" "$(stat -c %s "$3")" >&3
    cat "$3" >&3
  else
    printf '%s %s HTTP/1.0\r\n\r\n' "$1" "$2" >&3
  fi
  head -n 1 <&3
  exec 3>&-
}

ready=""
for _ in $(seq 1 240); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "training run: the application exited before it was ready" >&2
    exit 1
  fi
  if http GET /q/health/ready 2>/dev/null | grep -q ' 200'; then
    ready=yes
    break
  fi
  sleep 0.5
done
if [[ -z "$ready" ]]; then
  kill -KILL "$pid" || true
  echo "training run: not ready after 120 s" >&2
  exit 1
fi
status="$(http POST / "$picture" image/jpeg)"
echo "training run: segmented $(basename "$picture"): $status"
kill -TERM "$pid"
wait "$pid" || true
if [[ -n "$training_opts" && ! -s "$archive" ]]; then
  echo "training run: no class-data-sharing archive or AOT cache was written ($archive)" >&2
  exit 1
fi
[[ "$status" == *" 200"* ]] || { echo "training run: the picture was not segmented" >&2; exit 1; }
echo "training run: done${training_opts:+, archive $archive ($(stat -c %s "$archive") bytes)}"
