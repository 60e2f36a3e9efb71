"""Training on an Apache Spark cluster (PySpark).

train() runs the parameter server on the driver (the `deepspark server`
tool, as a subprocess whose progress lines go to the `deepspark.spark`
logger) and one stage of num_workers tasks: each task streams its partition
into a local record file of Datums (or, with feed="lmdb", an LMDB) under
the executor's spark.local.dir and runs the C++ worker (`deepspark worker
--rank=<partition>`) on it against the driver. The job
key travels in the task closure and reaches the worker through
DEEPSPARK_JOB_KEY, so executors need no shared filesystem.

Why not a barrier stage: a barrier stage fails as a whole when one task
fails, so an executor lost mid-training aborted the job (Spark cannot
recover a failed barrier ResultStage). Asynchronous EASGD needs no gang:
here each task is retried on its own (spark.task.maxFailures); its worker
rejoins under the same rank (the server holds the rank for the lost worker
until its heartbeat timeout, then gives it to the retry, which starts at
the rank's last iteration) while the others train on. What the barrier gave
is done before the stage instead: a pass over the data checks every
partition has rows of one shape (too little data or a wrong row fails
before training), and the stage starts only once the cluster has a slot for
every task at once (else a clear error after slot_wait_s).
"""
import contextlib
import json
import logging
import os
import re
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

import deepspark
from deepspark import spark_output

_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(deepspark.__file__)))
log = logging.getLogger("deepspark.spark")


_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")


def _encoded(image, shape):
    """The bytes of an encoded image (JPEG, PNG or BMP), else None. Bytes
    that are exactly a raw image of `shape` are raw, whatever they start
    with."""
    if not isinstance(image, (bytes, bytearray, memoryview)):
        return None
    if shape is not None and len(image) == int(np.prod(shape)):
        return None
    head = bytes(image[:8])
    return bytes(image) if any(head.startswith(m) for m in _IMAGE_MAGIC) else None


def _lmdb_item(image, shape):
    """What a task writes for an image: encoded images as they are (the
    Data layer decodes them, as Caffe's encoded Datums), others as arrays."""
    enc = _encoded(image, shape)
    return deepspark.io.Encoded(enc) if enc is not None else _to_chw(image, shape)


# Spark's image data source (spark.read.format("image")) gives a struct of
# origin, height, width, nChannels, mode (an OpenCV type) and data: the
# pixels row by row, channels interleaved in OpenCV's BGR(A) order, which is
# Caffe's order too. Only 8-bit modes carry images a Datum can hold.
_CV_8U_MODES = {0: 1, 16: 3, 24: 4}  # CV_8UC1, CV_8UC3, CV_8UC4 -> channels


def _image_struct(image):
    """A Spark image struct (a Row, or the dict mapInPandas gives) -> its
    (C,H,W) uint8 array; anything else -> None."""
    fields = image.asDict() if hasattr(image, "asDict") else image
    if not isinstance(fields, dict) or "nChannels" not in fields or "data" not in fields:
        return None
    mode, channels = fields.get("mode"), fields["nChannels"]
    if _CV_8U_MODES.get(mode) != channels:
        raise ValueError("image %r: OpenCV mode %s with %s channels is not an 8-bit image "
                         "(CV_8UC1/3/4)" % (fields.get("origin", ""), mode, channels))
    height, width = fields["height"], fields["width"]
    data = np.frombuffer(bytes(fields["data"]), dtype=np.uint8)
    if data.size != height * width * channels:
        raise ValueError("image %r: %d bytes for %dx%dx%d" % (fields.get("origin", ""), data.size,
                                                              height, width, channels))
    return np.ascontiguousarray(data.reshape(height, width, channels).transpose(2, 0, 1))


