#!/usr/bin/env bash
# Fails when a shared library needs a library the dynamic linker cannot find (ldd prints "not found"): run at image
# build time on ONNX Runtime's natives, so that a CUDA provider missing cuBLAS, cuRAND or a CUDA runtime of the right
# major version breaks the build instead of a GPU pod at its first start. The folder itself is searched first, as
# ONNX Runtime loads its providers from beside libonnxruntime. libcuda.so.1 is the driver: the NVIDIA container
# runtime mounts it into the container when it starts, so it is never in an image and is not asked for.
# Libraries loaded later with dlopen (cuDNN by the CUDA provider, libnvinfer_plugin.so.10 by the TensorRT provider) are
# not in ldd's view: name their sonames in REQUIRED_SONAMES. Each must be known to the dynamic linker's cache
# (ldconfig -p), and its own dependencies must resolve, as dlopen loads them too and fails as a whole otherwise.
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
# The dependencies of a library that ldd cannot find, but the driver's (mounted when the container starts); all of
# ldd's output when it cannot read the library at all (no such file, not a shared library of this machine).
unresolved() {
  local out
  if ! out="$(LD_LIBRARY_PATH="$dir:$sonames${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$1" 2>&1)"; then
    echo "${out:-ldd failed on $1}"
    return
  fi
  grep 'not found' <<<"$out" | grep -v 'libcuda\.so\.1 ' || true
}
status=0
for name in "${libs[@]}"; do
  lib="$dir/$name"
  if [[ ! -f "$lib" ]]; then
    echo "$lib is missing" >&2
    status=1
    continue
  fi
  missing="$(unresolved "$lib")"
  if [[ -n "$missing" ]]; then
    echo "$name does not resolve:" >&2
    echo "$missing" >&2
    status=1
  fi
done
known="$(ldconfig -p)" # read whole: grep -q on a pipe would stop early and fail it with SIGPIPE under pipefail
for soname in ${REQUIRED_SONAMES:-}; do
  # "<tab>libcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9": every path the cache has for it.
  paths="$(awk -v soname="$soname" '$1 == soname { print $NF }' <<<"$known")"
  if [[ -z "$paths" ]]; then
    echo "$soname is not in the dynamic linker's cache (ldconfig -p): ONNX Runtime would fail to load it" >&2
    status=1
    continue
  fi
  while read -r path; do # one that resolves is enough (another may be for another ABI)
    where="$path"
    missing="$(unresolved "$path")"
    [[ -z "$missing" ]] && break
  done <<<"$paths"
  if [[ -n "$missing" ]]; then
    echo "$soname ($where) does not resolve, so loading it would fail:" >&2
    echo "$missing" >&2
    status=1
  fi
done
[[ $status -eq 0 ]] && echo "${#libs[@]} libraries in $dir resolve all their dependencies${REQUIRED_SONAMES:+; so do $REQUIRED_SONAMES}"
exit $status
