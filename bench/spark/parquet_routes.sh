#!/usr/bin/env bash
# The Parquet example (examples/spark/parquet_mnist.py: LeNet on MNIST as PNG
# bytes in Parquet, Caffe's stock solver, 4 workers) on a standalone cluster on
# 127.0.0.1 (a master and 2 Spark workers of 2 cores), once per feed, taking
# turns: "records" (each task streams its partition into a local record
# file) and "lmdb" (Caffe's route: each task writes an LMDB); a feed with
# "+kill" (records+kill) is the same job with one executor JVM killed
# (SIGKILL) KILL_AFTER seconds (120) into it: its two tasks are retried on
# the executor Spark starts in its place. For each: wall time, accuracy from
# the scored DataFrame, and the executors' peak memory (PSS) and local disk
# (bench/spark/peak_usage.py). Results: bench/results/spark_parquet.json and
# a table here.
#   FEEDS="records lmdb records+kill"  which runs, in order
#   MAX_ITER=N  shorter runs
# Needs a build with -DDEEPSPARK_BUILD_PYTHON=ON; run it on an idle machine.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/scripts/shared-dir.sh"
OUT="$ROOT/build/parquet-bench"
mkdir -p "$OUT"
# The executors' local folders (task files) in one place, to measure them.
export SPARK_LOCAL_DIRS="$OUT/local"
source "$ROOT/scripts/spark-common.sh"

[ -d "$OUT/mnist_parquet/test" ] || \
  python3 "$ROOT/examples/spark/parquet_mnist.py" --make-parquet "$OUT/mnist_parquet" \
    --mnist "$SHARED/datasets/mnist"
start_cluster "$OUT" 2 2 3g
FAIL=0
for run in ${FEEDS:-records lmdb records+kill}; do
  feed=${run%%+*}
  rm -rf "$OUT/local" "$OUT/job-$run" "$OUT/scored-$run" "$OUT/summary-$run.json"
  mkdir -p "$OUT/local"
  python3 "$ROOT/bench/spark/peak_usage.py" --out "$OUT/usage-$run.json" \
    $(printf -- '--root-pid %s ' "${WORKER_PIDS[@]}") --disk "$OUT/local" &
  sampler=$!
  killer=""
  if [ "$run" != "$feed" ]; then
    # The first executor JVM of this cluster, KILL_AFTER s in (training by then).
    (sleep "${KILL_AFTER:-120}"
     for p in $(pgrep -f CoarseGrainedExecutorBackend); do
       if readlink "/proc/$p/cwd" | grep -q "^$SPARK_WORKER_DIR/"; then
         kill -9 "$p" && echo "killed executor JVM $p at $(date +%T)" >> "$OUT/$run.kill"; break
       fi
     done) &
    killer=$!
  fi
  start=$(date +%s.%N)
  "$SPARK_HOME/bin/spark-submit" --master "$URL" \
    --conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 \
    --conf spark.driver.bindAddress=127.0.0.1 --conf spark.driver.memory=2g \
    --conf "spark.executorEnv.PYTHONPATH=$PYTHONPATH" \
    --conf spark.executorEnv.OPENBLAS_NUM_THREADS=1 \
    --conf spark.executor.cores=2 --conf spark.cores.max=4 --conf spark.executor.memory=2g \
    "$ROOT/examples/spark/parquet_mnist.py" --parquet "$OUT/mnist_parquet" \
    --out "file://$OUT/scored-$run" --feed "$feed" --workdir "$OUT/job-$run" \
    --summary "$OUT/summary-$run.json" ${MAX_ITER:+--max-iter "$MAX_ITER"} \
    > "$OUT/$run.log" 2>&1 || FAIL=1
  end=$(date +%s.%N)
  kill "$sampler"; wait "$sampler"
  [ -n "$killer" ] && { kill "$killer" 2>/dev/null; wait "$killer" 2>/dev/null; cat "$OUT/$run.kill" 2>/dev/null; }
  echo "$run: $(python3 -c "print(round($end - $start, 1))") s wall; $(tail -1 "$OUT/$run.log")"
  echo "{\"wall_s\": $(python3 -c "print(round($end - $start, 1))")}" > "$OUT/wall-$run.json"
done
stop_cluster

python3 - "$OUT" "$ROOT/bench/results/spark_parquet.json" ${FEEDS:-records lmdb records+kill} <<'PY'
import json, os, platform, sys
out, dest, feeds = sys.argv[1], sys.argv[2], sys.argv[3:]
def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else {}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
runs = {f: {**load("summary-%s.json" % f), **load("usage-%s.json" % f), **load("wall-%s.json" % f)}
        for f in feeds}
result = {"machine": {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release()},
          "cluster": "standalone on 127.0.0.1: master + 2 Spark workers x 2 cores, 4 DeepSpark workers",
          "max_iter": os.environ.get("MAX_ITER") or "solver's (10000)", "runs": runs}
os.makedirs(os.path.dirname(dest), exist_ok=True)
json.dump(result, open(dest + ".tmp", "w"), indent=1)
os.replace(dest + ".tmp", dest)
print("%-13s %8s %8s %10s %10s %14s %14s" % ("run", "wall s", "fit s", "accuracy", "center",
                                            "peak PSS MiB", "peak disk MiB"))
for f, r in runs.items():
    print("%-13s %8s %8s %10s %10s %14s %14s" % (f, r.get("wall_s"), round(r.get("fit_s", 0), 1),
          round(r.get("accuracy", 0), 4), round(r.get("center_accuracy", 0), 4),
          r.get("peak_pss_mib"), r.get("peak_disk_mib")))
PY
exit $FAIL
