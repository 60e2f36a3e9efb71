#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang, with ASan and UBSan, in
# build-fuzz/) and runs each for at most FUZZ_RUNS executions or FUZZ_SECONDS
# seconds, whichever comes first (default 10,000,000 and 900), two at a time.
# Seeds: the zoo's prototxts, weights and solver states (../shared/caffe-zoo)
# and what make_fuzz_seeds writes. Corpora and findings go to build-fuzz/corpus
# and build-fuzz/findings; a summary line per target to build-fuzz/summary.txt.
# Usage: scripts/fuzz.sh [TARGET...]   (default: all of tests/fuzz/fuzz_*.cc)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/shared-dir.sh"
cd "$ROOT"
RUNS=${FUZZ_RUNS:-10000000}
SECONDS_EACH=${FUZZ_SECONDS:-900}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDEEPSPARK_FUZZ=ON -DDEEPSPARK_SANITIZE=address,undefined -DDEEPSPARK_BUILD_TESTS=OFF \
  -DDEEPSPARK_BUILD_BENCH=OFF -DDEEPSPARK_BUILD_PYTHON=OFF -DDEEPSPARK_CUDA=OFF >/dev/null || exit 1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cc; do targets+=("$(basename "$f" .cc)"); done
fi
ninja -C build-fuzz make_fuzz_seeds "${targets[@]}" || exit 1

C=build-fuzz/corpus
mkdir -p "$C" build-fuzz/findings
build-fuzz/make_fuzz_seeds "$C/seeds" || exit 1
seed() {  # seed TARGET PREFIX_BYTE FILE
  mkdir -p "$C/$1"
  { printf "\\x$(printf %02x "$2")"; cat "$3"; } > "$C/$1/zoo_$(basename "$3")_$2"
}
for f in $(find "$SHARED/caffe-zoo" -name '*.prototxt'); do
  if grep -q 'base_lr' "$f"; then seed fuzz_prototxt 1 "$f"; else seed fuzz_prototxt 0 "$f"; fi
done
for f in $(find "$SHARED/caffe-zoo" -name '*.caffemodel' -size -3M); do seed fuzz_weights 0 "$f"; done
for f in $(find "$SHARED/caffe-zoo" -name '*.solverstate' -size -3M); do seed fuzz_weights 1 "$f"; done
for t in datum db idx wire answers; do mkdir -p "$C/fuzz_$t"; cp "$C/seeds/$t"/* "$C/fuzz_$t/"; done
# Inputs that once failed (tests/fuzz/regressions/TARGET/): replayed first.
for d in tests/fuzz/regressions/fuzz_*/; do
  mkdir -p "$C/$(basename "$d")"
  cp "$d"* "$C/$(basename "$d")/"
done

export ASAN_OPTIONS="detect_leaks=1 allocator_may_return_null=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 DEEPSPARK_LOG_LEVEL=3
run() {
  local t=$1 log=build-fuzz/findings/$1.log
  mkdir -p "$C/$t" "build-fuzz/findings/$t"
  "build-fuzz/$t" "$C/$t" -runs="$RUNS" -max_total_time="$SECONDS_EACH" -timeout=20 \
    -rss_limit_mb=3072 -max_len=2097152 -artifact_prefix="build-fuzz/findings/$t/" \
    -print_final_stats=1 > "$log" 2>&1
  local rc=$?
  local execs; execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  local secs; secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*')
  echo "$t rc=$rc executions=${execs:-?} seconds=${secs:-?} corpus=$(ls "$C/$t" | wc -l) findings=$(ls "build-fuzz/findings/$t" | wc -l)"
}
: > build-fuzz/summary.txt
i=0
for t in "${targets[@]}"; do
  run "$t" >> build-fuzz/summary.txt &
  i=$((i + 1))
  if [ $((i % 2)) -eq 0 ]; then wait; fi
done
wait
cat build-fuzz/summary.txt
! grep -qv ' rc=0 ' build-fuzz/summary.txt
