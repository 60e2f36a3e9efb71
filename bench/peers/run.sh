#!/usr/bin/env bash
# Side-by-side training-step speed: DeepSpark vs BVLC Caffe vs libtorch, on stock
# Caffe zoo nets whose Data layers are swapped for DummyData (make_bench_net.py).
#
# Usage: bench/peers/run.sh [REPS] [ITERS]
#   REPS        rounds per (net, threads); the engines take turns within a round
#               so slow drifts of the machine (thermal, neighbours) hit all alike
#   ITERS       timed iterations per run for the small nets (default 20)
# Env:
#   DEEPSPARK   deepspark binary (default build/deepspark)
#   CAFFE       BVLC `caffe` binary; Caffe columns are "-" when unset
#   TORCH_TIME  torch_time binary (default build/bench/peers/torch_time if built)
#   THREADS     thread counts to try (default "1 2")
#   NETS        "net:batch ..." (default lenet:64 cifar10_quick:100
#               bvlc_alexnet:32 bvlc_googlenet:16)
#   ITERS_BIG   iterations for alexnet/googlenet (default min(ITERS, 5))
#   ENGINE      when set, passed to deepspark as --engine=$ENGINE
#   DATA_FILLER constant (default) or gaussian; see make_bench_net.py for why
#   OUT         output folder (default build/bench/peers): nets/, results.json
#   RUN_TIMEOUT seconds before one run is abandoned (default 1800)
# Stdout: a markdown table of medians; progress goes to stderr.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/peers"
REPS="${1:-3}"
ITERS="${2:-20}"
ITERS_BIG="${ITERS_BIG:-$((ITERS < 5 ? ITERS : 5))}"
DEEPSPARK="${DEEPSPARK:-$ROOT/build/deepspark}"
CAFFE="${CAFFE:-}"
TORCH_TIME="${TORCH_TIME:-$ROOT/build/bench/peers/torch_time}"
[ -x "$TORCH_TIME" ] || TORCH_TIME=""
THREADS="${THREADS:-1 2}"
NETS="${NETS:-lenet:64 cifar10_quick:100 bvlc_alexnet:32 bvlc_googlenet:16}"
ENGINE="${ENGINE:-}"
DATA_FILLER="${DATA_FILLER:-constant}"
OUT="${OUT:-$ROOT/build/bench/peers}"
RUN_TIMEOUT="${RUN_TIMEOUT:-1800}"
# shellcheck source=SCRIPTDIR/../../scripts/shared-dir.sh
source "$ROOT/scripts/shared-dir.sh"
ZOO="$SHARED/caffe-zoo/bvlc"

[ -x "$DEEPSPARK" ] || { echo "run.sh: no deepspark binary at $DEEPSPARK" >&2; exit 1; }
mkdir -p "$OUT/nets"
RAW="$OUT/raw.tsv"
: > "$RAW"

# net name -> zoo prototxt and per-image C H W (batch comes from NETS).
net_source() {
  case "$1" in
    lenet)          echo "$ZOO/examples/mnist/lenet_train_test.prototxt 1 28 28" ;;
    cifar10_quick)  echo "$ZOO/examples/cifar10/cifar10_quick_train_test.prototxt 3 32 32" ;;
    bvlc_alexnet)   echo "$ZOO/models/bvlc_alexnet/train_val.prototxt 3 227 227" ;;
    bvlc_googlenet) echo "$ZOO/models/bvlc_googlenet/train_val.prototxt 3 224 224" ;;
    *) return 1 ;;
  esac
}

# Each runner prints the mean forward+backward ms of one run, or nothing on failure.
# OPENBLAS_NUM_THREADS / OMP_NUM_THREADS are set for every engine: it is Caffe's
# only thread knob, and libtorch's Linear layers go through OpenBLAS, which
# torch::set_num_threads does not reach.
run_deepspark() {  # model threads iters
  local engine_flag=()
  [ -n "$ENGINE" ] && engine_flag=(--engine="$ENGINE")
  OPENBLAS_NUM_THREADS=$2 OMP_NUM_THREADS=$2 timeout "$RUN_TIMEOUT" "$DEEPSPARK" time \
    --model="$1" --iterations="$3" --threads="$2" "${engine_flag[@]}" 2>&1 \
    | sed -nE 's/.*forward_backward_ms=([0-9.eE+-]+).*/\1/p' | tail -1
}
run_caffe() {  # model threads iters
  OPENBLAS_NUM_THREADS=$2 OMP_NUM_THREADS=$2 timeout "$RUN_TIMEOUT" "$CAFFE" time \
    --model="$1" --iterations="$3" 2>&1 \
    | sed -nE 's/.*Average Forward-Backward: ([0-9.eE+-]+) ms.*/\1/p' | tail -1
}
run_torch() {  # net batch threads iters
  OPENBLAS_NUM_THREADS=$3 OMP_NUM_THREADS=$3 timeout "$RUN_TIMEOUT" "$TORCH_TIME" \
    --net="$1" --batch="$2" --threads="$3" --iterations="$4" 2>&1 \
    | sed -nE 's/.*forward_backward_ms=([0-9.eE+-]+).*/\1/p' | tail -1
}

