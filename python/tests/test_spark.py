"""deepspark.spark.train end to end: local[4], a standalone cluster on
loopback (a master and 2 workers started from pyspark's own Spark), a
worker killed mid-job, an executor JVM killed mid-job, and the checks made
before training (too little data, rows of the wrong shape, too few task
slots). Small MNIST subsets and short jobs keep these to a minute or two
each on a small machine."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import logging

import deepspark
import deepspark.spark

from conftest import MNIST, REPO, ZOO

sys.path.insert(0, os.path.join(REPO, "examples", "spark"))
import train_mnist  # noqa: E402

pytestmark = pytest.mark.slow

SOLVER = os.path.join(ZOO, "bvlc", "examples", "mnist", "lenet_solver.prototxt")
CAFFE_ROOT = os.path.join(ZOO, "bvlc")
FIRST100 = os.path.join(ZOO, "trained", "mnist_test_first100_lmdb")

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def _session(master, extra=None):
    from pyspark.sql import SparkSession
    b = (SparkSession.builder.master(master).appName("deepspark-test")
         .config("spark.ui.enabled", "false")
         .config("spark.driver.memory", "1g")
         .config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.executorEnv.PYTHONPATH", os.environ.get("PYTHONPATH", ""))
         .config("spark.executorEnv.OPENBLAS_NUM_THREADS", "1"))
    for k, v in (extra or {}).items():
        b = b.config(k, v)
    return b.getOrCreate()


def _train(spark, workers, tmp_path, limit=2000, max_iter=200, **kw):
    df = train_mnist.mnist_dataframe(spark, MNIST, limit)
    caffemodel, net = deepspark.spark.train(
        df, SOLVER, workers, shape=(1, 28, 28), max_iter=max_iter, test_source=FIRST100,
        test_iter=1, test_interval=0, workdir=str(tmp_path / "job"), solver_cwd=CAFFE_ROOT, **kw)
    assert os.path.exists(caffemodel)
    out = net.forward()
    return caffemodel, float(out["accuracy"])


def test_local4(tmp_path):
    spark = _session("local[4]")
    try:
        _, acc = _train(spark, 4, tmp_path)
    finally:
        spark.stop()
    assert acc > 0.9
    # The default feed streams each partition into a record file: no LMDB
    # anywhere (the tasks' own files are gone with them).
    assert not [f for f in os.listdir(tmp_path / "job") if "lmdb" in f]
    assert os.path.exists(tmp_path / "job" / "driver_train.records")


def test_rdd_of_arrays_through_lmdb(tmp_path):
    """An RDD of (array, label) pairs, fed the Caffe way: each task writes
    an LMDB of Datums (feed="lmdb")."""
    spark = _session("local[2]")
    try:
        images = train_mnist.read_idx(os.path.join(MNIST, "train-images-idx3-ubyte.gz"))[:1000]
        labels = train_mnist.read_idx(os.path.join(MNIST, "train-labels-idx1-ubyte.gz"))[:1000]
        rdd = spark.sparkContext.parallelize(
            [(images[i], int(labels[i])) for i in range(len(labels))], 3)
        caffemodel, net = deepspark.spark.train(
            rdd, SOLVER, 2, max_iter=100, test_source=FIRST100, test_iter=1, test_interval=0,
            workdir=str(tmp_path / "job"), solver_cwd=CAFFE_ROOT, verbose=False, feed="lmdb")
        with pytest.raises(ValueError, match="feed must be"):
            deepspark.spark.train(rdd, SOLVER, 2, feed="hdfs")
    finally:
        spark.stop()
    assert float(net.forward()["accuracy"]) > 0.8
    assert os.path.isdir(tmp_path / "job" / "driver_train_lmdb")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def standalone_cluster(tmp_path):
    import pyspark
    spark_home = os.environ.get("SPARK_HOME") or os.path.dirname(pyspark.__file__)
    spark_class = os.path.join(spark_home, "bin", "spark-class")
    port = _free_port()
    url = "spark://127.0.0.1:%d" % port
    env = dict(os.environ, SPARK_HOME=spark_home, SPARK_LOCAL_IP="127.0.0.1",
               SPARK_WORKER_DIR=str(tmp_path / "work"))
    procs = []
    logs = []

    def start(args, name):
        log = open(tmp_path / (name + ".log"), "w")
        logs.append(log)
        procs.append(subprocess.Popen([spark_class] + args, env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True))

    start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
           "--webui-port", str(_free_port())], "master")
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.5)
    for i in range(2):
        start(["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
               "--memory", "768m", "--webui-port", str(_free_port()), url], "worker%d" % i)
    try:
        yield url
    finally:
        for p in reversed(procs):  # our own processes, each by its group id
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        for log in logs:
            log.close()


def test_standalone_cluster(standalone_cluster, tmp_path):
    spark = _session(standalone_cluster, {"spark.executor.memory": "512m",
                                          "spark.executor.cores": "1",
                                          "spark.cores.max": "2"})
    try:
        # Wait for both executors: a barrier stage needs all its slots at once.
        sc = spark.sparkContext
        deadline = time.time() + 90
        while time.time() < deadline and sc._jsc.sc().getExecutorMemoryStatus().size() < 3:
            time.sleep(1)
        _, acc = _train(spark, 2, tmp_path, limit=2000, max_iter=200)
    finally:
        spark.stop()
    assert acc > 0.9


def test_worker_killed_mid_job(tmp_path):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    killed = []

    def killer():
        deadline = time.time() + 120
        pid_file = pid_dir / "rank1.pid"
        while time.time() < deadline and not pid_file.exists():
            time.sleep(0.2)
        if not pid_file.exists():
            return
        time.sleep(3)  # let it train a while
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass

    spark = _session("local[3]")
    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        caffemodel, acc = _train(spark, 3, tmp_path, limit=1500, max_iter=400,
                                 heartbeat_timeout_ms=2000, pid_dir=str(pid_dir))
    finally:
        spark.stop()
    t.join(timeout=5)
    assert killed, "the worker ended before it could be killed"
    assert os.path.exists(caffemodel)
    assert acc > 0.8


def _rows(n, side=28):
    return [(bytearray(np.full(side * side, i % 256, np.uint8).tobytes()), i % 10)
            for i in range(n)]


def test_too_little_data_fails_before_training(tmp_path):
    spark = _session("local[2]")
    try:
        df = spark.createDataFrame(_rows(1), "image binary, label int")
        with pytest.raises(ValueError, match=r"partition \d of 2 has no rows \(1 rows in all"):
            deepspark.spark.train(df, SOLVER, 2, shape=(1, 28, 28), max_iter=10,
                                  workdir=str(tmp_path / "job"), solver_cwd=CAFFE_ROOT)
    finally:
        spark.stop()
    assert not (tmp_path / "job" / "endpoint").exists(), "a server was started"


def test_rows_of_the_wrong_shape_fail_before_training(tmp_path):
    spark = _session("local[2]")
    try:
        rows = _rows(20)
        rows[13] = (bytearray(100), 3)
        df = spark.createDataFrame(spark.sparkContext.parallelize(rows, 2),
                                   "image binary, label int")
        with pytest.raises(ValueError, match=r"partition 1 of 2: row 3: cannot reshape"):
            deepspark.spark.train(df, SOLVER, 2, shape=(1, 28, 28), max_iter=10,
                                  workdir=str(tmp_path / "job"), solver_cwd=CAFFE_ROOT)
        # Without a shape, each row's own is inferred: 784 and 100 values
        # are two shapes in one partition.
        with pytest.raises(ValueError, match=r"row 3 has an image of shape \(1, 10, 10\)"):
            deepspark.spark.train(df, SOLVER, 2, max_iter=10,
                                  workdir=str(tmp_path / "job"), solver_cwd=CAFFE_ROOT)
    finally:
        spark.stop()


def test_too_few_task_slots_fail_fast(tmp_path):
    spark = _session("local[1]")
    try:
        df = spark.createDataFrame(_rows(40), "image binary, label int")
        started = time.time()
        with pytest.raises(deepspark.DeepSparkError,
                           match=r"needs 3 task slots at once .* offers 1 after 2 s"):
            deepspark.spark.train(df, SOLVER, 3, shape=(1, 28, 28), max_iter=10,
                                  workdir=str(tmp_path / "job"), solver_cwd=CAFFE_ROOT,
                                  slot_wait_s=2)
        assert time.time() - started < 60
    finally:
        spark.stop()


def test_rerun_into_the_same_workdir(tmp_path):
    spark = _session("local[2]")
    try:
        for _ in range(2):
            _train(spark, 2, tmp_path, limit=500, max_iter=30)
        # The last run's metrics, as a DataFrame.
        metrics = deepspark.spark.job_metrics(spark, str(tmp_path / "job"))
        events = [r["event"] for r in metrics.select("event").collect() if r["event"]]
        assert events.count("join") == 2 and events.count("end") == 1, events
    finally:
        spark.stop()


def _ancestor(pid, marker):
    """The nearest ancestor of pid whose command line contains marker."""
    while pid > 1:
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if marker in f.read():
                    return pid
        except (OSError, ValueError, IndexError):
            return None
    return None


def test_executor_killed_mid_job(standalone_cluster, tmp_path, caplog):
    """The executor JVM running worker 1 is killed (SIGKILL) while it trains:
    Spark retries that task on a new executor, its worker rejoins rank 1, and
    the job finishes with the center saved."""
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    killed = []

    def killer():
        pid_file = pid_dir / "rank1.pid"
        deadline = time.time() + 180
        while time.time() < deadline and not pid_file.exists():
            time.sleep(0.2)
        if not pid_file.exists():
            return
        time.sleep(4)  # let it train a while
        jvm = _ancestor(int(pid_file.read_text()), b"CoarseGrainedExecutorBackend")
        if jvm:
            os.kill(jvm, signal.SIGKILL)
            killed.append(jvm)

    spark = _session(standalone_cluster, {"spark.executor.memory": "512m",
                                          "spark.executor.cores": "1",
                                          "spark.cores.max": "2",
                                          "spark.task.maxFailures": "4"})
    caplog.set_level(logging.INFO, logger="deepspark.spark")
    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        caffemodel, acc = _train(spark, 2, tmp_path, limit=2000, max_iter=600,
                                 heartbeat_timeout_ms=3000, pid_dir=str(pid_dir),
                                 slot_wait_s=90)
    finally:
        spark.stop()
    t.join(timeout=5)
    assert killed, "worker 1 ended before its executor could be killed"
    assert "worker 1 finished on attempt 1" in caplog.text, caplog.text[-3000:]
    assert os.path.exists(caffemodel)
    assert acc > 0.9