def _to_chw(image, shape):
    """An image (raw bytes, encoded JPEG/PNG/BMP bytes, a flat or shaped
    array, a Spark ML vector, a Spark image struct) -> (C,H,W) array, uint8
    when it is bytes or whole numbers in 0..255, else float32. Encoded images
    are decoded as the Data layer does (grey stays one channel, colour is
    BGR)."""
    if hasattr(image, "toArray"):  # pyspark.ml.linalg Dense/SparseVector
        image = image.toArray()
    struct = _image_struct(image) if isinstance(image, dict) or hasattr(image, "asDict") else None
    if struct is not None:
        if shape is not None and tuple(struct.shape) != tuple(shape):
            raise ValueError("an image of shape %s, not %s" % (tuple(struct.shape), tuple(shape)))
        return struct
    enc = _encoded(image, shape)
    if enc is not None:
        arr = deepspark._deepspark.decode_image(enc)
        if shape is not None and tuple(arr.shape) != tuple(shape):
            raise ValueError("an encoded image of shape %s, not %s" % (tuple(arr.shape),
                                                                        tuple(shape)))
        return arr
    if isinstance(image, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(bytes(image), dtype=np.uint8)
    else:
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            # Whole numbers in 0..255 (an int array, or the doubles of an ML
            # vector of pixels) are bytes: a Datum's `data`, 4x smaller than
            # float_data.
            if arr.size and arr.min() >= 0 and arr.max() <= 255 and \
                    (np.issubdtype(arr.dtype, np.integer) or np.array_equal(arr, np.rint(arr))):
                arr = arr.astype(np.uint8)
            else:
                arr = arr.astype(np.float32)
    if shape is not None:
        return arr.reshape(shape)
    if arr.ndim == 3:
        return arr
    if arr.ndim == 2:
        return arr[None]
    side = int(round(np.sqrt(arr.size)))
    if side * side != arr.size:
        raise ValueError("cannot infer (C,H,W) of an image of %d values: pass shape=" % arr.size)
    return arr.reshape(1, side, side)


# Spark's vectorized Parquet and ORC readers fill a column batch of
# columnarReaderBatchSize rows (4,096 by default) in one contiguous heap
# array: 64 MB for 128x128 images, which an executor of 512 MB may not
# find ("Cannot reserve additional contiguous bytes in the vectorized
# reader"). A DataFrame is read in batches of about this many bytes, never
# more rows than the session's own setting.
_READ_BATCH_BYTES = 4 << 20
_READER_BATCH_CONFS = ("spark.sql.parquet.columnarReaderBatchSize",
                       "spark.sql.orc.columnarReaderBatchSize")


def _element_bytes(data_type):
    """Bytes per value a column batch holds for an image column's type."""
    if hasattr(data_type, "sqlType"):  # Spark ML vector: doubles
        return 8
    element = getattr(data_type, "elementType", None)  # array<...>
    if element is None:  # binary, image struct
        return 1
    return {"byte": 1, "short": 2, "integer": 4, "float": 4}.get(element.typeName(), 8)


def _image_bytes(value, element_bytes):
    """A row's image column as the reader holds it, in bytes."""
    if hasattr(value, "asDict") or isinstance(value, dict):  # Spark image struct
        value = (value.asDict() if hasattr(value, "asDict") else value)["data"]
    return len(value) * (1 if isinstance(value, (bytes, bytearray)) else element_bytes)


def _read_batch_rows(frame, image_col, shape):
    """Rows per reader batch so that a batch is about _READ_BATCH_BYTES:
    from shape when given, else from the first row (read in a batch of one)."""
    session = frame.sparkSession
    element_bytes = _element_bytes(frame.schema[image_col].dataType)
    if shape is not None:
        row_bytes = int(np.prod(shape)) * element_bytes
    else:
        with _reader_batch_rows(session, 1):
            first = frame.select(image_col).head()
        row_bytes = _image_bytes(first[0], element_bytes) if first is not None else 1
    return max(1, _READ_BATCH_BYTES // max(1, row_bytes))


@contextlib.contextmanager
def _reader_batch_rows(session, rows):
    """Within the block, the session's vectorized readers fill batches of at
    most `rows` rows; the settings are restored (or unset) after it."""
    saved = {key: session.conf.get(key, None) for key in _READER_BATCH_CONFS}
    for key, value in saved.items():
        session.conf.set(key, str(min(int(value) if value else 4096, rows)))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


def _records(data, image_col, label_col, shape=None):
    """An RDD of (image, label) from a DataFrame or an RDD of pairs. A
    DataFrame's scan is planned here, with reader batches of about
    _READ_BATCH_BYTES (the plan keeps the setting for every later job)."""
    if hasattr(data, "rdd") and hasattr(data, "columns"):  # DataFrame
        frame = data.select(image_col, label_col)
        with _reader_batch_rows(frame.sparkSession, _read_batch_rows(frame, image_col, shape)):
            rdd = frame.rdd
        return rdd.map(lambda r: (r[0], int(r[1])))
    return data


def _remove(path):
    """Removes a file or folder that may not be there."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def _driver_host(sc):
    master = sc.master or ""
    if master.startswith("local"):
        return "127.0.0.1"
    host = sc.getConf().get("spark.driver.host", None)
    return host or socket.gethostbyname(socket.gethostname())


def _local_dir():
    """Where a task keeps its files: the executor's spark.local.dir (Spark
    passes its block manager's folders to Python workers, and removes them
    when the executor stops), else the system's temporary folder."""
    for d in os.environ.get("SPARK_LOCAL_DIRS", "").split(","):
        if d and os.path.isdir(d):
            return d
    return tempfile.gettempdir()


def _die_with(parent):
    """A Popen preexec_fn: the worker gets SIGTERM when the task's Python
    process dies (its executor lost, the stage cancelled) instead of
    training on as an orphan that holds its rank."""
    def preexec():
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)
    return preexec


