#!/usr/bin/env bash
# Fails when a shared library needs a library the dynamic linker cannot find (ldd prints "not found"): run at image
# build time on ONNX Runtime's natives, so that a CUDA provider missing cuBLAS, cuRAND or a CUDA runtime of the right
# major version breaks the build instead of a GPU pod at its first start. The folder itself is searched first, as
# ONNX Runtime loads its providers from beside libonnxruntime. libcuda.so.1 is the driver: the NVIDIA container
# runtime mounts it into the container when it starts, so it is never in an image and is not asked for.
# Libraries loaded later with dlopen (cuDNN) are not in ldd's view: name their sonames in REQUIRED_SONAMES, and they
# must be known to the dynamic linker's cache (ldconfig -p).
#   usage: check-natives-resolve.sh <folder> [library ...]   (no library named: every *.so in the folder)
set -euo pipefail
dir="${1:?folder with the shared libraries}"
shift
libs=("$@")
if [[ ${#libs[@]} -eq 0 ]]; then
  for lib in "$dir"/*.so; do [[ -f "$lib" ]] && libs+=("$(basename "$lib")"); done
fi
if [[ ${#libs[@]} -eq 0 ]]; then
  echo "no shared libraries in $dir" >&2
  exit 1
fi
# ONNX Runtime's Java binding loads libonnxruntime.so itself before the others, and the dynamic linker then satisfies
# its soname (libonnxruntime.so.1, which the JNI library names) with it: say so to ldd.
sonames="$(mktemp -d)"
trap 'rm -rf "$sonames"' EXIT
if [[ -f "$dir/libonnxruntime.so" ]]; then
  ln -s "$(realpath "$dir/libonnxruntime.so")" "$sonames/libonnxruntime.so.1"
fi
status=0
for name in "${libs[@]}"; do
  lib="$dir/$name"
  if [[ ! -f "$lib" ]]; then
    echo "$lib is missing" >&2
    status=1
    continue
  fi
  missing="$(LD_LIBRARY_PATH="$dir:$sonames${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$lib" 2>&1 \
    | grep 'not found' | grep -v 'libcuda\.so\.1 ' || true)"
  if [[ -n "$missing" ]]; then
    echo "$name does not resolve:" >&2
    echo "$missing" >&2
    status=1
  fi
done
known="$(ldconfig -p)" # read whole: grep -q on a pipe would stop early and fail it with SIGPIPE under pipefail
for soname in ${REQUIRED_SONAMES:-}; do
  if ! grep -q "^[[:space:]]*$soname " <<<"$known"; then
    echo "$soname is not in the dynamic linker's cache (ldconfig -p): ONNX Runtime would fail to load it" >&2
    status=1
  fi
done
[[ $status -eq 0 ]] && echo "${#libs[@]} libraries in $dir resolve all their dependencies${REQUIRED_SONAMES:+; found $REQUIRED_SONAMES}"
exit $status
