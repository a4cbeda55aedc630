#!/usr/bin/env bash
# Measures time to ready (process start -> /q/health/ready 200) of the packaged app, alternating the ways to start
# in each round (the machine's noise hits all alike):
#   plain     java -jar quarkus-run.jar (natives unpacked from the jars at every start, no archive)
#   appcds    run-java.sh after extract-onnxruntime-natives.sh and a training run that writes an AppCDS archive
#             (what the images did on JDK 21)
#   aot       the same with JDK 25's AOT cache (JEP 483/514; what the JVM images do now)
# plain and appcds run on $JAVA_HOME's java (or the one on PATH); aot needs JDK 25+: AOT_JAVA_HOME (default
# /usr/lib/jvm/temurin-25-jdk-amd64); with a JDK 25 as JAVA_HOME the appcds column is JDK 25's AppCDS: the fair
# comparison of the two archives. Prints each round and the medians.
#   usage: deploy/cold-start-benchmark.sh [rounds]   (after mvn package)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
aot_home="${AOT_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=1 SAPIENS_MODEL_DEMO_PATH="$PWD/models/demo/sapiens-palette-demo.onnx"
export APP_DIR="$PWD/target/quarkus-app" ORT_NATIVE_DIR="$work/ort" JAVACPP_CACHE_DIR="$work/javacpp"
deploy/extract-onnxruntime-natives.sh "$APP_DIR" "$ORT_NATIVE_DIR" >/dev/null
base_path="$PATH"
[[ -n "${JAVA_HOME:-}" ]] && base_path="$JAVA_HOME/bin:$PATH"
# The training runs: one archive per way (each run removes only its own kind of file).
PATH="$base_path" TRAINING_ARCHIVE=cds CDS_ARCHIVE="$work/app.jsa" AOT_CACHE="$work/none.aot" deploy/training-run.sh samples/figure.jpg >/dev/null 2>&1
[[ -s "$work/app.jsa" ]] || { echo "the training run wrote no AppCDS archive" >&2; exit 1; }
aot=""
if [[ -x "$aot_home/bin/java" ]]; then
  PATH="$aot_home/bin:$PATH" TRAINING_ARCHIVE=aot CDS_ARCHIVE="$work/none.jsa" AOT_CACHE="$work/app.aot" deploy/training-run.sh samples/figure.jpg >/dev/null 2>&1
  [[ -s "$work/app.aot" ]] && aot=yes
fi

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

plain=() appcds=() aotc=()
for i in $(seq 1 "$rounds"); do
  tmp="$work/tmp$i"; mkdir -p "$tmp"
  p=$(PATH="$base_path" ready_ms java -Djava.io.tmpdir="$tmp" -Dorg.bytedeco.javacpp.cachedir="$tmp/javacpp" -jar "$APP_DIR/quarkus-run.jar")
  q=$(PATH="$base_path" CDS_ARCHIVE="$work/app.jsa" AOT_CACHE="$work/none.aot" ready_ms deploy/run-java.sh)
  line="round $i: plain $p ms, appcds $q ms"
  plain+=("$p"); appcds+=("$q")
  if [[ -n "$aot" ]]; then
    r=$(PATH="$aot_home/bin:$PATH" CDS_ARCHIVE="$work/none.jsa" AOT_CACHE="$work/app.aot" ready_ms deploy/run-java.sh)
    line+=", aot (JDK 25) $r ms"; aotc+=("$r")
  fi
  echo "$line"
done
mp=$(printf '%s\n' "${plain[@]}" | median); mq=$(printf '%s\n' "${appcds[@]}" | median)
summary="median time to ready on $(PATH="$base_path" java -version 2>&1 | head -n 1): plain $mp ms, appcds $mq ms"
summary+=" ($(awk -v a="$mp" -v b="$mq" 'BEGIN {printf "%.2f", a / b}')x)"
if [[ -n "$aot" ]]; then
  ma=$(printf '%s\n' "${aotc[@]}" | median)
  summary+="; aot (JDK 25) $ma ms ($(awk -v a="$mq" -v b="$ma" 'BEGIN {printf "%.2f", a / b}')x faster than appcds)"
fi
echo "$summary"
