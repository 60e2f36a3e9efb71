#!/usr/bin/env bash
# Acceptance checks of distributed training on LeNet/MNIST with Caffe's stock
# solver (random_seed 1701), 4 asynchronous-EASGD workers:
#   1. an undisturbed run;
#   2. the same with worker 1 killed (SIGKILL) halfway: the job must finish
#      within 0.3 accuracy points of run 1;
#   3. the server killed (SIGKILL) after its 5,000-iteration snapshot and
#      restarted with --snapshot: the job must finish.
# Uses the LMDBs made by scripts/train-lenet.sh. ONLY_RESTART=1 runs check 3 alone. Takes about 20 minutes on 2 cores.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/shared-dir.sh"
DS="$ROOT/build/deepspark"
RUN="$ROOT/build/lenet-run"
W="${WORKERS:-4}"
cd "$RUN"
[ -d examples/mnist/mnist_train_lmdb ] || { echo "run scripts/train-lenet.sh first"; exit 1; }
mkdir -p faults
make_solver() {
  sed -e "s#snapshot_prefix: \"examples/mnist/lenet\"#snapshot_prefix: \"faults/$1\"#" \
    "$SHARED/caffe-zoo/bvlc/examples/mnist/lenet_solver.prototxt" > faults/$1.prototxt
  echo "random_seed: 1701" >> faults/$1.prototxt
}
# The center's final test accuracy, from a job's result file (PREFIX_result.json).
accuracy() {
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(next(s["value"] for s in r["scores"] if s["name"] == "accuracy"))' "$1"
}
# The center's iteration so far: the largest worker iteration in a job's
# metrics file (PREFIX_metrics.jsonl; the server advances the center to it).
center_iter() {
  python3 -c 'import json, sys
its = [json.loads(l).get("iter", 0) for l in open(sys.argv[1]) if l.strip()]
print(max(its, default=0))' "$1" 2>/dev/null || echo 0
}
# Join and rejoin events in a metrics file from line $2 on.
joins_from() {
  python3 -c 'import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
print(sum(json.loads(l).get("event") in ("join", "rejoin") for l in lines if l.strip()))' "$1" "$2"
}

if [ -z "${ONLY_RESTART:-}" ]; then
make_solver calm
"$DS" train --solver=faults/calm.prototxt --workers="$W" --threads=1 > faults/calm.out 2> faults/calm.log
A=$(accuracy faults/calm_result.json)
echo "1. undisturbed: accuracy $A"

make_solver killed
"$DS" train --solver=faults/killed.prototxt --workers="$W" --threads=1 \
  --heartbeat-timeout-ms=3000 > faults/killed.out 2> faults/killed.log &
JOB=$!
rm -f faults/killed_metrics.jsonl
until [ "$(center_iter faults/killed_metrics.jsonl)" -ge 5000 ] 2>/dev/null; do sleep 2; done
VICTIM=$(pgrep -f "key-file=faults/killed_job/job.key --rank=1" | head -1)
kill -9 "$VICTIM" && echo "2. killed worker 1 (pid $VICTIM) at center iteration $(center_iter faults/killed_metrics.jsonl)"
wait $JOB
B=$(accuracy faults/killed_result.json)
echo "2. with a worker killed: accuracy $B"
python3 -c "import sys; a,b=float('$A'),float('$B'); d=abs(a-b)*100; print(f'   difference {d:.2f} points:', 'OK' if d<=0.3 else 'TOO LARGE'); sys.exit(0 if d<=0.3 else 1)" || FAIL=1
fi

make_solver restart
KEY=faults/restart.key
rm -f $KEY faults/restart_iter_* faults/restart_metrics.jsonl
PORT=$((20000 + RANDOM % 20000))
rm -f faults/restart.endpoint
"$DS" server --solver=faults/restart.prototxt --workers="$W" --listen=tcp://127.0.0.1:$PORT \
  --key-file=$KEY --endpoint-file=faults/restart.endpoint > faults/restart_server1.out \
  2> faults/restart_server1.log &
SERVER=$!
until [ -f $KEY ] && [ -f faults/restart.endpoint ]; do sleep 0.5; done
PIDS=()
for i in $(seq 0 $((W - 1))); do
  "$DS" worker --server=tcp://127.0.0.1:$PORT --key-file=$KEY --rank=$i --threads=1 \
    2> faults/restart_worker$i.log &
  PIDS+=($!)
done
# Snapshots land at the first center iteration past each multiple of 5,000.
until STATE=$(ls faults/restart_iter_*.serverstate 2>/dev/null | head -1) && [ -n "$STATE" ]; do sleep 1; done
sleep 3
ALIVE=0
for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && ALIVE=$((ALIVE + 1)); done
kill -9 $SERVER; wait $SERVER 2>/dev/null
BEFORE_RESTART=$(wc -l < faults/restart_metrics.jsonl)
echo "3. killed the server after its snapshot $STATE, with $ALIVE of $W workers still training; restarting it from the snapshot"
[ "$ALIVE" -eq "$W" ] || { echo "   the workers finished before the kill: the check proves nothing"; FAIL=1; }
"$DS" server --solver=faults/restart.prototxt --workers="$W" --listen=tcp://127.0.0.1:$PORT \
  --key-file=$KEY --snapshot="$STATE" \
  > faults/restart_server2.out 2> faults/restart_server2.log
for p in "${PIDS[@]}"; do wait $p; done
C=$(accuracy faults/restart_result.json)
REJOINED=$(joins_from faults/restart_metrics.jsonl "$BEFORE_RESTART")
CENTER=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["center_iter"])' \
  faults/restart_result.json)
echo "3. after the server restart: $REJOINED worker(s) rejoined; center iteration $CENTER, accuracy $C"
[ "$CENTER" = 10000 ] && [ "$REJOINED" -ge 1 ] && [ -n "$C" ] || FAIL=1
exit ${FAIL:-0}
