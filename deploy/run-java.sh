#!/usr/bin/env bash
# Container entry point: starts the function (or, with arguments such as `segment …`, the batch command) with the
# start-up aids prepared at image build time: ONNX Runtime's natives already unpacked, OpenCV's natives already in
# JavaCPP's cache, and the class-data-sharing archive of a training run when there is one.
set -euo pipefail
app_dir="${APP_DIR:-/deployments}"
ort_dir="${ORT_NATIVE_DIR:-/opt/onnxruntime}"
javacpp_cache="${JAVACPP_CACHE_DIR:-/opt/javacpp-cache}"
cds_archive="${CDS_ARCHIVE:-$app_dir/app-cds.jsa}"
aot_cache="${AOT_CACHE:-$app_dir/app.aot}"

# OpenCV reads its own pixel cap from the environment once, when it loads (Java cannot set it): the configured limit.
if [[ -z "${OPENCV_IO_MAX_IMAGE_PIXELS:-}" ]]; then
  max_pixels="${SAPIENS_LIMITS_MAX_IMAGE_PIXELS:-50000000}"
  if [[ "${1:-}" == segment ]]; then
    max_pixels=100000000 # the batch command's --max-pixels default
    prev=""
    for arg in "$@"; do
      if [[ "$prev" == --max-pixels ]]; then max_pixels="$arg"; fi
      if [[ "$arg" == --max-pixels=* ]]; then max_pixels="${arg#--max-pixels=}"; fi
      prev="$arg"
    done
  fi
  export OPENCV_IO_MAX_IMAGE_PIXELS="$max_pixels"
fi

opts=(-Donnxruntime.native.path="$ort_dir" -Dorg.bytedeco.javacpp.cachedir="$javacpp_cache")
if [[ -x "$app_dir/application" ]]; then
  # Native executable: no JVM options apply.
  exec "$app_dir/application" "${opts[@]}" "$@"
fi
# The training run left one of these (training-run.sh): JDK 25's AOT cache (classes loaded and linked ahead of time,
# measured faster to ready than AppCDS: deploy/cold-start-benchmark.sh), or on older JDKs an AppCDS archive.
# The JVM's version from its release file (no extra JVM start): -XX:AOTCache needs JDK 25 (older JVMs refuse to start).
java_release="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/release"
java_major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$java_release" 2>/dev/null || true)"
if [[ -f "$aot_cache" && "${java_major:-0}" -ge 25 ]]; then
  opts+=(-XX:AOTCache="$aot_cache") # a cache this JVM cannot use is reported (warning) and skipped
elif [[ -f "$cds_archive" ]]; then
  opts+=(-XX:SharedArchiveFile="$cds_archive" -Xlog:cds=off -Xlog:cds+dynamic=off)
fi
# JAVA_OPTS: heap and GC settings for the pod (the default sizes the heap from the container's memory limit).
# An OutOfMemoryError leaves a JVM in an unknown state: exit, so the kubelet restarts the container, instead of
# serving on half-broken. (sapiens.limits.memory-budget keeps legal requests away from it.)
# shellcheck disable=SC2086
exec java -XX:MaxRAMPercentage="${JAVA_MAX_RAM_PERCENTAGE:-50}" -XX:+ExitOnOutOfMemoryError "${opts[@]}" ${JAVA_OPTS:-} \
  -jar "$app_dir/quarkus-run.jar" "$@"
