# Sourced by scripts/check-spark.sh and bench/spark/parquet_routes.sh (ROOT
# set): the environment their Spark jobs run in (the build tree's package,
# this Python on driver and executors, pyspark's own Spark, 127.0.0.1), and
# a Spark standalone cluster on 127.0.0.1: a master and N Spark workers of C
# cores and M of memory each.
#   start_cluster LOGDIR N C M   sets URL (spark://127.0.0.1:PORT), WORKER_PIDS
#   stop_cluster                 stops every process it started
export PYTHONPATH="$ROOT/build/python${PYTHONPATH:+:$PYTHONPATH}"
export PYSPARK_PYTHON="${PYTHON:-python3}" PYSPARK_DRIVER_PYTHON="${PYTHON:-python3}"
export SPARK_LOCAL_IP=127.0.0.1
SPARK_HOME="${SPARK_HOME:-$("${PYTHON:-python3}" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}"
export SPARK_HOME

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_cluster() {  # logdir workers cores memory
  local port i
  port=$(free_port)
  URL="spark://127.0.0.1:$port"
  export SPARK_WORKER_DIR="$1/work"
  CLUSTER_PIDS=() WORKER_PIDS=()
  setsid "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 \
    --port "$port" --webui-port "$(free_port)" > "$1/master.log" 2>&1 &
  CLUSTER_PIDS+=($!)
  for _ in $(seq 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.5
  done
  for i in $(seq 0 $(( $2 - 1 ))); do
    setsid "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 \
      --cores "$3" --memory "$4" --webui-port "$(free_port)" "$URL" > "$1/worker$i.log" 2>&1 &
    CLUSTER_PIDS+=($!) WORKER_PIDS+=($!)
  done
}

stop_cluster() {
  local p
  for p in "${CLUSTER_PIDS[@]}"; do kill -- -"$p" 2>/dev/null; done
  wait 2>/dev/null
}
