#!/usr/bin/env bash
# Unpacks ONNX Runtime's native libraries (CPU or CUDA build, whichever jar the app was packaged with) once, at image
# build time, so that a cold start does not extract them again from the jar (600 MB for the CUDA provider).
# The app then runs with -Donnxruntime.native.path=<dest>.
#   usage: extract-onnxruntime-natives.sh <folder with the app's jars> <dest>
set -euo pipefail
app="${1:?folder with the app (target/quarkus-app or target/native-sources)}"
dest="${2:?destination folder}"
arch="${ORT_NATIVE_ARCH:-linux-x64}"

jar_file="$(find "$app" -name 'com.microsoft.onnxruntime.onnxruntime*.jar' -o -name 'onnxruntime*.jar' | head -n 1)"
if [[ -z "$jar_file" ]]; then
  echo "no ONNX Runtime jar under $app" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jar_file="$(realpath "$jar_file")"
(cd "$work" && jar xf "$jar_file" "ai/onnxruntime/native/$arch")
if ! ls "$work/ai/onnxruntime/native/$arch"/libonnxruntime*.so >/dev/null 2>&1; then
  echo "$jar_file has no native libraries for $arch" >&2
  exit 1
fi
mkdir -p "$dest"
# Only the shared libraries: ONNX Runtime loads libonnxruntime, its JNI binding, and (CUDA build) the providers.
find "$work/ai/onnxruntime/native/$arch" -maxdepth 1 -name '*.so' -exec cp {} "$dest"/ \;
echo "ONNX Runtime natives from $(basename "$jar_file") -> $dest:"
ls -l "$dest"
