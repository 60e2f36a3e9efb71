#!/usr/bin/env bash
# Benchmarks `deepspark time` alone on stock Caffe nets (LeNet, cifar10_quick) with
# their TRAIN Data layers replaced by DummyData of the same shapes, so no LMDB is
# needed. bench/peers/run.sh times the same nets beside Caffe and libtorch.
# Usage: bench/run_time.sh [REPS] [ITERATIONS]   (env: DEEPSPARK, ZOO, OUT)
# Prints a markdown table of medians over REPS runs for --threads=1 and --threads=2.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPS="${1:-5}"
ITERS="${2:-20}"
DEEPSPARK="${DEEPSPARK:-$ROOT/build/deepspark}"
source "$ROOT/scripts/shared-dir.sh"
ZOO="${ZOO:-$SHARED/caffe-zoo/bvlc/examples}"
OUT="${OUT:-$ROOT/build/bench}"
mkdir -p "$OUT"

# make_model SRC DST N C H W: the Data layers become one DummyData layer
# (bench/peers/make_bench_net.py; gaussian data, as this script always used).
make_model() {
  python3 "$ROOT/bench/peers/make_bench_net.py" "$@" --data-filler=gaussian
}

make_model "$ZOO/mnist/lenet_train_test.prototxt" "$OUT/lenet_bench.prototxt" 64 1 28 28
make_model "$ZOO/cifar10/cifar10_quick_train_test.prototxt" "$OUT/cifar10_quick_bench.prototxt" 100 3 32 32

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

echo "| net | batch | threads | forward ms | backward ms | forward+backward ms | runs |"
echo "|---|---|---|---|---|---|---|"
for spec in "lenet:64" "cifar10_quick:100"; do
  net="${spec%%:*}"; batch="${spec##*:}"
  for t in 1 2; do
    : > "$OUT/${net}_t$t.txt"
    for ((r = 0; r < REPS; r++)); do
      "$DEEPSPARK" time --model="$OUT/${net}_bench.prototxt" --iterations="$ITERS" --threads="$t" \
        2>&1 | grep 'forward_backward_ms=' | tail -1 >> "$OUT/${net}_t$t.txt"
    done
    f=$(sed -E 's/.*forward_ms=([0-9.]+).*/\1/' "$OUT/${net}_t$t.txt" | median)
    b=$(sed -E 's/.* backward_ms=([0-9.]+).*/\1/' "$OUT/${net}_t$t.txt" | median)
    fb=$(sed -E 's/.*forward_backward_ms=([0-9.]+).*/\1/' "$OUT/${net}_t$t.txt" | median)
    echo "| $net | $batch | $t | $f | $b | $fb | $REPS x $ITERS it |"
  done
done
