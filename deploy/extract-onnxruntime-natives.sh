#!/usr/bin/env bash
# Unpacks ONNX Runtime's native libraries (CPU or CUDA build, whichever jar the app was packaged with) once, at image
# build time, so that a cold start does not extract them again from the jar (600 MB for the CUDA provider).
# The app then runs with -Donnxruntime.native.path=<dest>. With --strip-jar the jar is rewritten without its natives
# (every platform's), so the image ships them once: ONNX Runtime never reads them from the jar when the path is set.
#   usage: extract-onnxruntime-natives.sh <folder with the app's jars> <dest> [--strip-jar]
set -euo pipefail
app="${1:?folder with the app (target/quarkus-app or target/native-sources)}"
dest="${2:?destination folder}"
strip="${3:-}"
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

if [[ "$strip" == --strip-jar ]]; then
  before=$(stat -c %s "$jar_file")
  mkdir "$work/all"
  (cd "$work/all" && jar xf "$jar_file" && rm -rf ai/onnxruntime/native)
  # M: keep the jar's own META-INF/MANIFEST.MF as it is instead of writing a new one.
  jar cfM "$work/stripped.jar" -C "$work/all" .
  cp "$work/stripped.jar" "$jar_file"
  echo "$(basename "$jar_file"): natives removed, $before -> $(stat -c %s "$jar_file") bytes"
elif [[ -n "$strip" ]]; then
  echo "unknown option $strip (expected --strip-jar)" >&2
  exit 2
fi
