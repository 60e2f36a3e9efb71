#!/usr/bin/env bash
# Benchmarks `deepspark time` on stock Caffe nets (LeNet, cifar10_quick) with their
# TRAIN Data layers replaced by DummyData of the same shapes, so no LMDB is needed.
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

# make_model SRC DST N C H W : drop every layer of type "Data" and prepend DummyData.
make_model() {
  python3 - "$@" <<'PY'
import re, sys
src, dst, n, c, h, w = sys.argv[1:]
text = open(src).read()
# Split into top-level "layer {" blocks by brace matching.
head_end = text.find("layer {")
header, rest = text[:head_end], text[head_end:]
blocks, depth, start = [], 0, None
for i, ch in enumerate(rest):
    if ch == "{":
        if depth == 0 and start is None:
            start = rest.rfind("layer", 0, i)
        depth += 1
    elif ch == "}":
        depth -= 1
        if depth == 0:
            blocks.append(rest[start:i + 1]); start = None
kept = [b for b in blocks if not re.search(r'^\s*type:\s*"Data"', b, re.M)]
dummy = f'''layer {{
  name: "data"
  type: "DummyData"
  top: "data"
  top: "label"
  dummy_data_param {{
    shape {{ dim: {n} dim: {c} dim: {h} dim: {w} }}
    shape {{ dim: {n} }}
    data_filler {{ type: "gaussian" std: 1 }}
    data_filler {{ type: "constant" value: 0 }}
  }}
}}'''
open(dst, "w").write(header + "\n".join([dummy] + kept) + "\n")
PY
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
