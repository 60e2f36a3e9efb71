#!/usr/bin/env bash
# The GPU checks, in one call on a machine with a GPU (the lent H200; see
# DEVELOPERS.md, "The GPU machine"): builds the CUDA tree unless build/ has
# one, queries the devices, runs the GPU tests (the Gpu* suites of
# deepspark_tests, and the tests named *Gpu*: on a machine without a GPU
# they report SKIPPED or check the refusal), then
# issue 9's measurements, and prints a short table last:
#   - LeNet trained on MNIST to 10,000 iterations on the GPU with Caffe's
#     lenet_solver.prototxt (test accuracy at the end, or the iteration it
#     reached within its time);
#   - training-step times of bench/nets/ (LeNet b64, cifar10_quick b100,
#     AlexNet b128, ResNet-50 b32, DummyData inputs): `deepspark time --gpu=0`
#     (forward+backward, as Caffe's `caffe time`) and `deepspark train --gpu=0`
#     (whole steps, update included), beside PyTorch on the same nets, batch
#     and card (bench/peers/torch_steps.py: eager, and CUDA graphs) where
#     python3 has torch.
# Without a GPU every GPU step fails or skips in seconds and the table says
# why. Files: $OUT (default build/gpu-check): device-query.txt, gpu-tests.json
# (GoogleTest's report), gpu-tests.log, bench.jsonl (the measurements),
# bench.log (their logs), table.md.
#
# The datasets: the bundle carries MNIST and Caffe's two LeNet prototxts in
# .gpu-bundle/shared/ (scripts/gpu-bundle.sh), which becomes
# DEEPSPARK_SHARED_DIR; elsewhere the usual rule (scripts/shared-dir.sh).
#
# Time: the device call allows 10 minutes; the stages share BUDGET seconds
# (default 510), each capped so that the ones after it keep their share.
#
# Usage: scripts/gpu-check.sh            (OUT=... to choose the folder;
#        PYTHON=... the interpreter with torch, default python3)
# On the lent machine: scripts/gpu-bundle.sh here first, then the device
# tool's run(command="OUT=$OUT scripts/gpu-check.sh", carry=[".gpu-bundle"]).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-build/gpu-check}"
mkdir -p "$OUT"
ROOT="$PWD"
BUDGET="${BUDGET:-510}"
PYTHON="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# stage_limit CAP RESERVE: seconds the next stage may take: CAP, or fewer so
# that RESERVE seconds of BUDGET stay for the stages after it (at least 10).
stage_limit() {
  local left=$((BUDGET - SECONDS - $2))
  if ((left < $1)); then echo $((left > 10 ? left : 10)); else echo "$1"; fi
}

# The binaries: from .gpu-bundle/bundle.tar.xz (scripts/gpu-bundle.sh, made
# where the project's libraries are installed) when it is there, else a CUDA
# build here.
TOOL=build/deepspark
TESTS=build/deepspark_tests
if [ -f .gpu-bundle/bundle.tar.xz ]; then
  unpack="$work/unpack"
  mkdir -p "$unpack"
  xz -dc .gpu-bundle/bundle.tar.xz | tar -C "$unpack" -xf - || { echo "gpu-check: bad bundle" >&2; exit 1; }
  # The bundle's libraries for its two binaries alone, through wrappers:
  # exported to this script, they would be Python's too (torch, the table),
  # and they are Debian's, older than some of the machine's.
  mkdir -p "$unpack/bin"
  for binary in deepspark deepspark_tests; do
    printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' \
      "$unpack/bundle/lib" "$unpack/bundle/$binary" > "$unpack/bin/$binary"
    chmod +x "$unpack/bin/$binary"
  done
  TOOL="$unpack/bin/deepspark"
  TESTS="$unpack/bin/deepspark_tests"
  export DEEPSPARK_TOOL_PATH="$TOOL"
  # cuBLAS from the machine's toolkit or from PyTorch's wheel, whichever is there.
  if [ -z "${DEEPSPARK_CUBLAS:-}" ]; then
    for f in /usr/local/cuda/lib64/libcublas.so.13 \
             $(python3 -c 'import nvidia.cublas, os; print(os.path.join(nvidia.cublas.__path__[0], "lib", "libcublas.so.13"))' 2>/dev/null); do
      if [ -f "$f" ]; then export DEEPSPARK_CUBLAS="$f"; break; fi
    done
  fi
  # cuDNN likewise (the convolutions fall back to im2col + cuBLAS without it,
  # saying so once).
  if [ -z "${DEEPSPARK_CUDNN:-}" ]; then
    for f in /usr/local/cuda/lib64/libcudnn.so.9 \
             $(python3 -c 'import nvidia.cudnn, os; print(os.path.join(nvidia.cudnn.__path__[0], "lib", "libcudnn.so.9"))' 2>/dev/null); do
      if [ -f "$f" ]; then export DEEPSPARK_CUDNN="$f"; break; fi
    done
  fi
  # MNIST and the LeNet prototxts, for the GPU LeNet test and the 10k run.
  [ -d .gpu-bundle/shared ] && export DEEPSPARK_SHARED_DIR="$ROOT/.gpu-bundle/shared"
