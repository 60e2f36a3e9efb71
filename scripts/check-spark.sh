#!/usr/bin/env bash
# Acceptance runs of the Spark example at full length (Caffe's stock LeNet
# solver, 10,000 iterations per worker, 4 workers, async EASGD):
#   1. spark-submit --master 'local[4]' examples/spark/train_mnist.py --workers 4
#   2. the same job on a standalone cluster on loopback: a master and 2 Spark
#      workers (2 cores each) started from pyspark's own Spark, stopped after.
# Each job's result file (WORKDIR/result.json) must say a test accuracy of at
# least 0.985. Needs a build with
# -DDEEPSPARK_BUILD_PYTHON=ON (scripts/test.sh makes one). ONLY=local or
# ONLY=standalone runs one. About 10-15 minutes each on 2 cores.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/build/spark-check"
mkdir -p "$OUT"
source "$ROOT/scripts/spark-common.sh"
CONF=(--conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1
      --conf spark.driver.bindAddress=127.0.0.1 --conf spark.driver.memory=2g
      --conf "spark.executorEnv.PYTHONPATH=$PYTHONPATH"
      --conf spark.executorEnv.OPENBLAS_NUM_THREADS=1)
FAIL=0

# The center's final test accuracy from the job's result file (the server's
# test on the 10,000 test images), not from printed lines.
check() {  # name workdir log seconds
  local acc
  acc=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(next(s["value"] for s in r["scores"] if s["name"] == "accuracy") if r.get("ok") else "")' \
    "$2/result.json" 2>/dev/null)
  if [ -n "$acc" ] && python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.985 else 1)"; then
    echo "$1: test accuracy $acc (OK, >= 0.985), $4 s"
  else
    echo "$1: test accuracy '${acc}' FAILED (see $3 and $2/result.json)"
    FAIL=1
  fi
}

if [ "${ONLY:-local}" = local ] || [ -z "${ONLY:-}" ]; then
  rm -f "$OUT/local_job/result.json"  # a stale one must not pass the check
  start=$(date +%s)
  (cd "$OUT" && "$SPARK_HOME/bin/spark-submit" --master 'local[4]' "${CONF[@]}" \
     "$ROOT/examples/spark/train_mnist.py" --workers 4 --workdir "$OUT/local_job") \
     > "$OUT/local.log" 2>&1
  check "local[4]" "$OUT/local_job" "$OUT/local.log" $(( $(date +%s) - start ))
fi

if [ "${ONLY:-standalone}" = standalone ] || [ -z "${ONLY:-}" ]; then
  start_cluster "$OUT" 2 2 3g
  rm -f "$OUT/standalone_job/result.json"
  start=$(date +%s)
  (cd "$OUT" && "$SPARK_HOME/bin/spark-submit" --master "$URL" "${CONF[@]}" \
     --conf spark.executor.cores=2 --conf spark.cores.max=4 --conf spark.executor.memory=2g \
     "$ROOT/examples/spark/train_mnist.py" --workers 4 --workdir "$OUT/standalone_job") \
     > "$OUT/standalone.log" 2>&1
  check "standalone (master + 2 workers on 127.0.0.1)" "$OUT/standalone_job" "$OUT/standalone.log" \
    $(( $(date +%s) - start ))
  grep -h "Registering worker\|Registered app\|Launching executor" "$OUT/master.log" | sed 's/^/   master: /' | head -6
  stop_cluster
fi
exit $FAIL
