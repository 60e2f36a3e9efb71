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


def test_reader_batches_sized_by_the_images():
    """A DataFrame is planned with reader batches of about 4 MB (from shape,
    else from its first row), never more rows than the session's setting,
    and the session's settings are left as they were."""
    from deepspark.spark import _READER_BATCH_CONFS, _read_batch_rows, _records
    spark = _session("local[1]")
    key = _READER_BATCH_CONFS[0]
    try:
        big = spark.createDataFrame([(bytes(16384), 1), (bytes(16384), 2)], ["image", "label"])
        assert _read_batch_rows(big, "image", (1, 128, 128)) == 256
        assert _read_batch_rows(big, "image", None) == 256  # measured on the first row
        floats = spark.createDataFrame([([0.5] * 1024, 0)], ["image", "label"])
        assert _read_batch_rows(floats, "image", None) == 512  # 1,024 doubles a row
        spark.conf.unset(key)
        assert [lbl for _, lbl in _records(big, "image", "label", (1, 128, 128)).collect()] \
            == [1, 2]
        assert spark.conf.get(key, None) is None
        spark.conf.set(key, "100")
        _records(big, "image", "label", (1, 128, 128))
        assert spark.conf.get(key) == "100"
    finally:
        spark.conf.unset(key)
        spark.stop()


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
        with pytest.raises(ValueError, match="gpu must be a device id"):
            deepspark.spark.train(rdd, SOLVER, 2, gpu="first")
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


def test_output_path_and_resume(tmp_path):
    """output_path (a Hadoop path, file:// here) gets the snapshots, the
    metrics, the result and the job's prototxt, each whole; a new job
    resumes from the snapshot there and goes on from its iteration."""
    import json
    spark = _session("local[2]")
    try:
        out = tmp_path / "cluster_fs" / "job"
        _train(spark, 2, tmp_path, limit=500, max_iter=60, output_path="file://" + str(out))
        files = set(os.listdir(out))
        assert {"center_iter_60.caffemodel", "center_iter_60.serverstate",
                "center_metrics.jsonl", "result.json", "solver.prototxt",
                "net.prototxt"} <= files, files
        assert not [f for f in files if f.endswith(".tmp")], files
        assert json.loads((out / "result.json").read_text())["center_iter"] == 60

        df = train_mnist.mnist_dataframe(spark, MNIST, 500)
        workdir = tmp_path / "resumed"
        _, net = deepspark.spark.train(
            df, SOLVER, 2, shape=(1, 28, 28), max_iter=100, test_source=FIRST100, test_iter=1,
            test_interval=0, workdir=str(workdir), solver_cwd=CAFFE_ROOT,
            resume_from="file://" + str(out / "center_iter_60.serverstate"))
        assert json.loads((workdir / "result.json").read_text())["center_iter"] == 100
        joins = [json.loads(line) for line in (workdir / "center_metrics.jsonl").open()
                 if '"join"' in line]
        assert joins and all(j["iter"] == 60 for j in joins), joins
        assert float(net.forward()["accuracy"]) > 0.8
        with pytest.raises(ValueError, match="must name a .serverstate"):
            deepspark.spark.train(df, SOLVER, 2, resume_from=str(out / "result.json"),
                                  workdir=str(tmp_path / "bad"), solver_cwd=CAFFE_ROOT)
    finally:
        spark.stop()


_TINY_NET = """name: "tiny"
layer { name: "data" type: "Data" top: "data" top: "label"
  data_param { source: "unused" batch_size: 32 backend: LMDB }
  transform_param { scale: 0.00390625 } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool"
  pooling_param { pool: MAX kernel_size: 8 stride: 8 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip"
  inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
"""


def _executor_side_pss(work_dir):
    """{pid: MiB of memory (PSS)} of the processes below the executor JVMs
    running in work_dir (the Spark workers' SPARK_WORKER_DIR): their
    Python workers and the DeepSpark workers those start."""
    sys.path.insert(0, os.path.join(REPO, "bench", "spark"))
    import peak_usage
    tree = peak_usage.children()
    out = {}
    for pid in [p for ps in tree.values() for p in ps]:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read()
            here = os.readlink("/proc/%d/cwd" % pid).startswith(work_dir)
        except OSError:
            continue
        if here and b"CoarseGrainedExecutorBackend" in cmd:
            for child in peak_usage.descendants(tree, pid):
                try:
                    with open("/proc/%d/cmdline" % child, "rb") as f:
                        name = f.read().split(b"\0")[:3]
                except OSError:
                    continue
                out[(child, b" ".join(name).decode(errors="replace")[-60:])] = \
                    peak_usage.pss_mib(child)
    return out


