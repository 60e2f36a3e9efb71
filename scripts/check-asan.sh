#!/usr/bin/env bash
# The whole C++ suite under AddressSanitizer and UndefinedBehaviorSanitizer:
# every reader of files (prototxt, caffemodel, LMDB/LevelDB, IDX, Datum),
# every layer, the distributed tests and their fault-injection jobs, in their
# own build (build-asan/; ccache makes a rebuild cheap). The first error stops
# the run. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DDEEPSPARK_SANITIZE=address,undefined -DDEEPSPARK_BUILD_BENCH=OFF \
  -DDEEPSPARK_BUILD_PYTHON=OFF -DDEEPSPARK_CUDA=OFF >/dev/null
ninja -C build-asan deepspark_tests deepspark_tool
# allocator_may_return_null: an allocation that fails returns null (and our
# code throws "out of host memory", as tested) instead of ASan aborting.
# alloc_dealloc_mismatch=0: Debian's libzmq frees with free() what it
# allocated with new (nothrow) inside its own I/O threads; not ours to fix.
export ASAN_OPTIONS="abort_on_error=1 detect_leaks=1 allocator_may_return_null=1 \
alloc_dealloc_mismatch=0 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"
# Two engine threads per test, two tests at a time, on two cores: OpenMP's
# threads must sleep, not spin, while they wait (a spinning pair of
# processes made one 1-second test take 180 s).
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive
cd build-asan
ctest --output-on-failure -j2 --timeout 900 "$@"