elif ! grep -q "CMAKE_CUDA_COMPILER:" build/CMakeCache.txt 2>/dev/null || [ ! -x "$TESTS" ]; then
  cmake -S . -B build -G Ninja -DDEEPSPARK_CUDA=ON -DDEEPSPARK_BUILD_BENCH=OFF >/dev/null &&
    ninja -C build deepspark_tests deepspark_tool || { echo "gpu-check: build failed" >&2; exit 1; }
fi
echo "tool: $TOOL; cuBLAS: ${DEEPSPARK_CUBLAS:-found by the loader}; cuDNN: ${DEEPSPARK_CUDNN:-found by the loader}"

timeout 60 "$TOOL" device-query > "$OUT/device-query.txt" 2>&1
query_rc=$?
cat "$OUT/device-query.txt"
timeout "$(stage_limit 150 330)" \
  "$TESTS" --gtest_filter='*Gpu*:ComputeMode*' --gtest_output="json:$OUT/gpu-tests.json" \
  > "$OUT/gpu-tests.log" 2>&1
tests_rc=$?
tail -n 30 "$OUT/gpu-tests.log"
((tests_rc == 124)) && echo "gpu-check: the GPU tests ran out of time" | tee -a "$OUT/gpu-tests.log"

# --- Issue 9's measurements. Each result is one JSON line in bench.jsonl
# (record KEY=VALUE...: numbers stay numbers); the logs go to bench.log.
: > "$OUT/bench.jsonl"
: > "$OUT/bench.log"
record() {
  python3 - "$@" >> "$OUT/bench.jsonl" <<'PY'
import json, sys
out = {}
for arg in sys.argv[1:]:
    key, value = arg.split("=", 1)
    try:
        out[key] = int(value)
    except ValueError:
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
print(json.dumps(out))
PY
}
# why RC LOG LIMIT: one line on why a run gave no number.
why() {
  if (($1 == 124)); then echo "timed out after $3 s"; return; fi
  local line
  line="$(grep -E "Error|error|what\(\)|FAIL|GPU|device|Check failed|Aborted" "$2" | tail -n 1)"
  [ -n "$line" ] || line="$(tail -n 1 "$2")"
  echo "exit $1: ${line:0:200}"
}
# log_run TITLE LOG: appends one run's log to bench.log.
log_run() { { echo "=== $1"; cat "$2"; echo; } >> "$OUT/bench.log"; }

# DeepSpark on each bench net: `time` (forward+backward, Caffe's measure;
# its one warm-up pass runs first) and `train` (whole steps: the solver's
# iter/s over its last `display` iterations: the first display is at
# iteration 0, so the iterations before the last display warm up).
# NAME FILE BATCH TIME_ITERATIONS TRAIN_ITERATIONS DISPLAY
BENCH_NETS=(
  "lenet lenet_b64.prototxt 64 200 400 100"
  "cifar10_quick cifar10_quick_b100.prototxt 100 200 400 100"
  "alexnet alexnet_b128.prototxt 128 10 30 10"
  "resnet50 resnet50_b32.prototxt 32 5 10 5"
)
for spec in "${BENCH_NETS[@]}"; do
  read -r net file batch time_iters train_iters display <<< "$spec"
  log="$work/$net.log"
  limit="$(stage_limit 60 200)"
  timeout "$limit" "$TOOL" time --model="bench/nets/$file" --iterations="$time_iters" --gpu=0 \
    > "$log" 2>&1
  rc=$?
  log_run "deepspark time $net (rc $rc)" "$log"
  fb="$(sed -n 's/.*forward_backward_ms=\([0-9.]*\).*/\1/p' "$log" | tail -n 1)"
  if ((rc == 0)) && [ -n "$fb" ]; then
    record engine=deepspark net="$net" batch="$batch" mode=time ms="$fb" iterations="$time_iters"
  else
    record engine=deepspark net="$net" batch="$batch" mode=time error="$(why $rc "$log" "$limit")"
  fi
  # No snapshot: AlexNet's would be 240 MB of nothing.
  cat > "$work/$net.solver" <<SOLVER
