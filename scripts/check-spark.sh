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
export PYTHONPATH="$ROOT/build/python${PYTHONPATH:+:$PYTHONPATH}"
export PYSPARK_PYTHON="${PYTHON:-python3}" PYSPARK_DRIVER_PYTHON="${PYTHON:-python3}"
export SPARK_LOCAL_IP=127.0.0.1
SPARK_HOME="${SPARK_HOME:-$("${PYTHON:-python3}" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}"
export SPARK_HOME
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ "${ONLY:-local}" = local ] || [ -z "${ONLY:-}" ]; then
  rm -f "$OUT/local_job/result.json"  # a stale one must not pass the check
  start=$(date +%s)
  (cd "$OUT" && "$SPARK_HOME/bin/spark-submit" --master 'local[4]' "${CONF[@]}" \
     "$ROOT/examples/spark/train_mnist.py" --workers 4 --workdir "$OUT/local_job") \
     > "$OUT/local.log" 2>&1
  check "local[4]" "$OUT/local_job" "$OUT/local.log" $(( $(date +%s) - start ))
fi

if [ "${ONLY:-standalone}" = standalone ] || [ -z "${ONLY:-}" ]; then
  PORT=$(free_port)
  URL="spark://127.0.0.1:$PORT"
  export SPARK_WORKER_DIR="$OUT/work"
  PIDS=()
  setsid "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 \
    --port "$PORT" --webui-port "$(free_port)" > "$OUT/master.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.5
  done
  for i in 0 1; do
    setsid "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 \
      --cores 2 --memory 3g --webui-port "$(free_port)" "$URL" > "$OUT/worker$i.log" 2>&1 &
    PIDS+=($!)
  done
  rm -f "$OUT/standalone_job/result.json"
  start=$(date +%s)
  (cd "$OUT" && "$SPARK_HOME/bin/spark-submit" --master "$URL" "${CONF[@]}" \
     --conf spark.executor.cores=2 --conf spark.cores.max=4 --conf spark.executor.memory=2g \
     "$ROOT/examples/spark/train_mnist.py" --workers 4 --workdir "$OUT/standalone_job") \
     > "$OUT/standalone.log" 2>&1
  check "standalone (master + 2 workers on 127.0.0.1)" "$OUT/standalone_job" "$OUT/standalone.log" \
    $(( $(date +%s) - start ))
  grep -h "Registering worker\|Registered app\|Launching executor" "$OUT/master.log" | sed 's/^/   master: /' | head -6
  for p in "${PIDS[@]}"; do kill -- -"$p" 2>/dev/null; done
  wait 2>/dev/null
fi
exit $FAIL