# record net batch threads engine rep ms  (an empty ms means the run failed; it is
# kept, as null in results.json, so a failing engine still shows up in the table)
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$RAW"
  if [ -n "$6" ]; then
    echo "  $4 rep $5: $6 ms" >&2
  else
    echo "  $4 rep $5: FAILED (run it by hand to see why)" >&2
  fi
}

echo "deepspark: $DEEPSPARK${ENGINE:+ --engine=$ENGINE}" >&2
echo "caffe:     ${CAFFE:-(unset, skipped)}" >&2
echo "torch:     ${TORCH_TIME:-(not built, skipped)}" >&2

for spec in $NETS; do
  net="${spec%%:*}"; batch="${spec##*:}"
  read -r src c h w < <(net_source "$net") || { echo "run.sh: unknown net $net" >&2; exit 1; }
  model="$OUT/nets/${net}_b${batch}.prototxt"
  python3 "$HERE/make_bench_net.py" "$src" "$model" "$batch" "$c" "$h" "$w" \
    --data-filler="$DATA_FILLER" || exit 1
  case "$net" in
    bvlc_alexnet|bvlc_googlenet) iters=$ITERS_BIG; torch_ok=0 ;;
    *) iters=$ITERS; torch_ok=1 ;;  # torch_time only knows lenet and cifar10_quick
  esac
  for t in $THREADS; do
    echo "$net batch=$batch threads=$t iterations=$iters" >&2
    for ((r = 0; r < REPS; r++)); do
      record "$net" "$batch" "$t" deepspark "$r" "$(run_deepspark "$model" "$t" "$iters")"
      [ -n "$CAFFE" ] && record "$net" "$batch" "$t" caffe "$r" "$(run_caffe "$model" "$t" "$iters")"
      [ -n "$TORCH_TIME" ] && [ $torch_ok = 1 ] &&
        record "$net" "$batch" "$t" torch "$r" "$(run_torch "$net" "$batch" "$t" "$iters")"
    done
  done
done

# Medians, ratios (>1: DeepSpark is faster), the table and results.json.
python3 - "$RAW" "$OUT/results.json" "$REPS" "$ITERS" "$ITERS_BIG" "$DATA_FILLER" \
  "$DEEPSPARK" "$CAFFE" "$TORCH_TIME" "$ENGINE" <<'PY'
import json, statistics, sys
raw, out, reps, iters, iters_big, filler, ds, caffe, torch, engine = sys.argv[1:]
runs, keys = [], []
for line in open(raw):
    net, batch, threads, eng, rep, ms = line.rstrip("\n").split("\t")
    runs.append(dict(net=net, batch=int(batch), threads=int(threads), engine=eng,
                     rep=int(rep), ms=float(ms) if ms else None))
    if (net, int(batch), int(threads)) not in keys:
        keys.append((net, int(batch), int(threads)))
def med(key, eng):
    v = [r["ms"] for r in runs if (r["net"], r["batch"], r["threads"]) == key
         and r["engine"] == eng and r["ms"] is not None]
    return statistics.median(v) if v else None
fmt = lambda x, p=2: "-" if x is None else f"{x:.{p}f}"
summary = []
print("| net | batch | threads | caffe ms | torch ms | deepspark ms | caffe/deepspark | torch/deepspark |")
print("|---|---|---|---|---|---|---|---|")
for key in keys:
    c, t, d = med(key, "caffe"), med(key, "torch"), med(key, "deepspark")
    rc = c / d if c and d else None
    rt = t / d if t and d else None
    summary.append(dict(net=key[0], batch=key[1], threads=key[2], caffe_ms=c, torch_ms=t,
                        deepspark_ms=d, caffe_over_deepspark=rc, torch_over_deepspark=rt))
    print(f"| {key[0]} | {key[1]} | {key[2]} | {fmt(c)} | {fmt(t)} | {fmt(d)} | {fmt(rc)} | {fmt(rt)} |")
config = dict(reps=int(reps), iterations=int(iters), iterations_big=int(iters_big),
              data_filler=filler, deepspark=ds, caffe=caffe or None, torch_time=torch or None,
              engine=engine or None)
json.dump(dict(config=config, summary=summary, runs=runs), open(out, "w"), indent=1)
PY
echo "raw numbers: $OUT/results.json" >&2