def _check_partitions(shape):
    """Before the stage: [(partition, rows, (C,H,W) of its first row, first
    problem or None)] for every partition."""
    def run(index, rows):
        count, first, problem = 0, None, None
        for image, label in rows:
            if problem is None:
                try:
                    arr = _to_chw(image, shape)
                    int(label)
                    if first is None:
                        first = tuple(arr.shape)
                    elif tuple(arr.shape) != first:
                        problem = "row %d has an image of shape %s, its first row %s" % (
                            count, tuple(arr.shape), first)
                except (ValueError, TypeError) as e:
                    problem = "row %d: %s" % (count, e)
            count += 1
        return [(index, count, first, problem)]
    return run


def _spill(path, rows, shape, feed):
    """Writes a partition's (image, label) rows, as they stream from Spark,
    to a local file the worker reads: a record file (feed="records") or an
    LMDB (feed="lmdb"). Encoded images stay encoded. Returns the count."""
    return deepspark.io.write_lmdb(path, ((_lmdb_item(img, shape), label) for img, label in rows),
                                   backend="records" if feed == "records" else "lmdb")


def _partition_task(server, key_text, shape, tool, threads, pid_dir, worker_env, feed, counts,
                    gpu=None):
    """The stage's task: returns [(rank, worker exit status, attempt)]. A
    worker that exits with an error fails the task (Spark retries it, then
    fails the job with the worker's last lines); one killed by a signal was
    dropped by the server, and the job goes on without it."""
    def run(index_iter):
        from pyspark import TaskContext
        ctx = TaskContext.get()
        rank = ctx.partitionId()
        attempt = ctx.attemptNumber()
        try:
            import deepspark.io as dsio
        except ImportError:  # executors on this host, package not on their path
            sys.path.insert(0, _PKG_PARENT)
            import deepspark.io as dsio
        import collections
        import deepspark as ds
        try:  # this executor's own installation, else the driver's path
            worker_tool = ds.tool_path()
        except ds.DeepSparkError:
            worker_tool = tool
        work = tempfile.mkdtemp(prefix="deepspark-task%d-" % rank, dir=_local_dir())
        try:
            # The partition streams from Spark (rows are deserialized batch
            # by batch, never all held) into one local file, which the
            # worker reads epoch after epoch, reshuffled each epoch.
            source = os.path.join(work, "train.records" if feed == "records" else "train_lmdb")
            started = time.time()
            n = _spill(source, index_iter, shape, feed)
            spill_s = time.time() - started
            # The pass before the stage counted every partition: a stream
            # that ends short (an input lost mid-read can look like a plain
            # end to Python) or a source that changed since must not train.
            if n != counts[rank]:
                raise ValueError(
                    "DeepSpark worker %d: its partition streamed %d rows where the check before "
                    "training counted %d: the input ended early, or the data is not "
                    "deterministic (cache() or checkpoint() it, or write it out first)"
                    % (rank, n, counts[rank]))
            env = dict(os.environ)
            env.update(worker_env or {})
            env["DEEPSPARK_JOB_KEY"] = key_text
            env.pop("DEEPSPARK_JOB_KEY_FILE", None)
            env.setdefault("OPENBLAS_NUM_THREADS", str(threads))
            env.setdefault("OMP_NUM_THREADS", str(threads))
            cmd = [worker_tool, "worker", "--server=" + server, "--rank=%d" % rank,
                   "--train-source=" + source, "--threads=%d" % threads]
            if gpu:  # worker i on its host's GPU ids[i mod count]
                cmd.append("--gpu=" + gpu)
            # Leave from the address Spark itself binds on this node (a node
            # with several addresses, or the emulated cluster's 127.0.1.i).
            local_ip = os.environ.get("SPARK_LOCAL_IP", "")
            if local_ip and local_ip not in ("0.0.0.0", "::"):
                cmd.append("--source-address=" + local_ip)
            # The worker's lines go to the executor's log (the Spark UI shows
            # it), each marked with its rank; the last ones are kept for the
            # error of a worker that fails.
            sys.stderr.write("[deepspark worker %d] attempt %d, %d rows (%s of %d bytes in %.1f s): "
                             "%s\n" % (rank, attempt, n, feed, _size_of(source), spill_s,
                                       " ".join(cmd)))
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, bufsize=1,
                                    preexec_fn=_die_with(os.getpid()))
            if pid_dir:
                with open(os.path.join(pid_dir, "rank%d.pid" % rank), "w") as f:
                    f.write(str(proc.pid))
            last = collections.deque(maxlen=20)
            for line in proc.stdout:
                last.append(line)
                sys.stderr.write("[deepspark worker %d] %s" % (rank, line))
            status = proc.wait()
            sys.stderr.flush()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if status > 0:
            raise RuntimeError("DeepSpark worker %d exited with status %d:\n%s"
                               % (rank, status, "".join(last)))
        return [(rank, status, attempt)]
    return run


