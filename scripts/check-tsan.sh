#!/usr/bin/env bash
# The distributed tests under ThreadSanitizer: the parameter server, its
# workers (as threads and as processes), the exchange rules under injected
# faults (also with the center split over shard servers) and the in-process
# network. Builds into build-tsan/ (ccache makes
# a rebuild cheap). Extra arguments go to the test binary.
#
# Everything runs with one OpenMP/BLAS thread: libgomp is not instrumented,
# so its barriers would read as races; the threads under test here are the
# server's and the workers' own.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DDEEPSPARK_SANITIZE=thread -DDEEPSPARK_BUILD_BENCH=OFF -DDEEPSPARK_BUILD_PYTHON=OFF -DDEEPSPARK_CUDA=OFF >/dev/null
ninja -C build-tsan deepspark_dist_tests
export TSAN_OPTIONS="halt_on_error=1 abort_on_error=1 second_deadlock_stack=1 \
suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
build-tsan/deepspark_dist_tests \
  --gtest_filter='Dist*:InProcess*:RulesTimesFaults/*:ShardServers/*async_easgd:ShardServers/*sync_easgd' "$@"
