#!/usr/bin/env bash
# Container entry point: starts the function (or, with arguments such as `segment …`, the batch command) with the
# start-up aids prepared at image build time: ONNX Runtime's natives already unpacked, OpenCV's natives already in
# JavaCPP's cache, and the class-data-sharing archive of a training run when there is one.
set -euo pipefail
app_dir="${APP_DIR:-/deployments}"
ort_dir="${ORT_NATIVE_DIR:-/opt/onnxruntime}"
javacpp_cache="${JAVACPP_CACHE_DIR:-/opt/javacpp-cache}"
cds_archive="${CDS_ARCHIVE:-$app_dir/app-cds.jsa}"

opts=(-Donnxruntime.native.path="$ort_dir" -Dorg.bytedeco.javacpp.cachedir="$javacpp_cache")
if [[ -x "$app_dir/application" ]]; then
  # Native executable: no JVM options apply.
  exec "$app_dir/application" "${opts[@]}" "$@"
fi
if [[ -f "$cds_archive" ]]; then
  opts+=(-XX:SharedArchiveFile="$cds_archive" -Xlog:cds=off -Xlog:cds+dynamic=off)
fi
# JAVA_OPTS: heap and GC settings for the pod (the default sizes the heap from the container's memory limit).
# An OutOfMemoryError leaves a JVM in an unknown state: exit, so the kubelet restarts the container, instead of
# serving on half-broken. (sapiens.limits.memory-budget keeps legal requests away from it.)
# shellcheck disable=SC2086
exec java -XX:MaxRAMPercentage="${JAVA_MAX_RAM_PERCENTAGE:-50}" -XX:+ExitOnOutOfMemoryError "${opts[@]}" ${JAVA_OPTS:-} \
  -jar "$app_dir/quarkus-run.jar" "$@"
