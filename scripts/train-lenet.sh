#!/usr/bin/env bash
# The main job: installs, builds, converts MNIST to LMDB as Caffe's
# convert_mnist_data does, and trains LeNet with Caffe's stock
# lenet_solver.prototxt and lenet_train_test.prototxt (unchanged: they are
# run from a folder laid out like Caffe's, examples/mnist/...) with local
# workers (async EASGD), then prints the test accuracy of the final weights.
#   WORKERS=N  train with N local workers (default 2); WORKERS=1 trains in
#              one process, as Caffe's `caffe train` does
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/shared-dir.sh"
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh" deepspark_tool  # the tool only, not the test suite
DS="$ROOT/build/deepspark"
RUN="$ROOT/build/lenet-run"
mkdir -p "$RUN/examples/mnist"
cd "$RUN"
cp "$SHARED/caffe-zoo/bvlc/examples/mnist/lenet_solver.prototxt" \
   "$SHARED/caffe-zoo/bvlc/examples/mnist/lenet_train_test.prototxt" examples/mnist/
MNIST="$SHARED/datasets/mnist"
[ -d examples/mnist/mnist_train_lmdb ] || "$DS" convert-mnist \
  "$MNIST/train-images-idx3-ubyte.gz" "$MNIST/train-labels-idx1-ubyte.gz" examples/mnist/mnist_train_lmdb
[ -d examples/mnist/mnist_test_lmdb ] || "$DS" convert-mnist \
  "$MNIST/t10k-images-idx3-ubyte.gz" "$MNIST/t10k-labels-idx1-ubyte.gz" examples/mnist/mnist_test_lmdb
WORKERS=${WORKERS:-2}
if [ "$WORKERS" -gt 1 ]; then
  "$DS" train --solver=examples/mnist/lenet_solver.prototxt --workers="$WORKERS"
else
  "$DS" train --solver=examples/mnist/lenet_solver.prototxt
fi
echo "Scoring examples/mnist/lenet_iter_10000.caffemodel on the 10,000 test images:"
"$DS" test --model=examples/mnist/lenet_train_test.prototxt \
  --weights=examples/mnist/lenet_iter_10000.caffemodel --iterations=100 2>/dev/null \
  | sed -n 's/^accuracy = /test accuracy = /p'