def _size_of(path):
    """Bytes of a file, or of the files in a folder (an LMDB)."""
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


def _task_slots(sc):
    """Tasks the cluster can run at once now (Spark's own count, as its
    barrier scheduling uses), or None where this Spark does not say."""
    try:
        jsc = sc._jsc.sc()
        profile = jsc.resourceProfileManager().defaultResourceProfile()
        return int(jsc.maxNumConcurrentTasks(profile))
    except Exception:  # another Spark version: no check
        return None


def _wait_for_slots(sc, needed, wait_s):
    """Every worker trains at once: waits up to wait_s for the executors to
    register, then fails with a message rather than letting tasks queue."""
    deadline = time.time() + wait_s
    while True:
        slots = _task_slots(sc)
        if slots is None or slots >= needed:
            return slots
        if time.time() >= deadline:
            raise deepspark.DeepSparkError(
                "the job needs %d task slots at once (one per worker) and the cluster offers "
                "%d after %.0f s: use fewer workers, or more executors or cores "
                "(spark.executor.cores, spark.cores.max, spark.task.cpus)"
                % (needed, slots, wait_s))
        time.sleep(1)


def _prepare_partitions(rdd, num_workers, shape):
    """num_workers partitions (merged without a shuffle where there are
    more, so a retried task recomputes only its own), checked: every one
    has rows, all of one image shape."""
    parts = rdd.getNumPartitions()
    if parts > num_workers:
        rdd = rdd.coalesce(num_workers)
    elif parts < num_workers:
        rdd = rdd.repartition(num_workers)
    report = sorted(rdd.mapPartitionsWithIndex(_check_partitions(shape)).collect())
    total = sum(count for _, count, _, _ in report)
    for index, count, first, problem in report:
        if problem:
            raise ValueError("training data, partition %d of %d: %s" % (index, num_workers, problem))
        if count == 0:
            raise ValueError(
                "training data: partition %d of %d has no rows (%d rows in all for %d workers; "
                "each worker needs its own rows: use fewer workers or more data)"
                % (index, num_workers, total, num_workers))
    shapes = {first for _, _, first, _ in report}
    if len(shapes) > 1:
        raise ValueError("training data: images of different shapes in different partitions: %s"
                         % ", ".join("partition %d %s" % (i, f) for i, _, f, _ in report))
    return rdd, report[0][2], [count for _, count, _, _ in report]


