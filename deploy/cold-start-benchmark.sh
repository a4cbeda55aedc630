#!/usr/bin/env bash
# Measures time to ready (process start -> /q/health/ready 200) of the packaged app, alternating two ways to start:
#   plain     java -jar quarkus-run.jar (natives unpacked from the jars at every start, no CDS archive)
#   prepared  run-java.sh after extract-onnxruntime-natives.sh and training-run.sh (what the images do)
# Prints each run and the medians. usage: deploy/cold-start-benchmark.sh [rounds]   (after mvn package)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=1 SAPIENS_MODEL_DEMO_PATH="$PWD/models/demo/sapiens-palette-demo.onnx"
export APP_DIR="$PWD/target/quarkus-app" ORT_NATIVE_DIR="$work/ort" JAVACPP_CACHE_DIR="$work/javacpp" \
  CDS_ARCHIVE="$work/app.jsa"
deploy/extract-onnxruntime-natives.sh "$APP_DIR" "$ORT_NATIVE_DIR" >/dev/null
deploy/training-run.sh samples/figure.jpg >/dev/null 2>&1

port=8097
ready_ms() { # command... -> milliseconds until ready
  local start pid
  start=$(date +%s%N)
  QUARKUS_HTTP_PORT=$port "$@" >/dev/null 2>&1 &
  pid=$!
  until (exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /q/health/ready HTTP/1.0\r\n\r\n' >&3 && head -n 1 <&3) 2>/dev/null \
      | grep -q ' 200'; do
    sleep 0.02
  done
  echo $(( ($(date +%s%N) - start) / 1000000 ))
  kill -TERM $pid; wait $pid || true
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

plain=() prepared=()
for i in $(seq 1 "$rounds"); do
  tmp="$work/tmp$i"; mkdir -p "$tmp"
  p=$(ready_ms java -Djava.io.tmpdir="$tmp" -Dorg.bytedeco.javacpp.cachedir="$tmp/javacpp" -jar "$APP_DIR/quarkus-run.jar")
  q=$(ready_ms deploy/run-java.sh)
  echo "round $i: plain $p ms, prepared $q ms"
  plain+=("$p"); prepared+=("$q")
done
mp=$(printf '%s\n' "${plain[@]}" | median); mq=$(printf '%s\n' "${prepared[@]}" | median)
echo "median time to ready: plain $mp ms, prepared $mq ms ($(awk -v a="$mp" -v b="$mq" 'BEGIN {printf "%.2f", a / b}')x)"
