#!/usr/bin/env bash
# CI check of a native *sources* build (mvn package -Dquarkus.native.enabled=true -Dquarkus.native.sources-only=true):
# the inputs deploy/Dockerfile.native hands to Mandrel carry what ONNX Runtime and OpenCV need in a native image.
set -euo pipefail  # (grep without -q below: -q would close the pipe early and fail it)
dir="${1:-target/native-sources}"
fail() { echo "native sources: $*" >&2; exit 1; }

[[ -f "$dir/native-image.args" ]] || fail "no $dir/native-image.args (run the sources-only build first)"
args="$(tr ' ' '\n' < "$dir/native-image.args")"
grep -qx -- '--initialize-at-run-time=ai.onnxruntime' <<<"$args" \
  || fail "ONNX Runtime is not initialised at run time (quarkus.native.additional-build-args)"
runner="$(ls "$dir"/*-runner.jar)"
jar tf "$runner" | grep 'META-INF/native-image/dev.sapienseg/sapiens-seg-function/jni-config.json' >/dev/null \
  || fail "the JNI registrations for ONNX Runtime are not in $runner"
ls "$dir"/lib/*onnxruntime*.jar >/dev/null 2>&1 || fail "no ONNX Runtime jar in $dir/lib"
for lib in opencv javacpp openblas; do
  jar_file="$(ls "$dir"/lib/*"$lib"*linux-x86_64*.jar 2>/dev/null | head -n 1)"
  [[ -n "$jar_file" ]] || fail "no linux-x86_64 $lib natives in $dir/lib"
  jar tf "$jar_file" | grep 'META-INF/native-image/linux-x86_64/.*/jni-config.json' >/dev/null \
    || fail "$jar_file carries no native-image registrations"
done
# The Mandrel builder of deploy/Dockerfile.native must be the version the sources were generated for.
[[ -f "$dir/graalvm.version" ]] || fail "no $dir/graalvm.version"
wanted="$(cut -d. -f1 < "$dir/graalvm.version")"
dockerfile="$(dirname "$0")/Dockerfile.native"
builder="$(sed -n 's/^ARG MANDREL_IMAGE=.*:jdk-\([0-9]*\).*/\1/p' "$dockerfile")"
[[ "$builder" == "$wanted" ]] \
  || fail "$dockerfile builds with Mandrel jdk-${builder:-?}, but the sources were made for GraalVM $(cat "$dir/graalvm.version")"
echo "native sources OK: $(wc -l <<<"$args") native-image arguments, ONNX Runtime at run time, JNI registrations present, builder jdk-$builder"