def train(data, solver, num_workers, mode="async-easgd", tau=None, moving_rate=None,
          image_col="image", label_col="label", shape=None, max_iter=None, test_source=None,
          test_iter=None, test_interval=None, workdir=None, port=0,
          heartbeat_timeout_ms=None, threads=1, weights=None, verbose=True, pid_dir=None,
          worker_env=None, solver_cwd=None, slot_wait_s=30, feed="records", test_data=None,
          output_path=None, resume_from=None, gpu=None):
    """Trains `solver` (a solver prototxt path) on `data` with num_workers
    Spark tasks; returns (center .caffemodel path, deepspark.Net in TEST
    phase with the center's weights).

    data: a DataFrame with image_col (bytes of uint8, or an array) and
    label_col, or an RDD of (ndarray, label). shape: (C,H,W) of the images
    when they are flat (default: inferred, square single channel).
    feed: how a task hands its partition to its worker: "records" (default:
    streamed into a local record file, no database) or "lmdb" (a local LMDB
    of Datums, Caffe's route). test_data: a DataFrame or RDD like `data`
    that the center is tested on (written to the job's folder on the
    driver), instead of the solver's test source or test_source.
    output_path: a folder on the cluster's filesystem (any Hadoop path) that
    gets the center's snapshots as they are taken, the metrics as they grow,
    and at the end the final .caffemodel, result.json and the job's
    prototxt (deepspark.spark_output). resume_from: a center snapshot
    (PREFIX_iter_N.serverstate, any Hadoop path, its .caffemodel beside it)
    the job starts from: the center and its iteration are restored and the
    workers go on from there to max_iter.
    gpu: the GPUs of each worker's host, as Caffe's --gpu ("0", "0,1" or
    "all"): worker i trains on ids[i mod their count] (several workers share
    a device when a host runs more); None: the solver's solver_mode decides
    (GPU: every device of the host, CPU: none). A host without the GPUs
    fails its worker with the reason.
    max_iter, test_source, test_iter, test_interval override the solver
    (test_source: an LMDB, LevelDB or record file on the driver). solver_cwd: the folder the
    solver's relative paths start from (default: the current one).
    heartbeat_timeout_ms: how long the server waits for a silent worker
    before dropping it (and before a retried task may take its rank).
    slot_wait_s: how long to wait for the cluster to offer a task slot per
    worker before failing. Progress goes to the `deepspark.spark` logger
    (verbose=False: only warnings).
    """
    if feed not in ("records", "lmdb"):
        raise ValueError("feed must be 'records' or 'lmdb', not %r" % (feed,))
    if gpu is not None and not re.fullmatch(r"all|\d+(,\d+)*", str(gpu)):
        raise ValueError("gpu must be a device id, ids like '0,1' or 'all', not %r" % (gpu,))
    if test_data is not None and test_source:
        raise ValueError("give test_data or test_source, not both")
    rdd = _records(data, image_col, label_col, shape)
    sc = rdd.context
    workdir = os.path.abspath(workdir or tempfile.mkdtemp(prefix="deepspark-job-"))
    os.makedirs(workdir, exist_ok=True)
    tool = deepspark.tool_path()
    info = log.info if verbose else log.debug

    # Checked before anything starts: the data, then the cluster's slots.
    rdd, image_shape, counts = _prepare_partitions(rdd, num_workers, shape)
    slots = _wait_for_slots(sc, num_workers, slot_wait_s)
    info("%d partitions of %s images; %s task slots", num_workers, image_shape,
         "unknown" if slots is None else slots)

    # The server builds the train net, so its Data layer needs a source: a
    # small file of the first records, written as the tasks write theirs.
    sample = rdd.take(4)
    driver_lmdb = os.path.join(workdir, "driver_train" + (".records" if feed == "records"
                                                          else "_lmdb"))
    # Ours, made anew each run: one left by an earlier job in the same
    # workdir is replaced, not an error.
    _remove(driver_lmdb)
    _spill(driver_lmdb, sample, shape, feed)
    if test_data is not None:
        # Streamed to the driver a partition at a time (toLocalIterator).
        test_source = os.path.join(workdir, "test.records")
        _remove(test_source)
        test_rows = _records(test_data, image_col, label_col, shape).toLocalIterator()
        info("test data: %d rows in %s", _spill(test_source, test_rows, shape, "records"),
             test_source)
    job_solver = os.path.join(workdir, "solver.prototxt")
    job_net = os.path.join(workdir, "net.prototxt")
    # Paths inside the solver are relative to solver_cwd (Caffe: its root);
    # the job's files name them absolute (no os.chdir in the driver).
    solver = os.path.abspath(str(solver))
    test_source = os.path.abspath(str(test_source)) if test_source else ""
    deepspark._deepspark.make_job_solver(
        solver, job_solver, train_source=driver_lmdb, test_source=test_source,
        max_iter=max_iter or 0, test_iter=test_iter or 0,
        test_interval=-1 if test_interval is None else test_interval,
        snapshot_prefix=os.path.join(workdir, "center"), net_out_path=job_net,
        root=os.path.abspath(solver_cwd or os.getcwd()))

    key_text = deepspark._deepspark.generate_job_key()
    key_file = os.path.join(workdir, "job.key")
    deepspark._deepspark.write_job_key(key_text, key_file)

    host = _driver_host(sc)
    result_path = os.path.join(workdir, "result.json")
    # A new job: the last run's result and metrics (which the server would
    # append to) go.
    for old in (result_path, os.path.join(workdir, "center_metrics.jsonl")):
        if os.path.exists(old):
            os.remove(old)
    cmd = [tool, "server", "--solver=" + job_solver, "--workers=%d" % num_workers,
           # The driver's own address (the one executors reach it by), not
           # every interface of the driver machine.
           "--listen=tcp://%s:%d" % (host, port),
           "--key-file=" + key_file, "--mode=" + mode, "--result-file=" + result_path]
    if tau is not None:
        cmd.append("--tau=%d" % tau)
    if moving_rate is not None:
        cmd.append("--moving-rate=%g" % moving_rate)
    if heartbeat_timeout_ms is not None:
        cmd.append("--heartbeat-timeout-ms=%d" % heartbeat_timeout_ms)
    if weights:
        cmd.append("--weights=" + str(weights))
    if resume_from:
        cmd.append("--snapshot=" + spark_output.fetch_snapshot(
            sc, str(resume_from), os.path.join(workdir, "resume")))
    endpoint_file = os.path.join(workdir, "endpoint")
    if os.path.exists(endpoint_file):
        os.remove(endpoint_file)
    cmd.append("--endpoint-file=" + endpoint_file)
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              bufsize=1, cwd=solver_cwd)
    lines = []

    def pump():
        for line in server.stdout:
            lines.append(line)
            info("[server] %s", line.rstrip("\n"))
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    # The server writes its address to the endpoint file (whole, by a
    # rename) once it listens; a server that exits first failed to start.
    address = None
    while address is None:
        if os.path.exists(endpoint_file):
            with open(endpoint_file) as f:
                address = f.read().strip()
        elif server.poll() is not None:
            reader.join(timeout=10)
            raise deepspark.DeepSparkError("the parameter server did not start:\n"
                                           + "".join(lines))
        else:
            time.sleep(0.05)
    port_used = address.rsplit(":", 1)[1]
    server_addr = "tcp://%s:%s" % (host, port_used)

    uploader = spark_output.JobUploader(sc, workdir, output_path).start() \
        if output_path else None
    # One job group: a failure or Ctrl-C here cancels the stage, and its
    # tasks' workers die with them (_die_with).
    group = "deepspark-%d-%d" % (os.getpid(), int(time.time() * 1000))
    sc.setJobGroup(group, "DeepSpark %s: %d workers training %s (server %s)"
                   % (mode, num_workers, os.path.basename(solver), server_addr),
                   interruptOnCancel=True)
    try:
        task = _partition_task(server_addr, key_text, shape, tool, threads, pid_dir, worker_env,
                               feed, counts, gpu=str(gpu) if gpu is not None else None)
        statuses = rdd.mapPartitions(task).collect()
    except BaseException as e:
        sc.cancelJobGroup(group)
        server.kill()
        server.wait()
        reader.join(timeout=10)
        if uploader:
            uploader.close_quietly()
        if isinstance(e, Exception):
            raise deepspark.DeepSparkError(
                "the training stage failed: %s\nlast lines of the server:\n%s"
                % (e, "".join(lines[-20:]))) from e
        raise
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
    for rank, status, attempt in sorted(statuses):
        if status != 0:
            log.warning("worker %d (attempt %d) was killed (status %d); the job went on "
                        "without it", rank, attempt, status)
        elif attempt > 0:
            info("worker %d finished on attempt %d", rank, attempt)
    # Every task has returned, so every worker has ended: the server ends
    # once it has dropped the silent ones and saved the center.
    grace_s = (heartbeat_timeout_ms or 10000) / 1000.0 + 300
    try:
        server.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        if uploader:
            uploader.close_quietly()
        raise deepspark.DeepSparkError(
            "the parameter server did not finish within %.0f s of its workers:\n%s"
            % (grace_s, "".join(lines[-40:])))
    reader.join(timeout=10)
    text = "".join(lines)
    # The server writes how the job ended as JSON (its result file); the
    # printed lines are for people.
    result = None
    if os.path.exists(result_path):
        with open(result_path) as f:
            result = json.load(f)
    if server.returncode != 0 or not result or not result.get("ok") or not result["caffemodel"]:
        if uploader:
            uploader.close_quietly()
        raise deepspark.DeepSparkError("the parameter server failed (status %s):\n%s"
                                       % (server.returncode, text[-4000:]))
    caffemodel = os.path.join(solver_cwd or "", result["caffemodel"])
    if uploader:
        uploader.finish(["result.json", "solver.prototxt", "net.prototxt"])
    net = deepspark.Net(job_net, deepspark.TEST, weights=caffemodel)
    return caffemodel, net


def job_metrics(spark, workdir):
    """The metrics the parameter server of the job in `workdir` wrote (one
    row per event: joins, each worker's progress about once a second, every
    test of the center, the end), as a DataFrame. Read on the driver, where
    the file is; fields an event lacks are null."""
    import pandas as pd
    path = os.path.join(workdir, "center_metrics.jsonl")
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    if not records:
        raise ValueError("%s holds no metrics" % path)
    return spark.createDataFrame(pd.DataFrame.from_records(records))
