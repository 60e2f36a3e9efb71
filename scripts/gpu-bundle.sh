#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on the GPU machine, which has nvcc,
# CMake and ninja but not this project's libraries (Debian's protobuf,
# OpenBLAS, oneDNN, LMDB, OpenCV, HDF5, ZeroMQ...): the CUDA build's test
# binary and tool, stripped, with every shared library they load except
# glibc's and the few that image has, xz-compressed into
# .gpu-bundle/bundle.tar.xz (about 61 MB: with the repository it fits the
# device tool's 64 MiB transfer; the datasets do not, so the GPU LeNet
# training test skips there).
#
# Then, with the device tool: run(command="scripts/gpu-check.sh",
# carry=[".gpu-bundle"]). .gpu-bundle/ is listed in .git/info/exclude here.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DDEEPSPARK_CUDA=ON >/dev/null
ninja -C build deepspark_tests deepspark_tool
grep -q "^/.gpu-bundle/" .git/info/exclude 2>/dev/null || echo "/.gpu-bundle/" >> .git/info/exclude
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bundle/lib"
cp build/deepspark_tests build/deepspark "$stage/bundle/"
strip "$stage/bundle/deepspark_tests" "$stage/bundle/deepspark"
ldd build/deepspark_tests build/deepspark | awk '/=>/ {print $3}' | sort -u |
  grep -v -E "/(libc|libm|libpthread|libdl|librt|ld-linux-x86-64|libstdc\+\+|libgcc_s|libz|libcrypto|libssl|liblzma|libbz2|libzstd|libexpat|libgomp)\.so" |
  xargs -I{} cp -L {} "$stage/bundle/lib/"
mkdir -p .gpu-bundle
tar -C "$stage" -cf - bundle | xz -9 -T0 > .gpu-bundle/bundle.tar.xz.tmp
mv .gpu-bundle/bundle.tar.xz.tmp .gpu-bundle/bundle.tar.xz
ls -la .gpu-bundle/bundle.tar.xz