def test_partition_larger_than_executor_memory(standalone_cluster, tmp_path):
    """A Parquet dataset of 740 MB (45,000 random 128x128 images) on two
    executors of spark.executor.memory=512m: each partition streams into its
    worker's record file, and no process beside the executor JVMs (Python
    workers, DeepSpark workers) reaches a partition's size: their memory is
    the libraries they load plus a bounded stream, not the data."""
    import glob
    import re
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(3)
    rows_per_file, files = 22500, 2
    (tmp_path / "big").mkdir()
    for f in range(files):
        pixels = rng.integers(0, 256, size=(rows_per_file, 128 * 128), dtype=np.uint8)
        table = pa.table({"image": pa.array([p.tobytes() for p in pixels], pa.binary()),
                          "label": pa.array(rng.integers(0, 10, rows_per_file), pa.int32())})
        # Laid out as Spark's own writer would (parquet-mr: pages of about
        # 1 MB), not as one 370 MB row group of 16 MB pages.
        pq.write_table(table, str(tmp_path / "big" / ("part-%d.parquet" % f)),
                       row_group_size=4096, write_batch_size=64, use_dictionary=False)
        del pixels, table
    data_bytes = rows_per_file * files * 128 * 128
    (tmp_path / "net.prototxt").write_text(_TINY_NET)
    (tmp_path / "solver.prototxt").write_text(
        'net: "net.prototxt"\nbase_lr: 0.01\nlr_policy: "fixed"\nmax_iter: 20\n'
        'display: 10\nsnapshot_prefix: "tiny"\nsolver_mode: CPU\n')

    spark = _session(standalone_cluster, {"spark.executor.memory": "512m",
                                          "spark.executor.cores": "1", "spark.cores.max": "2"})
    peaks, stop = {}, threading.Event()

    def sample():
        while not stop.wait(0.25):
            for pid, mib in _executor_side_pss(str(tmp_path / "work")).items():
                peaks[pid] = max(peaks.get(pid, 0.0), mib)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        sc = spark.sparkContext
        deadline = time.time() + 90
        while time.time() < deadline and sc._jsc.sc().getExecutorMemoryStatus().size() < 3:
            time.sleep(1)
        df = spark.read.parquet(str(tmp_path / "big"))
        caffemodel, _ = deepspark.spark.train(
            df, str(tmp_path / "solver.prototxt"), 2, shape=(1, 128, 128),
            workdir=str(tmp_path / "job"), solver_cwd=str(tmp_path), verbose=False)
        assert os.path.exists(caffemodel)
    finally:
        stop.set()
        sampler.join()
        spark.stop()
    # Each worker's spill, as its task reported it in the executor's log.
    spilled = []
    for stderr in glob.glob(str(tmp_path / "work" / "app-*" / "*" / "stderr")):
        with open(stderr, errors="replace") as f:
            spilled += [int(b) for b in re.findall(r"\(records of (\d+) bytes", f.read())]
    assert len(spilled) == 2 and sum(spilled) > data_bytes > 512 * 2 ** 20, spilled
    assert peaks
    partition_mib = max(spilled) / 2 ** 20
    # A process that held its partition's rows would be above partition_mib
    # (the pixels alone are that much). Streaming, each stays near its
    # libraries' size: ~115 MiB here, once 237 MiB in CI (allocator and
    # garbage collector timing), so the bound is the partition, not a fraction.
    assert max(peaks.values()) < partition_mib, (
        sorted(peaks.items(), key=lambda kv: -kv[1])[:6], partition_mib)


def _running(pid):
    """Whether pid is a live process (a zombie has ended)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _processes_with(marker):
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    if marker in f.read() and _running(int(name)):
                        pids.append(int(name))
            except OSError:
                pass
    return pids


def test_cancel_stops_every_worker(tmp_path):
    """The job cancelled mid-training (sc.cancelAllJobs, as the Spark UI's
    kill link does): train raises, and the server and every worker are gone
    within seconds."""
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    spark = _session("local[2]")
    errors = []

    def run():
        try:
            _train(spark, 2, tmp_path, limit=1000, max_iter=100000, pid_dir=str(pid_dir))
        except Exception as e:  # noqa: BLE001 (what the test looks at)
            errors.append(e)
    trainer = threading.Thread(target=run, daemon=True)
    trainer.start()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(os.listdir(pid_dir)) < 2:
            time.sleep(0.2)
        assert len(os.listdir(pid_dir)) == 2, "the workers did not start"
        time.sleep(3)  # training
        workers = [int((pid_dir / f).read_text()) for f in os.listdir(pid_dir)]
        assert all(_running(p) for p in workers)
        spark.sparkContext.cancelAllJobs()
        trainer.join(timeout=60)
        assert not trainer.is_alive(), "train did not return after the cancel"
        assert errors and "the training stage failed" in str(errors[0]), errors
        deadline = time.time() + 15
        while time.time() < deadline and any(_running(p) for p in workers):
            time.sleep(0.2)
        assert not [p for p in workers if _running(p)], "workers still running after the cancel"
        assert not _processes_with(str(tmp_path / "job").encode() + b"/solver.prototxt")
    finally:
        spark.stop()