net: "$ROOT/bench/nets/$file"
base_lr: 0.01
momentum: 0.9
weight_decay: 0.0005
lr_policy: "fixed"
max_iter: $train_iters
display: $display
snapshot_after_train: false
solver_mode: GPU
SOLVER
  limit="$(stage_limit 60 200)"
  timeout "$limit" "$TOOL" train --solver="$work/$net.solver" --gpu=0 > "$log" 2>&1
  rc=$?
  log_run "deepspark train $net (rc $rc)" "$log"
  per_s="$(sed -n 's/.*Iteration [0-9]* (\([0-9.e+]*\) iter\/s.*/\1/p' "$log" | tail -n 1)"
  if ((rc == 0)) && [ -n "$per_s" ] && [ "$per_s" != 0 ]; then
    record engine=deepspark net="$net" batch="$batch" mode=train \
      ms="$(python3 -c "print(1000 / $per_s)")" iterations="$display"
  else
    record engine=deepspark net="$net" batch="$batch" mode=train error="$(why $rc "$log" "$limit")"
  fi
done

# PyTorch on the same nets, batches and card, in one process (torch's import
# and cuDNN's start-up once).
if "$PYTHON" -c "import torch" 2>/dev/null; then
  limit="$(stage_limit 120 100)"
  timeout "$limit" "$PYTHON" bench/peers/torch_steps.py --device cuda --graphs \
    >> "$OUT/bench.jsonl" 2> "$work/torch.log"
  rc=$?
  log_run "bench/peers/torch_steps.py (rc $rc)" "$work/torch.log"
  # A failed run's reason, unless the script wrote one itself (no CUDA).
  ((rc == 0)) || grep '"engine": "pytorch"' "$OUT/bench.jsonl" | grep -v '"net"' | grep -q error ||
    record engine=pytorch error="$(why $rc "$work/torch.log" "$limit")"
else
  record engine=pytorch error="no torch in $PYTHON"
fi

# LeNet to 10,000 iterations, as scripts/train-lenet.sh with one worker:
# Caffe's solver and net unchanged, run from a folder laid out like Caffe's
# (their paths are examples/mnist/...), the LMDBs made by the tool's
# convert-mnist. It runs last and gets the time left.
# shellcheck source=SCRIPTDIR/shared-dir.sh
source scripts/shared-dir.sh
lenet="$work/lenet"
mkdir -p "$lenet/examples/mnist"
log="$work/lenet.log"
start=$SECONDS
limit="$(stage_limit 180 10)"
(
  cd "$lenet" &&
    cp "$SHARED/caffe-zoo/bvlc/examples/mnist/lenet_solver.prototxt" \
      "$SHARED/caffe-zoo/bvlc/examples/mnist/lenet_train_test.prototxt" examples/mnist/ &&
    "$TOOL" convert-mnist "$SHARED/datasets/mnist/train-images-idx3-ubyte.gz" \
      "$SHARED/datasets/mnist/train-labels-idx1-ubyte.gz" examples/mnist/mnist_train_lmdb &&
    "$TOOL" convert-mnist "$SHARED/datasets/mnist/t10k-images-idx3-ubyte.gz" \
      "$SHARED/datasets/mnist/t10k-labels-idx1-ubyte.gz" examples/mnist/mnist_test_lmdb &&
    timeout "$limit" "$TOOL" train --solver=examples/mnist/lenet_solver.prototxt --gpu=0
) > "$log" 2>&1
rc=$?
log_run "LeNet 10,000 iterations (rc $rc)" "$log"
iteration="$(sed -n 's/.*Iteration \([0-9]*\)[ ,(].*/\1/p' "$log" | tail -n 1)"
tested_at="$(sed -n 's/.*Iteration \([0-9]*\), Testing net.*/\1/p' "$log" | tail -n 1)"
accuracy="$(sed -n 's/.*Test net output #[0-9]*: accuracy = \([0-9.e-]*\).*/\1/p' "$log" |
  tail -n 1)"
args=(engine=deepspark-lenet iteration="${iteration:-0}" seconds=$((SECONDS - start)))
[ -n "$accuracy" ] && args+=(accuracy="$accuracy" tested_at="$tested_at")
((rc == 0)) || args+=(error="$(why $rc "$log" "$limit")")
record "${args[@]}"

python3 scripts/gpu_check_table.py "$OUT" "$query_rc" "$tests_rc" | tee "$OUT/table.md"
exit "$tests_rc"
