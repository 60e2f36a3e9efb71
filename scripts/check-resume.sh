#!/usr/bin/env bash
# Acceptance check: with a fixed random_seed and thread count, LeNet trained
# for 10,000 iterations in one go, and the same run snapshotted at 5,000 and
# resumed to 10,000, end with identical weights (byte-identical
# .caffemodel). Uses the LMDBs made by scripts/train-lenet.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/shared-dir.sh"
DS="$ROOT/build/deepspark"
RUN="$ROOT/build/lenet-run"
THREADS="${THREADS:-1}"
cd "$RUN"
[ -d examples/mnist/mnist_train_lmdb ] || { echo "run scripts/train-lenet.sh first"; exit 1; }
mkdir -p resume-check
for name in full part; do
  sed -e "s#snapshot_prefix: \"examples/mnist/lenet\"#snapshot_prefix: \"resume-check/$name\"#" \
      "$SHARED/caffe-zoo/bvlc/examples/mnist/lenet_solver.prototxt" > resume-check/$name.prototxt
  echo "random_seed: 1701" >> resume-check/$name.prototxt
done
# The interrupted run stops at 5,000 (max_iter 5000), then resumes to 10,000.
sed -i 's/max_iter: 10000/max_iter: 5000/' resume-check/part.prototxt
"$DS" train --solver=resume-check/full.prototxt --threads="$THREADS" 2> resume-check/full.log
"$DS" train --solver=resume-check/part.prototxt --threads="$THREADS" 2> resume-check/part.log
sed -i 's/max_iter: 5000/max_iter: 10000/' resume-check/part.prototxt
"$DS" train --solver=resume-check/part.prototxt --snapshot=resume-check/part_iter_5000.solverstate \
  --threads="$THREADS" 2> resume-check/resume.log
if cmp resume-check/full_iter_10000.caffemodel resume-check/part_iter_10000.caffemodel; then
  echo "resume check: the resumed run's weights equal the uninterrupted run's (byte-identical)"
else
  echo "resume check: FAILED, weights differ"; exit 1
fi
