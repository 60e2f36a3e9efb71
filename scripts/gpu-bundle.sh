#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on the GPU machine, which has nvcc,
# CMake and ninja but not this project's libraries (Debian's protobuf,
# OpenBLAS, oneDNN, LMDB, OpenCV, HDF5, ZeroMQ...), nor the shared datasets:
#   .gpu-bundle/bundle.tar.xz  the CUDA build's test binary and tool,
#       stripped, with every shared library they load but glibc's and GCC's
#       runtime (SKIP below); GDAL, which OpenCV's image codecs load but
#       DeepSpark never calls, is a stub (scripts/gpu_bundle_libs.py says
#       why), which leaves out the ~55 libraries behind it;
#   .gpu-bundle/shared/  a shared folder (DEEPSPARK_SHARED_DIR there) with
#       MNIST's four IDX .gz files and Caffe's lenet_solver.prototxt and
#       lenet_train_test.prototxt: the GPU LeNet test and the 10,000-iteration
#       run of gpu-check.sh need them.
# With the repository it must fit the device tool's 64 MiB transfer: the
# script prints the total and fails above 60 MiB.
#
# Then, with the device tool: run(command="scripts/gpu-check.sh",
# carry=[".gpu-bundle"]). .gitignore lists .gpu-bundle/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
# shellcheck source=SCRIPTDIR/shared-dir.sh
source scripts/shared-dir.sh
cmake -S . -B build -G Ninja -DDEEPSPARK_CUDA=ON >/dev/null
ninja -C build deepspark_tests deepspark_tool
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bundle/lib"
cp build/deepspark_tests build/deepspark "$stage/bundle/"
strip "$stage/bundle/deepspark_tests" "$stage/bundle/deepspark"
# Libraries left to the machine (by path, as ldd resolves them here): glibc's
# and GCC's runtime, which its Python and PyTorch need too and which are
# likely newer there than Debian 12's (its Python is 3.12); every other
# library travels, in the version the binaries were built against.
SKIP="/(libc|libm|libpthread|libdl|librt|libresolv|libanl|libnsl|libnss_[a-z]+|libutil|libmvec"
SKIP+="|libthread_db|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so"
python3 scripts/gpu_bundle_libs.py "$stage/bundle/lib" build/deepspark_tests build/deepspark \
  --skip "$SKIP" --stub libgdal.so.32
# Every library the bundled binaries load must now come from the bundle or
# be one of the machine's: ldd with the bundle first in the search path.
stray="$(LD_LIBRARY_PATH="$stage/bundle/lib" ldd "$stage/bundle/deepspark_tests" \
  "$stage/bundle/deepspark" | awk '/=>/ {print $3}' | sort -u |
  grep -v "^$stage/bundle/lib/" | grep -v -E "$SKIP" || true)"
[ -z "$stray" ] || { echo "gpu-bundle: not bundled: $stray" >&2; exit 1; }
LD_LIBRARY_PATH="$stage/bundle/lib" "$stage/bundle/deepspark" --help > /dev/null
mkdir -p .gpu-bundle
tar -C "$stage" -cf - bundle | xz -9e -T0 > .gpu-bundle/bundle.tar.xz.tmp
mv .gpu-bundle/bundle.tar.xz.tmp .gpu-bundle/bundle.tar.xz

# The shared folder, laid out as $SHARED is (tests/test_util.hpp's SharedDir).
rm -rf .gpu-bundle/shared
mkdir -p .gpu-bundle/shared/datasets/mnist .gpu-bundle/shared/caffe-zoo/bvlc/examples/mnist
cp "$SHARED"/datasets/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz \
  .gpu-bundle/shared/datasets/mnist/
cp "$SHARED"/caffe-zoo/bvlc/examples/mnist/lenet_{solver,train_test}.prototxt \
  .gpu-bundle/shared/caffe-zoo/bvlc/examples/mnist/

# What the device tool carries: the working tree's tracked and untracked,
# not ignored files, and .gpu-bundle.
tree_bytes="$(git ls-files -z --cached --others --exclude-standard |
  xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')"
bundle_bytes="$(du -sb .gpu-bundle | cut -f1)"
total=$((tree_bytes + bundle_bytes))
awk -v b="$(stat -c %s .gpu-bundle/bundle.tar.xz)" -v s="$(du -sb .gpu-bundle/shared | cut -f1)" \
  -v t="$tree_bytes" -v all="$total" 'BEGIN {
    m = 1048576
    printf "gpu-bundle: bundle.tar.xz %.1f MiB, shared/ %.1f MiB, tree %.1f MiB: %.1f MiB of 64\n",
      b / m, s / m, t / m, all / m }'
((total < 60 * 1048576)) || { echo "gpu-bundle: over 60 MiB" >&2; exit 1; }
